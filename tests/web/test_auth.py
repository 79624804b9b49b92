"""Sign-in, sessions and CSRF: argon2 passwords, rate-limited guessing, cookies that cannot be forged or kept."""
from __future__ import annotations

import time

import pytest

from web.auth import service as accounts

from .conftest import PASSWORD, audit_rows, csrf_from, login, open_task, start_case, user_of

# The behaviour depends on the database (tests/conftest.py ONE_BACKEND_DIRS): both backends.
pytestmark = pytest.mark.backends("sqlite", "postgres")


def _post_login(client, username, password, **environ):
    token = csrf_from(client.get("/inloggen", environ_base=environ).text)
    return client.post("/inloggen", data={"csrf_token": token, "username": username, "password": password},
                       environ_base=environ)


def test_sign_in_with_the_right_password_opens_the_inbox(client, services):
    response = _post_login(client, "professional", PASSWORD)
    assert response.status_code == 302 and response.location == "/"
    page = client.get("/")
    assert page.status_code == 200 and "Inbox" in page.text and "Test professional" in page.text
    [event] = audit_rows(services, action="auth.login", outcome="success")
    assert event.actor == "professional"


def test_passwords_are_stored_as_argon2_hashes(services):
    from sqlalchemy import select

    from web.auth.models import User

    with services.sessions() as session:
        stored = session.scalar(select(User.password_hash).where(User.username == "professional"))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client, services):
    wrong_password = _post_login(client, "professional", "not the password")
    unknown_user = _post_login(client, "nobody", "not the password")
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert "Onbekende gebruikersnaam of onjuist wachtwoord" in wrong_password.text
    assert "Onbekende gebruikersnaam of onjuist wachtwoord" in unknown_user.text
    assert client.get("/").status_code == 302
    denied = audit_rows(services, action="auth.login", outcome="denied")
    assert [e.actor for e in denied] == ["professional", "nobody"]


def test_login_attempts_are_rate_limited_per_username_and_address(app, services):
    client = app.test_client()
    here = {"REMOTE_ADDR": "10.0.0.7"}
    for _ in range(services.settings.login_max_failures):
        assert _post_login(client, "professional", "guess", **here).status_code == 401
    blocked = _post_login(client, "professional", PASSWORD, **here)
    assert blocked.status_code == 429 and "Te veel mislukte pogingen" in blocked.text
    assert client.get("/").status_code == 302  # not signed in, even with the right password
    # Another address, or another username from the same address, is not blocked.
    assert _post_login(app.test_client(), "professional", PASSWORD, REMOTE_ADDR="10.0.0.8").status_code == 302
    assert _post_login(app.test_client(), "leidinggevende", PASSWORD, **here).status_code == 302
    assert [e.details.get("reason") for e in audit_rows(services, action="auth.login", outcome="denied")][-1] == \
        "rate limited"


def test_the_rate_limit_window_passes(app, services, monkeypatch):
    from datetime import timedelta

    from engine import clock

    client = app.test_client()
    for _ in range(services.settings.login_max_failures):
        _post_login(client, "professional", "guess")
    assert _post_login(client, "professional", PASSWORD).status_code == 429
    later = clock.now() + timedelta(seconds=services.settings.login_window_seconds + 1)
    with clock.frozen_at(later):
        assert _post_login(client, "professional", PASSWORD).status_code == 302


def test_forms_without_a_valid_csrf_token_are_rejected(app, services):
    client = app.test_client()
    no_token = client.post("/inloggen", data={"username": "professional", "password": PASSWORD})
    assert no_token.status_code == 400 and "beveiligingscontrole" in no_token.text
    token = login(client, "professional")
    case_id = start_case(services)
    task = open_task(services, case_id)
    forged = client.post(f"/taken/{task.id}", data={"csrf_token": "forged" + token[6:], "signalen": "x"})
    assert forged.status_code == 400
    missing = client.post("/zaken/nieuw", data={"client_ref": "CL-2", "aanleiding": "x", "levensbedreigend": "nee"})
    assert missing.status_code == 400
    assert len(services.cases.list_cases()) == 1  # nothing started, nothing completed
    assert open_task(services, case_id).state == "ready"
    # A token of another session does not work either.
    other = app.test_client()
    other_token = login(other, "professional")
    assert client.post(f"/taken/{task.id}/claimen", data={"csrf_token": other_token}).status_code == 400
    assert client.post("/zaken/nieuw", data={"csrf_token": other_token, "client_ref": "CL-3", "aanleiding": "x",
                                             "levensbedreigend": "nee"}).status_code == 400


def test_api_calls_with_the_session_cookie_need_the_csrf_header(client, services):
    token = login(client, "professional")
    body = {"client_ref": "CL-77", "aanleiding": "x", "levensbedreigend": False}
    assert client.post("/api/cases", json=body).status_code == 400
    assert client.post("/api/cases", json=body, headers={"X-CSRFToken": token}).status_code == 201


