"""The second factor (issue 10, finding 4): TOTP enrolment with a QR code shown once, ten recovery codes
each usable once, the code asked at sign-in and rate limited, required by MELDCODE_MFA_REQUIRED, demo users
exempt, API tokens only from a session that passed it."""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import clock
from web.auth import mfa
from web.auth import service as accounts
from web.auth.models import RecoveryCode, User, UserSession

from .conftest import PASSWORD, audit_rows, csrf_from, login, start_case

# The behaviour depends on the database (tests/conftest.py ONE_BACKEND_DIRS): both backends.
pytestmark = pytest.mark.backends("sqlite", "postgres")


def _password_step(client, username="professional", password=PASSWORD, **environ):
    token = csrf_from(client.get("/inloggen", environ_base=environ).text)
    return client.post("/inloggen", data={"csrf_token": token, "username": username, "password": password},
                       environ_base=environ)


def _code_step(client, code, **environ):
    page = client.get("/inloggen/code", environ_base=environ)
    assert page.status_code == 200, page.status_code
    return client.post("/inloggen/code", data={"csrf_token": csrf_from(page.text), "code": code},
                       environ_base=environ)


def enrol(client, token) -> tuple[str, list[str]]:
    """Set up the second factor through the account page; returns (secret, recovery codes)."""
    started = client.post("/account/tweestapsverificatie", data={"csrf_token": token})
    assert started.status_code == 200
    assert re.search(r'<img src="data:image/svg\+xml[^"]+" alt="QR-code', started.text)
    secret = re.search(r'id="totp-sleutel">([A-Z2-7]+)<', started.text).group(1)
    confirmed = client.post("/account/tweestapsverificatie/bevestigen",
                            data={"csrf_token": token, "code": mfa.current_code(secret)})
    assert confirmed.status_code == 200 and "Tweestapsverificatie staat aan" in confirmed.text
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", confirmed.text)
    return secret, codes


def later(steps: int = 1):
    """A code step after the enrolment's (whose code is used up: a code works once)."""
    return clock.frozen_at(clock.now() + timedelta(seconds=mfa.STEP * steps))


@pytest.fixture
def enrolled(app):
    client = app.test_client()
    token = login(client, "professional")
    secret, codes = enrol(client, token)
    return secret, codes


def test_enrolment_shows_the_qr_code_once_and_stores_recovery_codes_hashed(app, client, services):
    token = login(client, "professional")
    account = client.get("/account").text
    assert "Tweestapsverificatie instellen" in account and "data:image/svg" not in account
    secret, codes = enrol(client, token)
    assert len(codes) == 10 and len(set(codes)) == 10
    again = client.get("/account").text
    assert "Staat aan" in again and secret not in again and "data:image/svg" not in again
    assert not any(code in again for code in codes)
    with services.sessions() as session:
        hashes = session.scalars(select(RecoveryCode.code_hash)).all()
        user = session.scalar(select(User).where(User.username == "professional"))
    assert len(hashes) == 10 and all(h.startswith("$argon2id$") for h in hashes)
    assert user.totp_enabled_at is not None and user.totp_secret == secret
    # A second enrolment cannot replace the secret behind the user's back.
    assert client.post("/account/tweestapsverificatie", data={"csrf_token": token}).status_code == 302
    with services.sessions() as session:
        assert session.scalar(select(User.totp_secret).where(User.username == "professional")) == secret
    assert [e.outcome for e in audit_rows(services, action="auth.mfa_enrolment")] == ["started", "success"]


def test_a_wrong_confirmation_code_does_not_switch_it_on(client, services):
    token = login(client, "professional")
    client.post("/account/tweestapsverificatie", data={"csrf_token": token})
    wrong = client.post("/account/tweestapsverificatie/bevestigen", data={"csrf_token": token, "code": "000000"})
    assert wrong.status_code == 400
    with services.sessions() as session:
        assert session.scalar(select(User.totp_enabled_at).where(User.username == "professional")) is None
        assert session.scalar(select(RecoveryCode.id)) is None


