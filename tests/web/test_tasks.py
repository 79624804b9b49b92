"""The task page: the form from its JSON Schema beside the instructions, validation that keeps every answer,
claims that lock a task, and a clear message for the second of two people submitting the same task."""
from __future__ import annotations

import re

from .conftest import STAP1_ANSWERS, login, open_task, start_case, user_of


def _stap1(app, services, username="professional"):
    case_id = start_case(services)
    task = open_task(services, case_id, "stap1")
    client = app.test_client()
    token = login(client, username)
    return client, token, task


def test_the_form_shows_every_kind_of_field_beside_the_instructions(app, services):
    client, _, task = _stap1(app, services)
    page = client.get(f"/taken/{task.id}").text
    assert '<textarea id="veld-signalen" name="signalen"' in page  # long text
    assert 'type="text" id="veld-bron" name="bron"' in page  # short text
    assert 'name="betreft_beroepskracht" value="ja"' in page and 'name="betreft_beroepskracht" value="nee"' in page
    assert 'name="zorg" value="hoog"' in page and "Ernstige zorg" in page  # choice with its Dutch labels
    assert 'type="date" id="veld-datum_signalering"' in page
    assert 'name="besproken_met"' in page and "Eén punt per regel" in page  # list
    assert "Wat zag of hoorde u, wanneer en waar?" in page  # description
    assert "<strong>gezien</strong>" in page  # instructions rendered from Markdown
    assert "<script>alert(1)</script>" not in page  # ... without raw HTML
    assert "Beschrijf feiten" in page  # the step's documentation
    assert "Vastleggen en afronden" in page


def test_validation_errors_are_shown_per_field_and_every_answer_is_kept(app, services):
    client, token, task = _stap1(app, services)
    answers = {**STAP1_ANSWERS, "signalen": "   ", "betreft_beroepskracht": "", "datum_signalering": "31-02-2026"}
    response = client.post(f"/taken/{task.id}", data={"csrf_token": token, **answers})
    assert response.status_code == 422
    page = response.text
    assert re.search(r'id="veld-signalen-fout"><span>Dit veld is verplicht', page)
    assert re.search(r'id="veld-betreft_beroepskracht-fout"><span>Dit veld is verplicht', page)
    assert re.search(r'id="veld-datum_signalering-fout"><span>Vul een geldige datum in', page)
    assert 'value="De buurvrouw"' in page  # short text kept
    assert ">\nMentor\nIntern begeleider</textarea>" in page  # list kept
    assert 'name="zorg" value="hoog" required checked' in page  # choice kept
    assert 'value="31-02-2026"' in page  # even the wrong date is shown as typed
    assert "Controleer deze antwoorden" in page  # summary at the top, linking to the fields
    assert open_task(services, task.case_id).id == task.id  # nothing moved


def test_dutch_dates_are_accepted_too(app, services):
    client, token, task = _stap1(app, services)
    response = client.post(f"/taken/{task.id}", data={"csrf_token": token, **STAP1_ANSWERS,
                                                      "datum_signalering": "3-2-2026"})
    assert response.status_code == 302
    [done] = services.cases.case(task.case_id, user_of(services, "professional").actor).history
    assert done["data"]["datum_signalering"] == "2026-02-03"
    assert done["data"]["besproken_met"] == ["Mentor", "Intern begeleider"]
    assert done["data"]["betreft_beroepskracht"] is False


def test_submitting_moves_the_case_and_returns_to_the_inbox_with_a_confirmation(app, services):
    client, token, task = _stap1(app, services)
    response = client.post(f"/taken/{task.id}", data={"csrf_token": token, **STAP1_ANSWERS})
    assert response.status_code == 302 and response.location == f"/?zaak={task.case_id}"
    inbox = client.get(response.location).text
    assert "Stap ‘Stap 1: signalen in kaart brengen’ is afgerond" in inbox
    assert "Volgende stap: ‘Stap 2: collegiale consultatie’ (Aandachtsfunctionaris)" in inbox
    assert open_task(services, task.case_id).element_id == "stap2"


def test_the_second_of_two_submissions_gets_a_clear_message_and_keeps_its_answers(app, services):
    client, token, task = _stap1(app, services)
    colleague = app.test_client()
    colleague_token = login(colleague, "professional")
    assert colleague.get(f"/taken/{task.id}").status_code == 200  # both have the form open
    first = client.post(f"/taken/{task.id}", data={"csrf_token": token, **STAP1_ANSWERS})
    assert first.status_code == 302
    second = colleague.post(f"/taken/{task.id}", data={"csrf_token": colleague_token, **STAP1_ANSWERS,
                                                       "signalen": "Mijn eigen waarnemingen"})
    assert second.status_code == 409
    assert "Deze stap is al afgerond door u" in second.text  # both test users are 'professional'
    assert "Uw antwoorden zijn níet opgeslagen" in second.text
    assert "Mijn eigen waarnemingen" in second.text  # nothing is lost: shown to copy
    assert "Vastleggen en afronden" not in second.text
    history = services.cases.case(task.case_id, user_of(services, "professional").actor).history
    assert [h["data"]["signalen"] for h in history] == [STAP1_ANSWERS["signalen"]]