def test_session_cookie_is_http_only_same_site_lax(client):
    _post_login(client, "professional", PASSWORD)
    cookie = client.get_cookie("meldcode_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"


def test_secure_cookie_flag_follows_the_settings(make_app, web_settings):
    app = make_app(web_settings.replace(session_cookie_secure=True))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    response = app.test_client().get("/inloggen", base_url="https://localhost")
    assert "Secure" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]


def test_a_forged_session_cookie_is_not_accepted(make_app, web_settings, client):
    other = make_app(web_settings.replace(secret_key="another secret key, not the app's own"))
    forger = other.session_interface.get_signing_serializer(other)
    now = time.time()
    client.set_cookie("meldcode_session", forger.dumps({"_user_id": "1:1", "_fresh": True, "login_at": now,
                                                        "seen_at": now}))
    response = client.get("/")
    assert response.status_code == 302 and "/inloggen" in response.location
    assert client.get("/api/me").status_code == 401
    client.set_cookie("meldcode_session", "garbage.garbage.garbage")
    assert client.get("/").status_code == 302


def test_an_idle_session_expires(client, services):
    login(client, "professional")
    with client.session_transaction() as session:
        session["seen_at"] = time.time() - services.settings.idle_timeout_minutes * 60 - 1
    response = client.get("/")
    assert response.status_code == 302 and "/inloggen" in response.location
    assert "Uw sessie is verlopen" in client.get(response.location).text
    assert client.get("/").status_code == 302  # and it stays signed out


def test_a_session_ends_after_its_lifetime_even_when_active(client, services):
    login(client, "professional")
    with client.session_transaction() as session:
        session["login_at"] = time.time() - services.settings.session_lifetime_minutes * 60 - 1
    assert client.get("/").status_code == 302
    assert client.get("/api/me").status_code == 401


def test_changing_the_password_ends_open_sessions(client, services):
    login(client, "professional")
    assert client.get("/").status_code == 200
    accounts.set_password(services.sessions, "professional", "a brand new password")
    assert client.get("/").status_code == 302


def test_sign_out_ends_the_session(client, services):
    token = login(client, "professional")
    response = client.post("/afmelden", data={"csrf_token": token})
    assert response.status_code == 302
    assert "U bent afgemeld" in client.get(response.location).text
    assert client.get("/").status_code == 302
    assert audit_rows(services, action="auth.logout")[0].actor == "professional"


def test_sign_in_only_returns_to_local_pages(client):
    token = csrf_from(client.get("/inloggen").text)
    response = client.post("/inloggen", data={"csrf_token": token, "username": "professional", "password": PASSWORD,
                                              "next": "//evil.example/phish"})
    assert response.location == "/"
    client2 = client.application.test_client()
    token = csrf_from(client2.get("/inloggen?next=/zaken").text)
    response = client2.post("/inloggen", data={"csrf_token": token, "username": "professional",
                                               "password": PASSWORD, "next": "/zaken"})
    assert response.location == "/zaken"


def test_security_headers_and_no_caching_of_pages(client):
    login(client, "professional")
    response = client.get("/")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_the_app_refuses_to_start_without_a_secret_key(make_app, web_settings):
    import pytest

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        make_app(web_settings.replace(secret_key=None))


def test_a_user_needs_a_known_role_and_a_team(services):
    import pytest

    with pytest.raises(accounts.AccountError, match="onbekende rol"):
        accounts.create_user(services.sessions, "nieuw", PASSWORD, ["admin"], "noord")
    with pytest.raises(accounts.AccountError, match="team"):
        accounts.create_user(services.sessions, "nieuw", PASSWORD, ["professional"], " ")
    with pytest.raises(accounts.AccountError, match="bestaat al"):
        accounts.create_user(services.sessions, "Professional", PASSWORD, ["professional"], "noord")
    assert user_of(services, "professional").roles == frozenset({"professional"})


def test_one_address_trying_many_usernames_is_slowed_down(app, services):
    here = {"REMOTE_ADDR": "10.9.9.9"}
    limit = services.settings.login_max_failures * accounts.ADDRESS_FACTOR
    for n in range(limit):
        assert _post_login(app.test_client(), f"gok{n}", "guess", **here).status_code == 401
    assert _post_login(app.test_client(), "professional", PASSWORD, **here).status_code == 429
    assert _post_login(app.test_client(), "professional", PASSWORD, REMOTE_ADDR="10.9.9.10").status_code == 302


def test_the_health_check_reaches_the_database(client):
    response = client.get("/gezondheid")
    assert response.status_code == 200 and response.json == {"status": "ok"}


# -- issue 10, finding 2: the open redirect ------------------------------------------------------------
import pytest  # noqa: E402