def test_sign_in_asks_the_code_after_the_password(app, enrolled, services):
    secret, _ = enrolled
    client = app.test_client()
    step1 = _password_step(client)
    assert step1.status_code == 302 and step1.location == "/inloggen/code"
    assert client.get("/api/me").status_code == 401  # the password alone opens nothing
    assert client.get("/").status_code == 302
    with later():
        wrong = _code_step(client, "123456" if mfa.current_code(secret) != "123456" else "654321")
        assert wrong.status_code == 401 and "klopt niet" in wrong.text
        right = _code_step(client, mfa.current_code(secret))
        assert right.status_code == 302 and right.location == "/"
        assert client.get("/api/me").json["username"] == "professional"
    with services.sessions() as session:
        newest = session.scalars(select(UserSession).order_by(UserSession.id.desc())).first()
    assert newest.mfa_verified


def test_a_code_works_once(app, enrolled):
    secret, _ = enrolled
    first, second = app.test_client(), app.test_client()
    _password_step(first)
    _password_step(second)
    code = mfa.current_code(secret, step_offset=1)  # the next step: not used by the enrolment
    with clock.frozen_at(clock.now() + timedelta(seconds=mfa.STEP)):
        assert _code_step(first, code).status_code == 302
        assert _code_step(second, code).status_code == 401  # replayed (seen over a shoulder)


def test_each_recovery_code_works_once(app, enrolled, services):
    _, codes = enrolled
    client = app.test_client()
    _password_step(client)
    response = _code_step(client, codes[0].upper().replace("-", " "))
    assert response.status_code == 302
    assert "nog 9 over" in client.get("/").text
    again = app.test_client()
    _password_step(again)
    assert _code_step(again, codes[0]).status_code == 401
    assert _code_step(again, codes[1]).status_code == 302
    assert [e.details["kind"] for e in audit_rows(services, action="auth.second_factor", outcome="success")] == \
        ["recovery", "recovery"]


def test_the_code_step_is_rate_limited(app, enrolled, services):
    secret, _ = enrolled
    client = app.test_client()
    _password_step(client)
    limit = services.settings.login_max_failures
    for _ in range(limit):
        assert _code_step(client, "000000" if mfa.current_code(secret) != "000000" else "111111").status_code == 401
    blocked = _code_step(client, mfa.current_code(secret))
    assert blocked.status_code == 429
    assert client.get("/api/me").status_code == 401
    # A new password step does not reset the count (that would make the limit worthless).
    _password_step(client)
    assert _code_step(client, mfa.current_code(secret)).status_code == 429


