"""Drafts on the task page: the "Concept opslaan" button (a plain form post), autosave (static/drafts.js, in
Chromium), the draft coming back for its author only, and gone once the step is completed."""
from __future__ import annotations

from .axe import assert_accessible
from .conftest import audit_rows, csrf_from, login, open_task, start_case
from .test_browser import screenshot, sign_in

HALF = {"signalen": "Kind vertelt over ruzie thuis (concept)", "bron": "", "zorg": "hoog",
        "datum_signalering": "31-13-2026"}


def _post_draft(client, token, task_id, data, **kwargs):
    return client.post(f"/taken/{task_id}/concept", data={"csrf_token": token, **data}, **kwargs)


def test_the_button_saves_a_draft_that_comes_back_for_its_author_only(app, services):
    case_id = start_case(services)
    task = open_task(services, case_id, "stap1")
    client = app.test_client()
    token = login(client, "professional")
    response = _post_draft(client, token, task.id, HALF)
    assert response.status_code == 303 and response.location.startswith(f"/taken/{task.id}")
    page = client.get(f"/taken/{task.id}").text
    assert "Concept opgeslagen om" in page and "U ziet uw concept van" in page
    assert "Kind vertelt over ruzie thuis (concept)" in page
    assert 'value="31-13-2026"' in page  # kept as typed, even though it is no date
    assert 'name="zorg" value="hoog" required checked' in page
    assert "Concept verwijderen" in page
    # Not in the dossier: neither in the timeline nor in the case's variables.
    dossier = client.get(f"/zaken/{case_id}").text
    assert "ruzie thuis" not in dossier
    assert "ruzie thuis" not in repr(services.cases.case(case_id, _actor(services, "professional")).variables)
    assert [e.action for e in audit_rows(services, task_id=task.id) if e.action.startswith("task.draft")] == [
        "task.draft.save", "task.draft.view"]


def test_a_colleague_sees_the_form_without_my_draft(app, services):
    from web.auth import service as accounts

    from .conftest import PASSWORD, TEAM

    accounts.create_user(services.sessions, "collega", PASSWORD, ["professional"], TEAM)
    case_id = start_case(services)
    task = open_task(services, case_id, "stap1")
    mine = app.test_client()
    _post_draft(mine, login(mine, "professional"), task.id, HALF)
    theirs = app.test_client()
    login(theirs, "collega")
    page = theirs.get(f"/taken/{task.id}").text
    assert "ruzie thuis" not in page and "U ziet uw concept" not in page and "Concept verwijderen" not in page


def test_autosave_answers_in_json_and_refuses_bad_text(app, services):
    case_id = start_case(services)
    task = open_task(services, case_id, "stap1")
    client = app.test_client()
    token = login(client, "professional")
    ok = _post_draft(client, token, task.id, {"signalen": "Getypt"}, headers={"Accept": "application/json"})
    assert ok.status_code == 200 and ok.json["saved"] is True and "Concept opgeslagen" in ok.json["message"]
    bad = _post_draft(client, token, task.id, {"signalen": "a\x01b"}, headers={"Accept": "application/json"})
    assert bad.status_code == 422 and bad.json["saved"] is False and "signalen" in bad.json["errors"]
    plain = _post_draft(client, token, task.id, {"signalen": "a\x01b"})
    assert plain.status_code == 422 and "níet opgeslagen" in plain.text and "stuurteken" in plain.text
    assert "Getypt" in client.get(f"/taken/{task.id}").text  # the bad save changed nothing
    # Without the CSRF token nothing is saved.
    assert client.post(f"/taken/{task.id}/concept", data={"signalen": "x"}).status_code == 400