def test_a_claimed_task_is_locked_to_its_claimer(app, services):
    from web.auth import service as accounts

    accounts.create_user(services.sessions, "collega", "correct horse battery", ["professional"], "noord")
    client, token, task = _stap1(app, services)
    assert client.post(f"/taken/{task.id}/claimen", data={"csrf_token": token}).status_code == 302
    other = app.test_client()
    other_token = login(other, "collega")
    page = other.get(f"/taken/{task.id}").text
    assert "Opgepakt door <strong>Test professional</strong>" in page and "Vastleggen en afronden" not in page
    assert ">Test professional</span>" in other.get("/").text  # the inbox says who holds it, by name
    refused = other.post(f"/taken/{task.id}", data={"csrf_token": other_token, **STAP1_ANSWERS})
    assert refused.status_code == 409 and "geclaimd door Test professional" in refused.text
    assert "Blauwe plek" in refused.text
    steal = other.post(f"/taken/{task.id}/claimen", data={"csrf_token": other_token}, follow_redirects=True)
    assert "al geclaimd door Test professional" in steal.text
    client.post(f"/taken/{task.id}/vrijgeven", data={"csrf_token": token})
    assert other.post(f"/taken/{task.id}", data={"csrf_token": other_token, **STAP1_ANSWERS}).status_code == 302


def test_claim_returns_to_a_local_page_only(app, services):
    client, token, task = _stap1(app, services)
    back = client.post(f"/taken/{task.id}/claimen", data={"csrf_token": token, "next": "https://evil.example/"})
    assert back.location == f"/taken/{task.id}"
    back = client.post(f"/taken/{task.id}/vrijgeven", data={"csrf_token": token, "next": "/?filter=mijn"})
    assert back.location == "/?filter=mijn"


def test_the_inbox_puts_overdue_tasks_first_and_filters(app, services):
    from datetime import timedelta

    from engine import clock

    client, token, task = _stap1(app, services)
    with clock.frozen_at(clock.now() - timedelta(days=10)):
        old = open_task(services, start_case(services, client_ref="CL-OUD1"))
    page = client.get("/").text
    assert page.index("CL-OUD1") < page.index("CL-1001")
    assert 'class="row-overdue' in page and "dagen te laat" in page
    overdue = client.get("/?filter=te_laat").text
    assert "CL-OUD1" in overdue and "CL-1001" not in overdue
    client.post(f"/taken/{old.id}/claimen", data={"csrf_token": token})
    mine = client.get("/?filter=mijn").text
    assert "CL-OUD1" in mine and "CL-1001" not in mine


def test_reminders_are_shown_in_the_inbox_and_can_be_marked_read(app, services):
    from engine import clock, notifications

    client, token, task = _stap1(app, services)
    with services.sessions.begin() as session:
        [reminder_id] = notifications.create(session, [notifications.NewNotification(
            task.case_id, task.id, notifications.REMINDER_BEFORE, "professional", "professional")],
            clock.now(), mail=False)
    page = client.get("/").text
    assert 'id="meldingen"' in page and "moet uiterlijk" in page and "CL-1001" in page
    assert f'href="/taken/{task.id}">Open de taak' in page
    case_page = client.get(f"/zaken/{task.case_id}").text
    assert "Herinneringen en escalaties" in case_page and "niet verstuurd" in case_page
    other = app.test_client()
    other_token = login(other, "zuid")
    other.post(f"/meldingen/{reminder_id}/gelezen", data={"csrf_token": other_token})  # not theirs: no effect
    assert "moet uiterlijk" in client.get("/").text
    client.post(f"/meldingen/{reminder_id}/gelezen", data={"csrf_token": token})
    assert "moet uiterlijk" not in client.get("/").text


def test_the_inbox_shows_whatever_the_notification_provider_gives(app, services):
    from web.services import Notification

    services.notifications = lambda user: [Notification(f"Herinnering voor {user.username}", "warning", task_id=7)]
    client = app.test_client()
    login(client, "professional")
    page = client.get("/").text
    assert 'id="meldingen"' in page and "Herinnering voor professional" in page and 'href="/taken/7"' in page


def test_a_completed_task_page_says_who_did_it(app, services):
    client, token, task = _stap1(app, services)
    client.post(f"/taken/{task.id}", data={"csrf_token": token, **STAP1_ANSWERS})
    page = client.get(f"/taken/{task.id}")
    assert page.status_code == 200 and "Deze stap is al afgerond door u" in page.text
    assert "Vastleggen en afronden" not in page.text


def test_when_the_next_step_is_mine_the_confirmation_links_to_it(app, services):
    case_id = start_case(services, levensbedreigend=True)
    stap0 = open_task(services, case_id, "stap0")
    client = app.test_client()
    token = login(client, "professional")
    response = client.post(f"/taken/{stap0.id}", data={"csrf_token": token, "aanleiding": "x",
                                                      "acute_acties": "112 gebeld"},
                           follow_redirects=True)
    stap1 = open_task(services, case_id, "stap1")
    assert "Bereikt: Acute actie ondernomen (Stap 0)" in response.text
    assert f'<a class="next-step" href="/taken/{stap1.id}">Ga verder met ‘Stap 1: signalen in kaart brengen’' \
        in response.text


def test_what_was_said_at_the_start_is_filled_in_not_asked_again(app, services):
    """A step asking `aanleiding` (like Stap 0 of the meldcode) shows the start form's answer, ready to confirm."""
    case_id = start_case(services, levensbedreigend=True)  # aanleiding "test"
    stap0 = open_task(services, case_id, "stap0")
    client = app.test_client()
    login(client, "professional")
    page = client.get(f"/taken/{stap0.id}").text
    assert 'name="aanleiding" rows="6" required >\ntest</textarea>' in page
