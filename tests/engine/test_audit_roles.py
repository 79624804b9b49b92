"""On PostgreSQL the app connects as a role that does not own the tables: it works normally, but cannot
TRUNCATE, UPDATE or DELETE audit_event, disable its trigger or drop it (what the probe did as the owner)."""
from __future__ import annotations

import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, ProgrammingError

from engine import audit_chain
from engine.cases import CaseEngine
from engine.cli import main
from engine.db import make_engine, make_sessionmaker
from engine.models import AuditEvent
from engine.settings import Settings

from ..conftest import TEST_DIAGRAMS

pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
PASSWORD = "app-pw-'quoted\"-1"


@pytest.fixture
def app_role(db, database_url, postgres_admin):
    """`meldcode db upgrade` as the owner with MELDCODE_DB_APP_ROLE: creates the role and grants it."""
    role = f"meldcode_app_{uuid.uuid4().hex[:8]}"
    result = CliRunner().invoke(main, ["db", "upgrade"], env={
        "DATABASE_URL": database_url, "MELDCODE_DB_APP_ROLE": role, "MELDCODE_DB_APP_PASSWORD": PASSWORD})
    assert result.exit_code == 0, result.output
    assert f"app role {role} granted" in result.output
    url = make_url(database_url).set(username=role, password=PASSWORD)
    engine = make_engine(url.render_as_string(hide_password=False))
    yield role, engine
    engine.dispose()
    with postgres_admin.connect() as conn:
        conn.execute(text(f"DROP OWNED BY {role}"))
        conn.execute(text(f"DROP ROLE {role}"))


def refused(engine, statement, match="permission denied|must be owner"):
    with pytest.raises((ProgrammingError, DBAPIError), match=match):
        with engine.begin() as conn:
            conn.execute(text(statement))


def test_the_app_role_runs_the_app_and_cannot_touch_the_audit_log(app_role, professional):
    role, engine = app_role
    cases = CaseEngine(make_sessionmaker(engine), Settings())
    with engine.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar() == role
    # Everything the app does, as the app role: deploy, start, read, complete (each audited)
    cases.deploy_directory(TEST_DIAGRAMS, "tester")
    case_id = cases.start_case("voorbeeld", "CL-1", professional, data={"a": 1})
    task = cases.open_tasks(case_id=case_id)[0]
    cases.task(task.id, professional)
    cases.case(case_id, professional)
    with make_sessionmaker(engine)() as session:
        assert len(session.scalars(select(AuditEvent)).all()) >= 3

    refused(engine, "TRUNCATE audit_event")
    refused(engine, "UPDATE audit_event SET actor = 'x'")
    refused(engine, "DELETE FROM audit_event")
    refused(engine, "ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change")
    refused(engine, "ALTER TABLE audit_event DISABLE TRIGGER USER")
    refused(engine, "DROP TRIGGER audit_event_no_change ON audit_event")
    refused(engine, "DROP TABLE audit_event")
    refused(engine, "ALTER TABLE audit_event RENAME TO old_audit")
    refused(engine, "TRUNCATE audit_chain_head")
    refused(engine, "DELETE FROM audit_chain_head")
    refused(engine, "UPDATE audit_chain_head SET seq = 0", match="only moves forward")
    refused(engine, "ALTER TABLE audit_chain_head DISABLE TRIGGER USER")
    refused(engine, "CREATE TABLE audit_copy (id int)")  # no CREATE in the schema either
    # Removing recent events through the retention function is refused too
    refused(engine, "SELECT audit_event_prune((now() AT TIME ZONE 'UTC')::timestamp)", match="at least 5 years")
    with engine.begin() as conn:
        assert conn.execute(text("SELECT audit_event_prune('2000-01-01')")).scalar() == 0

    with make_sessionmaker(engine)() as session:
        assert audit_chain.verify(session).ok


def test_the_grants_follow_every_upgrade(app_role, database_url):
    """Running the upgrade again (a later release) leaves the same rights; the role's own grants are exact."""
    role, engine = app_role
    result = CliRunner().invoke(main, ["db", "upgrade"], env={"DATABASE_URL": database_url,
                                                               "MELDCODE_DB_APP_ROLE": role})
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT table_name, string_agg(privilege_type, ',' ORDER BY privilege_type) FROM "
            "information_schema.role_table_grants WHERE grantee = :r AND table_schema = current_schema() "
            "GROUP BY table_name"), {"r": role}).all()
    grants = dict(rows)
    assert grants["audit_event"] == "INSERT,SELECT"
    assert grants["audit_chain_head"] == "SELECT,UPDATE"
    assert grants["alembic_version"] == "SELECT"
    assert grants["cases"] == "DELETE,INSERT,SELECT,UPDATE"


def test_an_unknown_app_role_without_password_is_a_clear_error(db, database_url):
    result = CliRunner().invoke(main, ["db", "upgrade"], env={"DATABASE_URL": database_url,
                                                               "MELDCODE_DB_APP_ROLE": "no_such_role_x"})
    assert result.exit_code != 0
    assert "does not exist" in str(result.exception)


def test_the_owner_role_that_ran_the_upgrade_cannot_tamper_unseen(database_url, postgres_admin):
    """The probe's way: a non-superuser owner runs `meldcode db upgrade`, then changes the log with the trigger
    disabled, deletes, reorders and truncates; each time `meldcode audit verify` names the (new) first break."""
    from engine import audit

    owner = f"meldcode_owner_{uuid.uuid4().hex[:8]}"
    schema = make_url(database_url).query["options"].split("=")[1]
    with postgres_admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {owner} LOGIN"))
        conn.execute(text(f"GRANT USAGE, CREATE ON SCHEMA {schema} TO {owner}"))
    owner_url = make_url(database_url).set(username=owner).render_as_string(hide_password=False)
    engine = make_engine(owner_url)
    try:
        assert CliRunner().invoke(main, ["db", "upgrade"], env={"DATABASE_URL": owner_url}).exit_code == 0
        sessions = make_sessionmaker(engine)
        ids = []
        for i in range(10):
            with sessions.begin() as session:
                ids.append(audit.record(session, "piet", "case.view", case_id=i, client_ref=f"CL-{i}").id)

        def verify():
            result = CliRunner().invoke(main, ["audit", "verify"], env={"DATABASE_URL": owner_url})
            assert result.exit_code == 1
            return result.output

        def as_owner(*statements):
            with engine.begin() as conn:
                conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change"))
                for statement in statements:
                    conn.execute(text(statement))
                conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_change"))

        as_owner(f"UPDATE audit_event SET client_ref = 'CL-x' WHERE id = {ids[8]}")
        assert f"changed: event #{ids[8]} (seq 9)" in verify()
        as_owner(f"DELETE FROM audit_event WHERE id = {ids[6]}")
        assert f"removed: event #{ids[7]} (seq 8)" in verify()
        as_owner(f"UPDATE audit_event SET seq = -seq WHERE id IN ({ids[2]}, {ids[3]})",
                 f"UPDATE audit_event SET seq = 4 WHERE id = {ids[2]}", f"UPDATE audit_event SET seq = 3 WHERE id = {ids[3]}")
        assert f"reordered: event #{ids[3]} (seq 3)" in verify()
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_truncate"))
            conn.execute(text("TRUNCATE audit_event"))
        assert "truncated: seq 1: no events remain, but the chain head records 10" in verify()
    finally:
        engine.dispose()
        with postgres_admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))  # the fixture drops it again
            conn.execute(text(f"DROP OWNED BY {owner}"))
            conn.execute(text(f"DROP ROLE {owner}"))
