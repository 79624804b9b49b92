"""Operator commands (`meldcode user ...`, `seed-demo`) and the accounts migration going up and down."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect

from engine.db import upgrade
from web.auth import service as accounts
from web.cli import web_commands

from .conftest import WEB_DIAGRAMS

# The behaviour depends on the database (tests/conftest.py ONE_BACKEND_DIRS): both backends.
pytestmark = pytest.mark.backends("sqlite", "postgres")


def _env(database_url):
    return {"DATABASE_URL": database_url, "MELDCODE_PROCESSES_DIR": str(WEB_DIAGRAMS),
            "MELDCODE_START_PROCESS": "proef"}


def test_user_add_creates_a_user_with_roles_in_a_team(db, database_url):
    from engine.db import make_sessionmaker

    runner = CliRunner()
    result = runner.invoke(web_commands, ["user", "add", "Anna", "--role", "aandachtsfunctionaris", "--role",
                                          "professional", "--team", "noord", "--email", "anna@example.org",
                                          "--password-stdin"],
                           input="een lang wachtwoord\n", env=_env(database_url))
    assert result.exit_code == 0, result.output
    assert "user anna created in team noord" in result.output
    sessions = make_sessionmaker(db)
    signed_in = accounts.sign_in(sessions, "anna", "een lang wachtwoord", "127.0.0.1", max_failures=5,
                                 window_seconds=60)
    assert signed_in.user.roles == frozenset({"aandachtsfunctionaris", "professional"})
    from sqlalchemy import select

    from web.auth.models import User
    with sessions() as session:
        assert session.scalar(select(User.email).where(User.username == "anna")) == "anna@example.org"
    again = runner.invoke(web_commands, ["user", "add", "anna", "--role", "professional", "--team", "noord",
                                         "--password-stdin"], input="een lang wachtwoord\n", env=_env(database_url))
    assert again.exit_code != 0 and "bestaat al" in again.output
    bad_role = runner.invoke(web_commands, ["user", "add", "bob", "--role", "admin", "--team", "noord",
                                            "--password-stdin"], input="een lang wachtwoord\n")
    assert bad_role.exit_code != 0
    short = runner.invoke(web_commands, ["user", "add", "bob", "--role", "professional", "--team", "noord",
                                         "--password-stdin"], input="kort\n", env=_env(database_url))
    assert short.exit_code != 0 and "minstens" in short.output


def test_user_token_prints_a_token_once(db, database_url):
    from engine.db import make_sessionmaker

    runner = CliRunner()
    runner.invoke(web_commands, ["user", "add", "piet", "--role", "professional", "--team", "noord",
                                 "--password-stdin"], input="een lang wachtwoord\n", env=_env(database_url))
    result = runner.invoke(web_commands, ["user", "token", "piet", "--label", "koppeling"], env=_env(database_url))
    assert result.exit_code == 0 and result.output.startswith("mc_")
    assert accounts.user_for_token(make_sessionmaker(db), result.output.strip()).username == "piet"


def test_seed_demo_creates_users_for_each_role_and_a_demo_case(db, database_url):
    from engine.cases import CaseEngine
    from engine.db import make_sessionmaker
    from engine.settings import Settings
    from web.demo import DEMO_PASSWORD, DEMO_USERS

    runner = CliRunner()
    result = runner.invoke(web_commands, ["seed-demo"], env=_env(database_url))
    assert result.exit_code == 0, result.output
    sessions = make_sessionmaker(db)
    for user in DEMO_USERS:
        assert accounts.sign_in(sessions, user.username, DEMO_PASSWORD, "1", max_failures=5,
                                window_seconds=60).user is not None
    engine = CaseEngine(sessions, Settings(database_url=database_url))
    assert [c.client_ref for c in engine.list_cases()] == ["DEMO-0001"]
    assert runner.invoke(web_commands, ["seed-demo"], env=_env(database_url)).exit_code == 0  # idempotent
    assert len(engine.list_cases()) == 1


def test_seed_demo_says_clearly_when_the_processes_cannot_be_deployed(db, database_url, tmp_path):
    result = CliRunner().invoke(web_commands, ["seed-demo"], env={**_env(database_url),
                                                                  "MELDCODE_PROCESSES_DIR": str(tmp_path)})
    assert result.exit_code == 1 and "DEPLOY FAILED" in result.output and "no .bpmn file" in result.output


def test_the_accounts_migration_goes_down_and_up_again(db):
    tables = {"team", "app_user", "app_user_role", "api_token", "login_failure"}
    assert tables <= set(inspect(db).get_table_names())
    upgrade(db, "0001")
    # downgrade is not exposed by engine.db; run it through Alembic directly
    from alembic import command

    from engine.db import alembic_config

    config = alembic_config(db.url.render_as_string(hide_password=False))
    with db.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
    assert not tables & set(inspect(db).get_table_names())
    upgrade(db)
    assert tables <= set(inspect(db).get_table_names())


def test_run_prepares_everything_and_serves_on_loopback(db, database_url, tmp_path, monkeypatch):
    import flask

    served = {}
    monkeypatch.setattr(flask.Flask, "run", lambda app, **kw: served.update(app=app, **kw))
    env = {**_env(database_url), "MELDCODE_INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "", "REDIS_URL": ""}
    result = CliRunner().invoke(web_commands, ["run", "--port", "5055"], env=env)
    assert result.exit_code == 0, result.output
    assert (served["host"], served["port"]) == ("127.0.0.1", 5055)
    app = served["app"]
    assert app.config["SESSION_COOKIE_SECURE"] is False  # plain http on loopback
    key_file = tmp_path / "secret_key"
    assert app.config["SECRET_KEY"] == key_file.read_text().strip() and oct(key_file.stat().st_mode)[-3:] == "600"
    client = app.test_client()
    assert client.get("/inloggen").status_code == 200
    assert "sign in as 'professional'" in result.output
    assert "timers: embedded sweeper thread" in result.output