def test_a_draft_is_refused_to_another_team_and_gone_after_completion(app, services):
    case_id = start_case(services)
    task = open_task(services, case_id, "stap1")
    stranger = app.test_client()
    assert _post_draft(stranger, login(stranger, "zuid"), task.id, HALF).status_code == 403
    client = app.test_client()
    token = login(client, "professional")
    _post_draft(client, token, task.id, HALF)
    done = client.post(f"/taken/{task.id}", data={
        "csrf_token": token, "signalen": "Definitief vastgelegd", "betreft_beroepskracht": "nee", "zorg": "laag",
        "datum_signalering": "2026-02-03"})
    assert done.status_code == 302
    from sqlalchemy import select

    from engine.models import TaskDraft

    with services.sessions() as session:
        assert session.scalars(select(TaskDraft)).all() == []
    page = client.get(f"/taken/{task.id}").text
    assert "ruzie thuis" not in page and "U ziet uw concept" not in page
    late = _post_draft(client, token, task.id, HALF)
    assert late.status_code == 303
    assert "deze taak staat niet meer open" in client.get(late.location).text


def test_a_draft_can_be_discarded(app, services):
    case_id = start_case(services)
    task = open_task(services, case_id, "stap1")
    client = app.test_client()
    token = login(client, "professional")
    _post_draft(client, token, task.id, HALF)
    page = client.get(f"/taken/{task.id}").text
    gone = client.post(f"/taken/{task.id}/concept/verwijderen", data={"csrf_token": csrf_from(page)})
    assert gone.status_code == 303
    page = client.get(gone.location).text
    assert "Uw concept is verwijderd" in page and "ruzie thuis" not in page


def _actor(services, username):
    from .conftest import user_of

    return user_of(services, username).actor


def test_a_professional_fills_half_of_stap_1_leaves_and_finds_it_again(app, services, live_server, page,
                                                                      database_url):
    """In Chromium: typing saves a draft by itself; the button saves too; both come back on a later visit."""
    case_id = start_case(services, client_ref="CL-CONCEPT-1")
    task = open_task(services, case_id, "stap1")
    sign_in(page, live_server, "professional")
    page.goto(f"{live_server}/taken/{task.id}")
    page.fill("#veld-signalen", "Blauwe plek op de wang, gezien bij het brengen.")
    page.check("input[name=zorg][value=midden]")
    # Autosave: a few seconds after the last change the status says it was saved.
    page.wait_for_selector("#concept-status:has-text('Concept opgeslagen om')")
    page.goto(f"{live_server}/")  # leave
    page.goto(f"{live_server}/taken/{task.id}")  # and come back
    assert page.input_value("#veld-signalen") == "Blauwe plek op de wang, gezien bij het brengen."
    assert page.is_checked("input[name=zorg][value=midden]")
    assert "U ziet uw concept" in page.inner_text("#concept-melding")

    # The button: a normal form post, the page comes back with the answers and a confirmation.
    page.fill("#veld-bron", "De moeder, bij het ophalen")
    page.click("button:has-text('Concept opslaan')")
    page.wait_for_selector(".banner.success:has-text('Concept opgeslagen om')")
    assert page.input_value("#veld-bron") == "De moeder, bij het ophalen"
    screenshot(page, "taak-concept", database_url)
    assert_accessible(page, "taak met concept")
    assert "Blauwe plek op de wang" not in services.cases.case(case_id, _actor(services, "professional")).__repr__()

    # Completing the step: the draft is gone, the answers are in the dossier.
    page.check("input[name=betreft_beroepskracht][value=nee]")
    page.fill("#veld-datum_signalering", "2026-11-20")
    page.click("button:has-text('Vastleggen en afronden')")
    page.wait_for_selector("h1:has-text('Inbox')")
    from sqlalchemy import select

    from engine.models import TaskDraft

    with services.sessions() as session:
        assert session.scalars(select(TaskDraft)).all() == []
    assert page.problems == [], page.problems


def test_the_draft_button_works_without_javascript(browser, app, services, live_server):
    case_id = start_case(services, client_ref="CL-CONCEPT-NOJS")
    task = open_task(services, case_id, "stap1")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, live_server, "professional")
        page.goto(f"{live_server}/taken/{task.id}")
        page.fill("#veld-signalen", "Zonder JavaScript getypt")
        page.click("button:has-text('Concept opslaan')")
        page.wait_for_selector(".banner.success:has-text('Concept opgeslagen om')")
        page.goto(f"{live_server}/")
        page.goto(f"{live_server}/taken/{task.id}")
        assert page.input_value("#veld-signalen") == "Zonder JavaScript getypt"
    finally:
        context.close()