HOSTILE_NEXT = ["/\t/evil.example", "//evil.example", "/\\evil", "/\\/evil.example", "https://evil.example",
                "http:/evil.example", "/\n/", "/\r\n/evil.example", "/\x00/evil", "/zaken\\..\\..", "\\\\evil",
                "javascript:alert(1)", " /evil", "/\x7f/evil", "/é/evil", "///evil.example", "/" + "a" * 3000]


@pytest.mark.parametrize("variant", ["%2F%09%2Fevil.example", "//evil.example", "/%5Cevil", "%2F%0A%2F",
                                     "https://evil.example", "%2F%5C%2Fevil.example", "%2F%0D%0A%2Fx"])
def test_the_probes_next_parameters_land_in_the_inbox(app, variant):
    """As the probe did it: the parameter in the sign-in page's address, the form posted as the page made it."""
    client = app.test_client()
    page = client.get(f"/inloggen?next={variant}")
    assert page.status_code == 200
    response = client.post("/inloggen", data={"csrf_token": csrf_from(page.text), "username": "professional",
                                              "password": PASSWORD, "next": _hidden_next(page.text)})
    assert response.status_code == 302 and response.location == "/"


def _hidden_next(html: str) -> str:
    import html as html_module
    import re

    match = re.search(r'<input[^>]*name="next"[^>]*value="([^"]*)"', html) or \
        re.search(r'<input[^>]*value="([^"]*)"[^>]*name="next"', html)
    return html_module.unescape(match.group(1)) if match else ""


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_a_posted_next_that_is_not_a_local_path_goes_to_the_inbox(app, target):
    client = app.test_client()
    token = csrf_from(client.get("/inloggen").text)
    response = client.post("/inloggen", data={"csrf_token": token, "username": "professional", "password": PASSWORD,
                                              "next": target})
    assert response.status_code == 302 and response.location == "/"


def test_local_paths_with_a_query_are_followed(app):
    client = app.test_client()
    page = client.get("/inloggen?next=%2Fzaken%3Fstatus%3Dopen")
    response = client.post("/inloggen", data={"csrf_token": csrf_from(page.text), "username": "professional",
                                              "password": PASSWORD, "next": _hidden_next(page.text)})
    assert response.location == "/zaken?status=open"


# -- issue 10, finding 5: the sign-in limit cannot be raced --------------------------------------------
def _race(app, attempts, monkeypatch):
    """Send the attempts (username, password, address) at once, each from its own browser; returns the
    status codes and how many passwords were actually checked."""
    import threading

    checked = []
    real_verify = accounts._verify

    def counting_verify(password_hash, password):
        checked.append(1)
        return real_verify(password_hash, password)

    monkeypatch.setattr(accounts, "_verify", counting_verify)
    clients = []
    for username, password, address in attempts:
        client = app.test_client()
        token = csrf_from(client.get("/inloggen", environ_base={"REMOTE_ADDR": address}).text)
        clients.append((client, token, username, password, address))
    barrier = threading.Barrier(len(clients))
    statuses = []

    def attempt(client, token, username, password, address):
        barrier.wait()
        response = client.post("/inloggen", data={"csrf_token": token, "username": username, "password": password},
                               environ_base={"REMOTE_ADDR": address})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=attempt, args=args) for args in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(statuses) == len(clients), "some attempts never finished"
    return statuses, len(checked)


def test_sixty_parallel_wrong_passwords_check_at_most_five(app, services, monkeypatch):
    limit = services.settings.login_max_failures
    statuses, checked = _race(app, [("professional", f"guess {n}", "10.6.6.6") for n in range(60)], monkeypatch)
    assert checked <= limit
    assert sorted(set(statuses)) == [401, 429] and statuses.count(401) == checked
    # And the right password is refused too while the window lasts.
    assert _post_login(app.test_client(), "professional", PASSWORD, REMOTE_ADDR="10.6.6.6").status_code == 429


def test_parallel_guesses_over_many_usernames_from_one_address_are_bounded(app, services, monkeypatch):
    limit = services.settings.login_max_failures * accounts.ADDRESS_FACTOR
    statuses, checked = _race(app, [(f"gok{n}", "guess", "10.7.7.7") for n in range(60)], monkeypatch)
    assert checked <= limit and statuses.count(429) >= 60 - limit


def test_parallel_guesses_for_one_user_from_many_addresses_are_bounded(app, services, monkeypatch):
    limit = services.settings.login_max_failures * accounts.ADDRESS_FACTOR
    statuses, checked = _race(app, [("professional", "guess", f"10.8.{n}.1") for n in range(60)], monkeypatch)
    assert checked <= limit and statuses.count(429) >= 60 - limit


def test_successful_sign_ins_from_one_office_address_are_not_counted_against_it(app, services):
    for n in range(services.settings.login_max_failures * accounts.ADDRESS_FACTOR + 5):
        client = app.test_client()
        assert _post_login(client, "professional" if n % 2 else "leidinggevende", PASSWORD,
                           REMOTE_ADDR="10.3.3.3").status_code == 302
