"""Sessions end on the server: a cookie copied before sign-out, a password change, a role change or
"overal afmelden" opens nothing afterwards (issue 10, finding 1)."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import event, select

from engine import clock
from engine.accounts import ApiToken, Team, User, UserRole
from web.auth import service as accounts
from web.auth.models import UserSession
from web.cli import web_commands

from .conftest import (
    PASSWORD,
    WEB_DIAGRAMS,
    audit_rows,
    csrf_from,
    login,
    reads_during,
    start_case,
    statements_in_transactions,
)

# The behaviour depends on the database (tests/conftest.py ONE_BACKEND_DIRS): both backends.
pytestmark = pytest.mark.backends("sqlite", "postgres")


def _saved_cookie(client) -> str:
    return client.get_cookie("meldcode_session").value


def _replay(app, cookie: str):
    """A fresh browser that only has the copied cookie."""
    attacker = app.test_client()
    attacker.set_cookie("meldcode_session", cookie)
    return attacker


def _assert_closed(app, cookie: str, case_id: int) -> None:
    attacker = _replay(app, cookie)
    assert attacker.get("/api/me").status_code == 401
    page = attacker.get(f"/zaken/{case_id}")
    assert page.status_code == 302 and "/inloggen" in page.location


def test_a_cookie_saved_before_sign_out_opens_nothing_afterwards(app, client, services):
    case_id = start_case(services)
    token = login(client, "professional")
    saved = _saved_cookie(client)
    assert _replay(app, saved).get("/api/me").json["username"] == "professional"
    assert _replay(app, saved).get(f"/zaken/{case_id}").status_code == 200
    client.post("/afmelden", data={"csrf_token": token})
    _assert_closed(app, saved, case_id)
    # Using it again does not bring it back either (no refresh up to the 8-hour limit).
    _assert_closed(app, saved, case_id)
    with services.sessions() as session:
        [record] = session.scalars(select(UserSession)).all()
    assert record.revoked_at is not None and record.revoked_reason == "signed out"


def test_a_password_change_ends_every_session_at_once(app, client, services):
    case_id = start_case(services)
    login(client, "professional")
    saved = _saved_cookie(client)
    accounts.set_password(services.sessions, "professional", "a brand new password")
    _assert_closed(app, saved, case_id)


def test_changing_the_own_password_on_the_account_page_ends_the_other_sessions(app, client, services):
    case_id = start_case(services)
    laptop = app.test_client()
    login(laptop, "professional")
    saved = _saved_cookie(laptop)
    token = login(client, "professional")
    wrong = client.post("/account/wachtwoord", data={"csrf_token": token, "current": "not it",
                                                     "new": "een heel nieuw wachtwoord"})
    assert wrong.status_code == 400 and "klopt niet" in wrong.text
    assert laptop.get("/api/me").status_code == 200  # nothing changed
    done = client.post("/account/wachtwoord", data={"csrf_token": token, "current": PASSWORD,
                                                    "new": "een heel nieuw wachtwoord"})
    assert done.status_code == 302
    assert client.get("/api/me").status_code == 200  # the session that changed it goes on
    _assert_closed(app, saved, case_id)
    assert accounts.sign_in(services.sessions, "professional", "een heel nieuw wachtwoord", "1", max_failures=5,
                            window_seconds=60).user is not None


def test_a_role_change_through_the_cli_ends_the_sessions(app, client, services, database_url):
    case_id = start_case(services)
    login(client, "professional")
    saved = _saved_cookie(client)
    result = CliRunner().invoke(web_commands, ["user", "roles", "professional", "--role", "leidinggevende"],
                                env={"DATABASE_URL": database_url, "MELDCODE_PROCESSES_DIR": str(WEB_DIAGRAMS)})
    assert result.exit_code == 0, result.output
    assert "open sessions ended" in result.output
    _assert_closed(app, saved, case_id)
    fresh = app.test_client()
    login(fresh, "professional")
    assert fresh.get("/api/me").json["roles"] == ["leidinggevende"]


def test_the_cli_signs_a_user_out_everywhere(app, client, services, database_url):
    case_id = start_case(services)
    login(client, "professional")
    saved = _saved_cookie(client)
    result = CliRunner().invoke(web_commands, ["user", "sign-out", "professional"],
                                env={"DATABASE_URL": database_url})
    assert result.exit_code == 0 and "1 open session(s)" in result.output
    _assert_closed(app, saved, case_id)


def test_the_account_page_lists_open_sessions_and_ends_one_or_all(app, services):
    case_id = start_case(services)
    phone, laptop = app.test_client(), app.test_client()
    login(phone, "professional", HTTP_USER_AGENT="Mozilla/5.0 (Linux; Android 14) Chrome/120.0 Mobile Safari/537",
          REMOTE_ADDR="10.1.1.1")
    phone_cookie = _saved_cookie(phone)
    token = login(laptop, "professional", HTTP_USER_AGENT="Mozilla/5.0 (Windows NT 10.0) Gecko Firefox/128.0",
                  REMOTE_ADDR="10.2.2.2")
    page = laptop.get("/account", environ_base={"REMOTE_ADDR": "10.2.2.2"}).text
    assert "Chrome op Android" in page and "10.1.1.1" in page
    assert "Firefox op Windows" in page and "(deze sessie)" in page and "Overal afmelden" in page
    phone_id = int(re.search(r'name="session_id" value="(\d+)"', page.split("Chrome op Android")[1]).group(1))
    assert laptop.post("/account/sessies/beeindigen", data={"csrf_token": token, "session_id": phone_id}) \
        .status_code == 302
    _assert_closed(app, phone_cookie, case_id)
    assert laptop.get("/api/me").status_code == 200
    # Another user's session cannot be ended from here.
    other = app.test_client()
    login(other, "leidinggevende")
    with services.sessions() as session:
        other_id = session.scalar(select(UserSession.id).where(UserSession.revoked_at.is_(None))
                                  .order_by(UserSession.id.desc()))
    laptop.post("/account/sessies/beeindigen", data={"csrf_token": token, "session_id": other_id})
    assert other.get("/api/me").status_code == 200
    # "Overal afmelden": this session and every other one of the user.
    login(phone, "professional")
    phone_cookie = _saved_cookie(phone)
    laptop_cookie = _saved_cookie(laptop)
    response = laptop.post("/account/sessies/overal-afmelden", data={"csrf_token": token})
    assert response.status_code == 302 and "/inloggen" in response.location
    _assert_closed(app, phone_cookie, case_id)
    _assert_closed(app, laptop_cookie, case_id)
    assert other.get("/api/me").status_code == 200
    assert audit_rows(services, action="auth.logout_everywhere")[0].details["sessions"] == 2


def test_the_absolute_limit_and_idle_timeout_hold_on_the_server(app, client, services):
    """Even a cookie whose own timestamps were kept fresh (it is signed, not secret) ends on time."""
    case_id = start_case(services)
    login(client, "professional")
    saved = _saved_cookie(client)
    idle = services.settings.idle_timeout_minutes
    with clock.frozen_at(clock.now() + timedelta(minutes=idle + 1)):
        with client.session_transaction() as session:
            session["seen_at"] = session["login_at"] = time.time()
        assert client.get("/api/me").status_code == 401
    _assert_closed(app, saved, case_id)
    login(client, "professional")
    lifetime = services.settings.session_lifetime_minutes
    start = clock.now()
    for minutes in range(0, lifetime + 1, idle - 1):  # active all day
        with clock.frozen_at(start + timedelta(minutes=minutes)):
            with client.session_transaction() as session:
                session["seen_at"] = session["login_at"] = time.time()
            assert client.get("/api/me").status_code == 200, minutes
    with clock.frozen_at(start + timedelta(minutes=lifetime, seconds=1)):
        assert client.get("/api/me").status_code == 401


def test_forged_expired_and_strange_cookies_give_the_sign_in_page_not_a_500(app, make_app, web_settings, services):
    other = make_app(web_settings.replace(secret_key="another secret key, not the app's own"))
    forger = other.session_interface.get_signing_serializer(other)
    now = time.time()
    own = app.session_interface.get_signing_serializer(app)
    cookies = [
        forger.dumps({"_user_id": "1:1", "_fresh": True, "login_at": now, "seen_at": now, "sid": "x"}),
        # Signed with the right key but no server-side record (the old kind of cookie, or a guessed secret).
        own.dumps({"_user_id": "1:1", "_fresh": True, "login_at": now, "seen_at": now}),
        own.dumps({"_user_id": "1:1", "_fresh": True, "login_at": now, "seen_at": now, "sid": ["not", "text"]}),
        own.dumps({"_user_id": "nonsense", "login_at": "x", "seen_at": None, "sid": "y" * 5000}),
        own.dumps({"_user_id": "1:1", "mfa_pending": "garbage"}),
        "garbage.garbage.garbage",
    ]
    for cookie in cookies:
        browser = _replay(app, cookie)
        page = browser.get("/")
        assert page.status_code == 302 and "/inloggen" in page.location
        assert browser.get("/api/me").status_code == 401
        assert _replay(app, cookie).get("/inloggen/code").status_code == 302
        sign_in_page = _replay(app, cookie).get("/inloggen", follow_redirects=True)
        assert sign_in_page.status_code == 200 and "Aanmelden" in sign_in_page.text


def test_sign_in_starts_a_new_record_and_no_fixation(app, client, services):
    login(client, "professional")
    first = _saved_cookie(client)
    token = csrf_from(client.get("/").text)
    client.post("/afmelden", data={"csrf_token": token})
    login(client, "professional")
    assert _saved_cookie(client) != first
    with services.sessions() as session:
        rows = session.scalars(select(UserSession).order_by(UserSession.id)).all()
    assert [r.revoked_at is None for r in rows] == [False, True]
    assert rows[1].token_hash not in _saved_cookie(client)  # only a hash is stored


def test_a_signed_in_request_reads_its_session_record_user_and_roles_in_one_statement(client, services):
    """Issue 14: every page request read the session record, then the user (with team and roles) in a second
    statement and transaction; now one statement reads them together."""
    login(client, "professional")
    me, reads = reads_during(services, lambda: client.get("/api/me"))
    assert me.json["username"] == "professional"
    assert not [r for r in reads if r.split(" FROM ")[1].startswith(("app_user ", "app_user_role"))], reads
    [sign_in] = [r for r in reads if r.split(" FROM ")[1].startswith("user_session ")]
    assert "JOIN app_user " in sign_in and "app_user_role" in sign_in, sign_in


@pytest.mark.backends("postgres")
def test_a_sign_in_and_the_access_check_are_one_round_trip_each(client, services):
    """Issue 14 (HTTP throughput): a request's sign-in read its session record in a transaction of its own, and a
    completion's access check read the task in another: BEGIN, the statement and COMMIT or ROLLBACK, three round
    trips for one read each. Now both read outside a transaction (engine/db.py `Sessions.reads`); the completion
    itself still writes its rows and audit event in one transaction, and decides access on the task row it reads
    (the API's completion has no access check of its own before it)."""
    case_id = start_case(services)
    login(client, "professional")
    [task] = client.get("/api/tasks").json["tasks"]
    token = csrf_from(client.get("/").text)
    viewed, sent = statements_in_transactions(services, lambda: client.get(f"/api/tasks/{task['id']}"))
    assert viewed.status_code == 200, viewed.json
    access_check = next((s, open_) for s, open_ in sent if s.startswith("SELECT") and "WHERE case_task.id = " in s)
    assert not access_check[1], access_check
    data = {"signalen": "feiten", "betreft_beroepskracht": False, "zorg": "laag", "datum_signalering": "2026-01-02"}
    done, sent = statements_in_transactions(services, lambda: client.post(
        f"/api/tasks/{task['id']}/complete", json={"data": data}, headers={"X-CSRFToken": token}))
    assert done.status_code == 200, done.json
    [sign_in] = [(s, open_) for s, open_ in sent if " FROM user_session " in s]
    assert not sign_in[1], sign_in
    [completion] = [(s, open_) for s, open_ in sent if s.startswith("SELECT") and "WHERE case_task.id = " in s]
    assert completion[1], completion
    writes = [open_ for s, open_ in sent if s.startswith(("UPDATE", "INSERT", "WITH"))]
    assert writes and all(writes)  # the case, its task rows and the audit event: one transaction
    assert audit_rows(services, action="task.complete")[0].case_id == case_id


def test_touches_made_outside_a_transaction_are_kept(app, client, services):
    """A sign-in's read commits nothing, but what it writes must last: a session idle too long is revoked as
    expired on the server, and a token's last use is recorded (each one UPDATE, committed by itself)."""
    login(client, "professional")
    with clock.frozen_at(clock.now() + timedelta(minutes=services.settings.idle_timeout_minutes + 1)):
        with client.session_transaction() as session:
            session["seen_at"] = session["login_at"] = time.time()
        assert client.get("/api/me").status_code == 401
    with services.sessions() as session:
        ended = session.scalars(select(UserSession.revoked_reason).where(UserSession.revoked_at.is_not(None))).all()
    assert ended == ["expired"]
    secret = accounts.create_token(services.sessions, "professional", "test")
    assert app.test_client().get("/api/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    with services.sessions() as session:
        [used] = session.scalars(select(ApiToken.last_used_at).where(ApiToken.label == "test")).all()
    assert used is not None


def test_a_request_signs_in_without_building_entities(app, client, services):
    """Issue 14 (HTTP throughput): every request signs in, and reading the credential, the user, its team and its
    roles as ORM entities cost more than the statement (about twice a Core read of the same columns). Now the
    sign-in reads columns, for a browser session and for an API token alike; a revoked token still opens
    nothing."""
    login(client, "professional")
    secret = accounts.create_token(services.sessions, "professional", "test")
    loaded: list[str] = []

    def on_load(target, _context):
        loaded.append(type(target).__name__)

    kinds = (User, Team, UserRole, ApiToken, UserSession)
    for kind in kinds:
        event.listen(kind, "load", on_load)
    try:
        by_cookie = client.get("/api/me")
        by_token = app.test_client().get("/api/me", headers={"Authorization": f"Bearer {secret}"})
    finally:
        for kind in kinds:
            event.remove(kind, "load", on_load)
    assert by_cookie.json["username"] == by_token.json["username"] == "professional"
    assert by_token.json["roles"] == by_cookie.json["roles"] == ["professional"]
    assert loaded == []
    with services.sessions() as session:
        token_id = session.scalars(select(ApiToken.id)).one()
        user_id = session.scalars(select(User.id).where(User.username == "professional")).one()
    assert accounts.revoke_token(services.sessions, user_id, token_id)
    assert app.test_client().get("/api/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
