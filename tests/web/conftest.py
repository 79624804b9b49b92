"""Fixtures of the web tests: an app on the shared `db` fixture (SQLite and PostgreSQL), users per role.

Team `noord` has one user per role (username = role, `veilig_thuis` -> `veilig-thuis`); team `zuid` has a
professional `zuid`. The diagrams are `tests/web/diagrams/` (process `proef`, with diagram interchange).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from engine.settings import Settings
from web import create_app
from web.auth import service as accounts
from web.roles import ROLES
from web.settings import WebSettings

WEB_DIAGRAMS = Path(__file__).resolve().parent / "diagrams"
PASSWORD = "correct horse battery"
TEAM, OTHER_TEAM = "noord", "zuid"
USERNAMES = {role: role.replace("_", "-") for role in ROLES}


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing():
    """Real argon2, with test-sized cost parameters (the default costs ~50 ms per hash)."""
    original = accounts.HASHER
    accounts.HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    accounts.HASHER = original


@pytest.fixture
def web_settings():
    return WebSettings(secret_key="test-secret-" + "x" * 40, session_cookie_secure=False, start_process="proef")


@pytest.fixture
def engine_settings(database_url):
    return Settings(database_url=database_url, processes_dir=WEB_DIAGRAMS)


@pytest.fixture
def make_app(db, web_settings, engine_settings):
    def make(web=None, **config):
        return create_app({"MELDCODE_WEB_SETTINGS": web or web_settings, "MELDCODE_ENGINE_SETTINGS": engine_settings,
                           "MELDCODE_DB_ENGINE": db, **config})
    return make


@pytest.fixture
def app(make_app):
    app = make_app()
    services = app.extensions["meldcode"]
    services.cases.deploy_directory(WEB_DIAGRAMS, "tester")
    add_test_users(services)
    accounts.create_user(services.sessions, "zuid", PASSWORD, ["professional"], OTHER_TEAM)
    return app


def add_test_users(services) -> None:
    """One user per role in TEAM, named as USERNAMES says, all with PASSWORD."""
    for role, username in USERNAMES.items():
        accounts.create_user(services.sessions, username, PASSWORD, [role], TEAM, display_name=f"Test {role}")


@pytest.fixture
def services(app):
    return app.extensions["meldcode"]


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html) or \
        re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD, **environ) -> str:
    """Sign in through the login form; returns the session's CSRF token for later posts."""
    page = client.get("/inloggen", environ_base=environ)
    response = client.post("/inloggen", data={"csrf_token": csrf_from(page.text), "username": username,
                                              "password": password}, environ_base=environ)
    assert response.status_code == 302, f"sign-in of {username} failed: {response.status_code}"
    return csrf_from(client.get("/").text)


def user_of(services, username: str):
    """The identity of a test user, for calling the engine directly."""
    from sqlalchemy import select

    from web.auth.models import User

    with services.sessions() as session:
        row = session.scalar(select(User).where(User.username == username))
        return accounts.load_user(services.sessions, row.id, row.session_version)


def start_case(services, username: str = "professional", client_ref: str = "CL-1001",
               levensbedreigend: bool = False) -> int:
    user = user_of(services, username)
    return services.cases.start_case("proef", client_ref, user.actor, team=user.team,
                                     data={"levensbedreigend": levensbedreigend, "aanleiding": "test"})


def open_task(services, case_id: int, element_id: str | None = None):
    tasks = services.cases.open_tasks(case_id=case_id)
    if element_id:
        tasks = [t for t in tasks if t.element_id == element_id]
    assert tasks, f"no open task {element_id or ''} in case {case_id}"
    return tasks[0]


STAP1_ANSWERS = {"signalen": "Blauwe plek op de arm, gezien op 3 februari.", "bron": "De buurvrouw",
                 "besproken_met": "Mentor\nIntern begeleider", "betreft_beroepskracht": "nee", "zorg": "hoog",
                 "datum_signalering": "2026-02-03"}


def audit_rows(services, **where):
    from sqlalchemy import select

    from engine.models import AuditEvent

    with services.sessions() as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        for key, value in where.items():
            query = query.where(getattr(AuditEvent, key) == value)
        return list(session.scalars(query))


def statements_in_transactions(services, request) -> tuple[object, list[tuple[str, bool]]]:
    """(what `request()` returned, each statement it sent with whether the server had a transaction open after
    it). PostgreSQL only: psycopg reports the server's transaction status, so a statement followed by "idle" was
    sent without a BEGIN before it and needs no COMMIT or ROLLBACK after it."""
    from psycopg.pq import TransactionStatus
    from sqlalchemy import event

    bind = services.sessions.kw["bind"]
    assert bind.dialect.name == "postgresql"
    sent: list[tuple[str, bool]] = []

    def seen(conn, cursor, statement, *args):
        status = cursor.connection.info.transaction_status
        sent.append((" ".join(statement.split()), status != TransactionStatus.IDLE))

    event.listen(bind, "after_cursor_execute", seen)
    try:
        return request(), sent
    finally:
        event.remove(bind, "after_cursor_execute", seen)


def reads_during(services, request) -> tuple[object, list[str]]:
    """(what `request()` returned, the SELECT statements it sent, whitespace folded)."""
    from sqlalchemy import event

    bind = services.sessions.kw["bind"]
    reads: list[str] = []

    def seen(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            reads.append(" ".join(statement.split()))

    event.listen(bind, "before_cursor_execute", seen)
    try:
        return request(), reads
    finally:
        event.remove(bind, "before_cursor_execute", seen)
