"""API tokens (issue 10, finding 6): they expire (default 90 days), a password change revokes them, the
account page shows them with their last use, and a beheerder can list and revoke anyone's."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from engine import clock
from web.auth import service as accounts
from web.auth.models import ApiToken

from .conftest import audit_rows, login


def _me(app, secret):
    return app.test_client().get("/api/me", headers={"Authorization": f"Bearer {secret}"})


def test_a_token_expires_after_ninety_days_by_default(app, services):
    assert services.settings.token_days == 90
    secret = accounts.create_token(services.sessions, "professional", "koppeling", services.settings.token_days)
    assert _me(app, secret).status_code == 200
    with clock.frozen_at(clock.now() + timedelta(days=89, hours=23)):
        assert _me(app, secret).status_code == 200
    with clock.frozen_at(clock.now() + timedelta(days=90, minutes=1)):
        assert _me(app, secret).status_code == 401


def test_the_lifetime_is_a_setting(make_app, web_settings, app):
    short = make_app(web_settings.replace(token_days=7))
    client = short.test_client()
    token = login(client, "professional")
    created = client.post("/account/tokens", data={"csrf_token": token, "label": "kort"})
    secret = re.search(r'id="nieuw-token">([^<]+)<', created.text).group(1)
    with clock.frozen_at(clock.now() + timedelta(days=7, minutes=1)):
        assert _me(short, secret).status_code == 401


def test_tokens_made_before_expiry_existed_run_out_too(app, services):
    secret = accounts.create_token(services.sessions, "professional", "oud")
    with services.sessions.begin() as session:
        session.execute(ApiToken.__table__.update().values(expires_at=None))
    assert _me(app, secret).status_code == 200
    with clock.frozen_at(clock.now() + timedelta(days=accounts.DEFAULT_TOKEN_DAYS, minutes=1)):
        assert _me(app, secret).status_code == 401


def test_a_password_change_revokes_the_tokens(app, services):
    secret = accounts.create_token(services.sessions, "professional", "koppeling")
    other = accounts.create_token(services.sessions, "leidinggevende", "koppeling")
    assert _me(app, secret).status_code == 200
    accounts.set_password(services.sessions, "professional", "a brand new password")
    assert _me(app, secret).status_code == 401
    assert _me(app, other).status_code == 200  # only that user's


def test_the_account_page_lists_tokens_with_created_last_use_and_expiry(app, client, services):
    token = login(client, "professional")
    created = client.post("/account/tokens", data={"csrf_token": token, "label": "dossiersysteem"})
    assert created.status_code == 201
    secret = re.search(r'id="nieuw-token">([^<]+)<', created.text).group(1)
    page = client.get("/account").text
    assert "dossiersysteem" in page and "nooit" in page and "Verloopt" in page and secret not in page
    assert _me(app, secret).status_code == 200
    page = client.get("/account").text
    row = page.split("dossiersysteem")[1].split("</tr>")[0]
    assert "nooit" not in row and "actief" in row


def test_a_beheerder_lists_and_revokes_anyones_tokens(app, services):
    secret = accounts.create_token(services.sessions, "professional", "koppeling van pim")
    beheerder = app.test_client()
    token = login(beheerder, "beheerder")
    page = beheerder.get("/beheer/tokens")
    assert page.status_code == 200 and "koppeling van pim" in page.text and "(professional)" in page.text
    assert secret not in page.text
    with services.sessions() as session:
        token_id = session.scalar(select(ApiToken.id))
    assert beheerder.post(f"/beheer/tokens/{token_id}/intrekken", data={"csrf_token": token}).status_code == 302
    assert _me(app, secret).status_code == 401
    [event] = audit_rows(services, action="api_token.revoke")
    assert event.actor == "beheerder" and event.details["by_beheerder"] is True


def test_others_cannot_use_the_beheerder_token_page(app, services):
    secret = accounts.create_token(services.sessions, "leidinggevende", "koppeling")
    with services.sessions() as session:
        token_id = session.scalar(select(ApiToken.id))
    client = app.test_client()
    token = login(client, "professional")
    assert client.get("/beheer/tokens").status_code == 403
    assert client.post(f"/beheer/tokens/{token_id}/intrekken", data={"csrf_token": token}).status_code == 403
    # Nor can an owner revoke someone else's token through their own account page.
    client.post(f"/account/tokens/{token_id}/intrekken", data={"csrf_token": token})
    assert _me(app, secret).status_code == 200
    # A beheerder's API token does not open the page either (it is for people in a browser).
    beheerder_secret = accounts.create_token(services.sessions, "beheerder", "api")
    assert app.test_client().get("/beheer/tokens", headers={"Authorization": f"Bearer {beheerder_secret}"}) \
        .status_code in (302, 401, 403)