def test_parallel_codes_check_at_most_the_limit(app, enrolled, services, monkeypatch):
    import threading

    checked = []
    real_check = mfa.check
    monkeypatch.setattr(mfa, "check", lambda *a, **k: checked.append(1) or real_check(*a, **k))
    clients = []
    for _ in range(30):
        client = app.test_client()
        _password_step(client)
        clients.append((client, csrf_from(client.get("/inloggen/code").text)))
    barrier = threading.Barrier(len(clients))
    statuses = []

    def attempt(client, token):
        barrier.wait()
        statuses.append(client.post("/inloggen/code", data={"csrf_token": token, "code": "999999"}).status_code)

    threads = [threading.Thread(target=attempt, args=c) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(statuses) == 30
    assert len(checked) <= services.settings.login_max_failures and statuses.count(429) >= 25


def test_the_pending_step_expires(app, enrolled):
    secret, _ = enrolled
    client = app.test_client()
    _password_step(client)
    with client.session_transaction() as session:
        session["mfa_pending"] = {**session["mfa_pending"], "at": session["mfa_pending"]["at"] - 301}
    response = client.get("/inloggen/code")
    assert response.status_code == 302 and response.location == "/inloggen"


@pytest.fixture
def required_app(make_app, web_settings, app):
    """The same database and users, with MELDCODE_MFA_REQUIRED on."""
    return make_app(web_settings.replace(mfa_required=True))


def test_when_required_nothing_opens_before_enrolment(required_app, services):
    case_id = start_case(services)
    client = required_app.test_client()
    assert _password_step(client, "leidinggevende").location == "/"
    token = csrf_from(client.get("/account").text)
    for path in ("/", f"/zaken/{case_id}", "/zaken"):
        response = client.get(path)
        assert response.status_code == 302 and response.location == "/account", path
    assert client.get("/api/me").status_code == 403
    assert client.post("/account/tokens", data={"csrf_token": token, "label": "x"}).status_code == 302
    page = client.get("/account").text
    assert "Tweestapsverificatie is verplicht" in page
    enrol(client, token)
    assert client.get(f"/zaken/{case_id}").status_code == 200
    assert client.get("/api/me").status_code == 200


def test_when_required_a_token_of_an_unenrolled_user_is_refused(required_app, services):
    secret = accounts.create_token(services.sessions, "leidinggevende", "oud")
    response = required_app.test_client().get("/api/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 403 and response.json["error"] == "mfa_required"


def test_demo_users_are_exempt(make_app, web_settings):
    """The run command's demo users sign in with the password alone even when MFA is required (an empty
    database, as `meldcode run` starts with); an ordinary account is not exempt."""
    from web.demo import DEMO_PASSWORD, seed_users

    app = make_app(web_settings.replace(mfa_required=True))
    sessions = app.extensions["meldcode"].sessions
    assert "aandachtsfunctionaris" in seed_users(sessions)
    accounts.create_user(sessions, "anna", PASSWORD, ["aandachtsfunctionaris"], "wijkteam-noord")
    demo = app.test_client()
    assert _password_step(demo, "aandachtsfunctionaris", DEMO_PASSWORD).location == "/"
    assert demo.get("/").status_code == 200 and demo.get("/api/me").status_code == 200
    ordinary = app.test_client()
    assert _password_step(ordinary, "anna").location == "/"
    assert ordinary.get("/").location == "/account"


def test_tokens_come_only_from_a_session_that_passed_the_second_factor(app, enrolled, services):
    secret, _ = enrolled
    client = app.test_client()
    _password_step(client)
    with later():
        assert _code_step(client, mfa.current_code(secret)).status_code == 302
    token = csrf_from(client.get("/account").text)
    created = client.post("/account/tokens", data={"csrf_token": token, "label": "koppeling"})
    assert created.status_code == 201
    # A session record that did not pass the second factor (e.g. opened before it was switched on) cannot.
    with services.sessions() as session:
        session.execute(UserSession.__table__.update().values(mfa_verified=False))
        session.commit()
    refused = client.post("/account/tokens", data={"csrf_token": token, "label": "nog een"})
    assert refused.status_code == 403
    assert len(accounts.list_tokens(services.sessions, accounts.load_user(
        services.sessions, *_id_and_version(services, "professional")).id)) == 1


def test_switching_it_on_ends_the_other_sessions(app, services):
    laptop, phone = app.test_client(), app.test_client()
    token = login(laptop, "professional")
    login(phone, "professional")
    enrol(laptop, token)
    assert phone.get("/api/me").status_code == 401
    assert laptop.get("/api/me").status_code == 200


def test_the_operator_can_reset_a_lost_second_factor(app, enrolled, services, database_url):
    from click.testing import CliRunner

    from web.cli import web_commands

    result = CliRunner().invoke(web_commands, ["user", "reset-mfa", "professional"],
                                env={"DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    client = app.test_client()
    assert _password_step(client).location == "/"  # no code step any more


def _id_and_version(services, username):
    with services.sessions() as session:
        row = session.scalar(select(User).where(User.username == username))
        return row.id, row.session_version


def test_the_qr_code_is_an_inline_svg_data_uri(app, client):
    token = login(client, "professional")
    started = client.post("/account/tweestapsverificatie", data={"csrf_token": token}).text
    src = html.unescape(re.search(r'<img src="([^"]+)" alt="QR-code', started).group(1))
    assert src.startswith("data:image/svg+xml")
    assert "img-src 'self' data:" in client.get("/account").headers["Content-Security-Policy"]
