"""Security headers on every kind of response (issue 10, finding 9): a CSP fit for the bpmn-js viewer,
no framing, Referrer-Policy, nosniff, HSTS only when the setting says so."""
from __future__ import annotations

import pytest

from .conftest import login, start_case


def _policy(header: str) -> dict[str, str]:
    return {part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2] for part in header.split(";") if part.strip()}


def _responses(app, services):
    case_id = start_case(services)
    client = app.test_client()
    anonymous = app.test_client()
    login(client, "professional")
    return {
        "sign-in page": anonymous.get("/inloggen"),
        "redirect": anonymous.get("/"),
        "inbox": client.get("/"),
        "case file with the diagram": client.get(f"/zaken/{case_id}"),
        "account": client.get("/account"),
        "api": client.get("/api/me"),
        "api 401": anonymous.get("/api/me"),
        "404": client.get("/bestaat-niet"),
        "static": client.get("/static/app.css"),
        "bpmn-js": client.get("/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js"),
        "health": client.get("/gezondheid"),
    }


def test_every_response_carries_the_security_headers(app, services):
    for name, response in _responses(app, services).items():
        headers = response.headers
        if name in ("static", "bpmn-js", "case file with the diagram", "account", "health"):
            assert response.status_code == 200, name
        policy = _policy(headers.get("Content-Security-Policy", ""))
        assert policy.get("frame-ancestors") == "'none'", name
        assert policy.get("script-src") == "'self'", name  # no inline script, no eval
        assert policy.get("object-src") == "'none'" and policy.get("base-uri") == "'none'", name
        assert "'unsafe-inline'" not in policy.get("style-src-elem", "'unsafe-inline'"), name
        assert headers.get("X-Content-Type-Options") == "nosniff", name
        assert headers.get("Referrer-Policy") in ("same-origin", "no-referrer", "strict-origin-when-cross-origin"), name
        assert headers.get("X-Frame-Options") == "DENY", name
        assert "Strict-Transport-Security" not in headers, name  # off unless configured


def test_the_case_file_with_its_diagram_needs_nothing_the_policy_forbids(app, services):
    """The viewer loads as a file of this site and the page has no inline script with code in it."""
    import re

    page = _responses(app, services)["case file with the diagram"]
    assert page.status_code == 200
    for tag in re.findall(r"<script\b[^>]*>", page.text):
        assert 'src="/' in tag or 'type="application/json"' in tag, tag
    assert " on" not in " ".join(re.findall(r"<[^>]+\son[a-z]+=", page.text))


@pytest.mark.parametrize("seconds", [31536000])
def test_hsts_is_sent_when_the_setting_is_on(make_app, web_settings, app, seconds):
    secured = make_app(web_settings.replace(hsts_seconds=seconds))
    for path in ("/inloggen", "/api/me", "/gezondheid"):
        header = secured.test_client().get(path).headers.get("Strict-Transport-Security")
        assert header == f"max-age={seconds}; includeSubDomains", path


def test_the_setting_is_read_from_the_environment():
    from web.settings import WebSettings

    assert WebSettings.from_env({}).hsts_seconds == 0
    assert WebSettings.from_env({"MELDCODE_HSTS_SECONDS": "63072000"}).hsts_seconds == 63072000
    assert WebSettings.from_env({"MELDCODE_MFA_REQUIRED": "1"}).mfa_required is True
    assert WebSettings.from_env({}).mfa_required is False
    assert WebSettings.from_env({"MELDCODE_TOKEN_DAYS": "30"}).token_days == 30
