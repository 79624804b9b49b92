"""Ownership and handover on the case file (web/cases/handover.py, engine/handover.py): the responsible professional
is shown, hands the case to a colleague with a note, the colleague sees it; the leidinggevende reassigns; refusals
are clear and change nothing. Browser tests in Chromium; the refusals through the test client."""
from __future__ import annotations

import re

from web.auth import service as accounts

from .axe import assert_accessible
from .conftest import PASSWORD, audit_rows, csrf_from, login, open_task, start_case, user_of
from .test_browser import screenshot, sign_in


def _colleague(services, username="kees", team="noord", role="professional", name="Kees Collega"):
    accounts.create_user(services.sessions, username, PASSWORD, [role], team, display_name=name)


def _responsible(services, case_id):
    from engine import handover

    return handover.ownership(services.sessions, case_id, user_of(services, "leidinggevende").actor).responsible


def test_the_case_file_names_the_responsible_professional(app, services, client):
    case_id = start_case(services)
    login(client, "aandachtsfunctionaris")
    page = client.get(f"/zaken/{case_id}").text
    assert re.search(r'Verantwoordelijk voor deze zaak: <strong>Test professional</strong>', page)
    assert "Overdragen aan een collega" not in page  # the aandachtsfunctionaris holds nothing here


def test_a_handover_outside_the_team_or_role_is_refused_and_changes_nothing(app, services, client):
    _colleague(services)
    case_id = start_case(services)
    token = login(client, "professional")
    url = f"/zaken/{case_id}/overdragen"
    assert "Kees Collega" in client.get(url).text
    for target, text in (("zuid", "Kies een collega uit het team van deze zaak."),
                         ("aandachtsfunctionaris", "Deze collega is geen professional"),
                         ("niemand", "Kies een collega uit het team van deze zaak."),
                         ("", "Kies aan wie u overdraagt.")):
        response = client.post(url, data={"csrf_token": token, "aan": target, "notitie": "Mijn notitie blijft staan"})
        assert response.status_code == 422, target
        assert text in response.text and "Mijn notitie blijft staan" in response.text
    response = client.post(url, data={"csrf_token": token, "aan": "kees", "notitie": "x" * 2001})
    assert response.status_code == 422 and "te lang" in response.text
    assert _responsible(services, case_id) == "professional"
    assert not [e for e in audit_rows(services, action="case.handover") if e.outcome == "success"]
    # Someone who neither holds the case nor leads the team gets the same 403 as for a foreign case.
    other = app.test_client()
    other_token = login(other, "aandachtsfunctionaris")
    assert other.post(url, data={"csrf_token": other_token, "aan": "kees"}).status_code == 403
    task = open_task(services, case_id)
    assert other.post(f"/zaken/{case_id}/taken/{task.id}/overdragen",
                      data={"csrf_token": other_token, "aan": "kees"}).status_code == 403
    assert _responsible(services, case_id) == "professional"


def test_the_403_page_keeps_the_sign_out(app, services, client):
    case_id = start_case(services)
    login(client, "zuid")
    response = client.get(f"/zaken/{case_id}")
    assert response.status_code == 403
    assert 'action="/afmelden"' in response.text or "Afmelden" in response.text
    token = csrf_from(response.text)
    signed_out = client.post("/afmelden", data={"csrf_token": token})
    assert signed_out.status_code == 302 and client.get("/").status_code == 302  # signed out: back to sign-in


def test_a_professional_hands_the_case_to_a_colleague_who_then_sees_it_in_the_browser(
        app, services, live_server, page, database_url):
    _colleague(services)
    case_id = start_case(services, client_ref="CL-OVER-1")
    sign_in(page, live_server, "professional")
    page.goto(f"{live_server}/zaken/{case_id}")
    assert page.inner_text("#verantwoordelijke .responsible") == "Verantwoordelijk voor deze zaak: Test professional"
    page.click("a:has-text('Overdragen aan een collega')")
    page.select_option("#zaak-aan", "kees")
    page.fill("#zaak-notitie", "Ik ben drie weken met verlof. Moeder belt dinsdag terug.")
    assert_accessible(page, "overdragen")
    screenshot(page, "dossier-overdracht", database_url)
    page.click("#zaak-aan >> xpath=ancestor::form >> button:has-text('Overdragen')")
    page.wait_for_selector("text=De zaak is overgedragen aan Kees Collega")
    assert "Verantwoordelijk voor deze zaak: Kees Collega" in page.inner_text("#verantwoordelijke")
    assert "Ik ben drie weken met verlof." in page.inner_text("#verantwoordelijke .handovers")
    assert_accessible(page, "dossier na overdracht")
    assert _responsible(services, case_id) == "kees"
    [event] = [e for e in audit_rows(services, action="case.handover") if e.outcome == "success"]
    assert event.actor == "professional" and event.details["to_user"] == "kees"
    # The colleague signs in and finds the case with themselves as responsible.
    page.click("button:has-text('Afmelden')")
    sign_in(page, live_server, "kees")
    page.goto(f"{live_server}/zaken/{case_id}")
    assert page.inner_text("#verantwoordelijke .responsible") == "Verantwoordelijk voor deze zaak: Kees Collega"
    assert page.locator("[data-responsible=kees]").count() == 1
    assert page.locator("a:has-text('Overdragen aan een collega')").count() == 1  # now theirs to hand over
    assert not page.problems


def test_the_leidinggevende_reassigns_a_claimed_task_and_the_case(app, services, live_server, page, database_url):
    _colleague(services)
    case_id = start_case(services, client_ref="CL-OVER-2")
    task = open_task(services, case_id)
    services.cases.claim_task(task.id, user_of(services, "professional").actor)  # then the professional falls ill
    sign_in(page, live_server, "leidinggevende")
    page.goto(f"{live_server}/zaken/{case_id}")
    page.click("a:has-text('Overdragen aan een collega')")
    assert "Als leidinggevende kunt u de zaak en de open taken" in page.inner_text("main")
    assert "opgepakt door Test professional" in page.inner_text(".handover-task")
    page.select_option(f"#taak-{task.id}-aan", "kees")
    page.fill(f"#taak-{task.id}-notitie", "Pim is ziek; neem jij Stap 1 over?")
    page.click(f"#taak-{task.id}-aan >> xpath=ancestor::form >> button:has-text('Overdragen')")
    page.wait_for_selector("text=is overgedragen aan Kees Collega")
    assert open_task(services, case_id).claimed_by == "kees"
    page.click("a:has-text('Overdragen aan een collega')")
    page.select_option("#zaak-aan", "kees")
    page.click("#zaak-aan >> xpath=ancestor::form >> button:has-text('Overdragen')")
    page.wait_for_selector("text=De zaak is overgedragen aan Kees Collega")
    history = page.inner_text("#verantwoordelijke .handovers")
    assert "toegewezen door Test leidinggevende" in history and "Pim is ziek" in history
    assert _responsible(services, case_id) == "kees"
    assert [e.actor for e in audit_rows(services, action="task.handover")] == ["leidinggevende"]
    assert not page.problems
