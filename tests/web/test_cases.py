"""Starting a case and reading its file: timeline, milestones, open tasks and deadlines, the diagram's data."""
from __future__ import annotations

import json
import re

import pytest

from .conftest import audit_rows, login, open_task, start_case, user_of


def _start(client, token, **fields):
    data = {"csrf_token": token, "client_ref": "CL-4242", "aanleiding": "Kind vertelt over slaan",
            "levensbedreigend": "nee", **fields}
    return client.post("/zaken/nieuw", data=data)


def test_starting_a_case_opens_its_first_step_for_the_professional(client, services):
    token = login(client, "professional")
    response = _start(client, token)
    assert response.status_code == 302
    [case] = services.cases.list_cases()
    assert (case.client_ref, case.team, case.started_by) == ("CL-4242", "noord", "professional")
    task = open_task(services, case.id)
    assert response.location == f"/taken/{task.id}" and task.element_id == "stap1"
    assert "De meldcode is gestart voor cliënt CL-4242" in client.get(response.location).text


def test_stap_0_applies_when_the_situation_is_life_threatening(client, services):
    token = login(client, "professional")
    _start(client, token, levensbedreigend="ja")
    [case] = services.cases.list_cases()
    assert open_task(services, case.id).element_id == "stap0"


@pytest.mark.parametrize("client_ref", ["Jan Jansen", "jansen", "", "AB", "x" * 41])
def test_the_client_reference_must_be_a_pseudonym(client, services, client_ref):
    token = login(client, "professional")
    response = _start(client, token, client_ref=client_ref)
    assert response.status_code == 422
    assert "nooit een naam" in response.text or "Vul het cliëntkenmerk in" in response.text
    assert 'Kind vertelt over slaan</textarea>' in response.text  # the other answers are kept
    assert services.cases.list_cases() == []


def test_the_start_form_asks_every_question(client, services):
    token = login(client, "professional")
    response = _start(client, token, aanleiding="", levensbedreigend="")
    assert response.status_code == 422
    assert "Beschrijf kort de aanleiding" in response.text and "levensbedreigende situatie" in response.text


def test_an_undeployed_process_is_explained_not_hidden(make_app, web_settings):
    from web.auth import service as accounts

    app = make_app(web_settings.replace(start_process="niet_gedeployed"))
    services = app.extensions["meldcode"]
    services.deploy_error = "processes: no .bpmn file to deploy"
    accounts.create_user(services.sessions, "professional", "correct horse battery", ["professional"], "noord")
    client = app.test_client()
    token = login(client, "professional")
    assert "Het proces kon niet worden gedeployed" in client.get("/").text  # on every page
    response = _start(client, token)
    assert response.status_code == 422
    assert "niet_gedeployed" in response.text and "niet gedeployed" in response.text
    assert "no .bpmn file to deploy" in response.text


def test_the_case_file_shows_timeline_milestones_open_tasks_and_diagram(app, services):
    case_id = start_case(services, client_ref="CL-7007")
    professional = user_of(services, "professional").actor
    services.cases.complete_task(open_task(services, case_id).id, professional,
                                 {"signalen": "Blauwe plek", "betreft_beroepskracht": False, "zorg": "hoog",
                                  "datum_signalering": "2026-02-03", "besproken_met": ["Mentor"]})
    af = user_of(services, "aandachtsfunctionaris").actor
    services.cases.complete_task(open_task(services, case_id).id, af,
                                 {"geraadpleegd": "Aandachtsfunctionaris", "advies": "Wegen",
                                  "advies_veilig_thuis": False})
    services.cases.complete_task(open_task(services, case_id).id, professional,
                                 {"vermoeden": True, "toelichting": "Structureel"})
    client = app.test_client()
    login(client, "professional")
    page = client.get(f"/zaken/{case_id}").text
    # timeline: who, when, what (with the form's labels and Dutch values)
    assert page.index("Stap 1: signalen in kaart brengen") < page.index("Stap 2: collegiale consultatie")
    assert "door Test aandachtsfunctionaris" in page  # people by their full name, never their user id
    assert "door aandachtsfunctionaris" not in page and "Gestart door Test professional" in page
    assert f"zaak #{case_id} · Noord</p>" in page  # the team as people read it
    assert "<dt>Signalen (feitelijk)</dt>" in page and "Blauwe plek" in page
    assert "<dt>Betreft het geweld door een collega-professional?</dt>\n          <dd>Nee</dd>" in page
    assert "3 februari 2026" in page and "<li>Mentor</li>" in page
    assert "Ernstige zorg" in page  # a choice is shown with its label, not its code
    # milestones and status
    assert 'data-milestone="melding_veilig_thuis"' in page and "Melding gedaan bij Veilig Thuis" in page
    # the deadline that now runs, named after its task
    assert re.search(r"termijn bij ‘Terugkoppeling Veilig Thuis vastleggen’ — uiterlijk \d\d-\d\d-\d{4}", page)
    # the diagram's data for bpmn-js
    data = json.loads(re.search(r'<script type="application/json" id="diagram-data">(.*?)</script>', page,
                                re.S).group(1))
    assert "stap1" in data["completed"] and sorted(data["active"]) == ["terugkoppeling", "tmr_terugkoppeling"]
    assert "bpmn-navigated-viewer.production.min.js" in page
    # the source is not in the page: the browser fetches it from the address the page names, and keeps it
    assert "<bpmn:definitions" not in page and "xml" not in data
    source = client.get(data["src"])
    assert source.status_code == 200 and source.mimetype == "application/xml"
    assert "<bpmn:definitions" in source.text and 'id="stap1"' in source.text


def test_the_case_file_shows_the_current_step_with_its_deadline(app, services):
    case_id = start_case(services, client_ref="CL-8008")
    client = app.test_client()
    login(client, "professional")
    page = client.get(f"/zaken/{case_id}").text
    task = open_task(services, case_id)
    assert f'<a href="/taken/{task.id}"><strong>Stap 1: signalen in kaart brengen</strong></a>' in page
    assert re.search(r'class="due[^"]*"[^>]*>(over \d+ dagen|morgen|vandaag)', page)
    data = json.loads(re.search(r'id="diagram-data">(.*?)</script>', page, re.S).group(1))
    assert data["active"] == ["stap1"] and "start" in data["completed"]
    assert len(audit_rows(services, action="case.view")) == 1


def test_the_case_file_escapes_what_people_typed(app, services):
    case_id = start_case(services, client_ref="CL-9009")
    services.cases.complete_task(open_task(services, case_id).id, user_of(services, "professional").actor,
                                 {"signalen": "<script>alert('x')</script></script>", "betreft_beroepskracht": False,
                                  "zorg": "laag", "datum_signalering": "2026-02-03"})
    client = app.test_client()
    login(client, "professional")
    page = client.get(f"/zaken/{case_id}").text
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page


# -- case events (contract.md "Case events") on the test diagram: they interrupt the wait for feedback ------
def _following(services, client_ref="CL-6006") -> int:
    """A case after its melding, waiting for Veilig Thuis' feedback (where the test diagram takes events)."""
    case_id = start_case(services, client_ref=client_ref)
    professional = user_of(services, "professional").actor
    services.cases.complete_task(open_task(services, case_id).id, professional,
                                 {"signalen": "Blauwe plek", "betreft_beroepskracht": False, "zorg": "hoog",
                                  "datum_signalering": "2026-02-03"})
    services.cases.complete_task(open_task(services, case_id).id, user_of(services, "aandachtsfunctionaris").actor,
                                 {"geraadpleegd": "Aandachtsfunctionaris", "advies": "Wegen",
                                  "advies_veilig_thuis": False})
    services.cases.complete_task(open_task(services, case_id).id, professional,
                                 {"vermoeden": True, "toelichting": "Structureel"})
    return case_id


def _buttons(page: str) -> list[str]:
    return re.findall(r'data-event="([a-z_]+)">', page)


def test_the_case_file_offers_the_events_the_case_can_take_now(app, services):
    waiting, early = _following(services), start_case(services, client_ref="CL-6007")
    client = app.test_client()
    login(client, "professional")
    page = client.get(f"/zaken/{waiting}").text
    assert _buttons(page) == ["nieuwe_signalen", "hulp_geweigerd", "verhuisd"]
    for label in ("Nieuwe signalen vastleggen", "Cliënt weigert hulp", "Cliënt is verhuisd"):
        assert label in page
    assert _buttons(client.get(f"/zaken/{early}").text) == []  # not in follow-up yet
    other = app.test_client()
    login(other, "aandachtsfunctionaris")  # reads the case file, but the events are the professional's
    assert _buttons(other.get(f"/zaken/{waiting}").text) == []


def test_raising_an_event_through_its_form(app, services):
    case_id = _following(services)
    client = app.test_client()
    token = login(client, "professional")
    form = client.get(f"/zaken/{case_id}/gebeurtenis/verhuisd")
    assert form.status_code == 200 and "Naar welke gemeente?" in form.text and 'name="csrf_token"' in form.text
    assert client.post(f"/zaken/{case_id}/gebeurtenis/verhuisd",
                       data={"nieuwe_gemeente": "Utrecht", "toestemming_overdracht": "ja"}).status_code == 400
    wrong = client.post(f"/zaken/{case_id}/gebeurtenis/verhuisd", data={"csrf_token": token, "nieuwe_gemeente": ""})
    assert wrong.status_code == 422 and "Dit veld is verplicht." in wrong.text
    assert services.cases.case(case_id, user_of(services, "professional").actor).status == "running"
    done = client.post(f"/zaken/{case_id}/gebeurtenis/verhuisd",
                       data={"csrf_token": token, "nieuwe_gemeente": "Utrecht", "toestemming_overdracht": "ja"})
    assert done.status_code == 302 and done.location == f"/zaken/{case_id}"
    page = client.get(done.location).text
    assert "‘Cliënt is verhuisd’ is vastgelegd" in page and "Melding bij Veilig Thuis in de nieuwe regio" in page
    assert "De meldcode is voor deze cliënt afgerond" in page and _buttons(page) == []
    timeline = page[page.index('id="tijdlijn-kop"'):]  # the event is in the case's history, with its answers
    assert "<h3>Verhuisd</h3>" in timeline and "<dt>Naar welke gemeente?</dt>" in timeline and "Utrecht" in timeline
    info = services.cases.case(case_id, user_of(services, "professional").actor)
    assert info.status == "completed" and info.variables["nieuwe_gemeente"] == "Utrecht"
    assert [r.outcome for r in audit_rows(services, action="case.event")] == ["success"]


def test_an_event_that_opens_a_task_leads_to_it(app, services):
    case_id = _following(services)
    client = app.test_client()
    token = login(client, "professional")
    done = client.post(f"/zaken/{case_id}/gebeurtenis/nieuwe_signalen",
                       data={"csrf_token": token, "nieuwe_signalen_beschrijving": "Nieuwe blauwe plek"})
    task = open_task(services, case_id)
    assert task.element_id == "afweging5" and done.location == f"/taken/{task.id}"
    page = client.get(done.location).text
    assert "Volgende stap: ‘Afweging 5: duurzame veiligheid?’" in page
    # what the case already knows (the toelichting of Stap 4) is filled in, not asked again
    assert 'name="toelichting" rows="6" >\nStructureel</textarea>' in page


def test_an_event_the_case_cannot_take_is_refused_and_changes_nothing(app, services):
    case_id = start_case(services, client_ref="CL-6008")  # Stap 1: not in follow-up
    client = app.test_client()
    token = login(client, "professional")
    page = client.get(f"/zaken/{case_id}/gebeurtenis/hulp_geweigerd")
    assert page.status_code == 409 and "kan nu niet voor deze zaak" in page.text
    posted = client.post(f"/zaken/{case_id}/gebeurtenis/hulp_geweigerd", data={"csrf_token": token})
    assert posted.status_code == 409
    assert open_task(services, case_id).element_id == "stap1"
    assert client.get(f"/zaken/{case_id}/gebeurtenis/bestaat_niet").status_code == 404


def test_events_of_another_lane_or_team_are_refused_and_audited(app, services):
    case_id = _following(services)
    for username in ("aandachtsfunctionaris", "zuid"):
        client = app.test_client()
        token = login(client, username)
        assert client.post(f"/zaken/{case_id}/gebeurtenis/verhuisd", data={"csrf_token": token}).status_code == 403
    assert [r.outcome for r in audit_rows(services, action="case.event")] == ["denied", "denied"]
    assert services.cases.case(case_id, user_of(services, "professional").actor).status == "running"


def test_the_api_raises_events(app, services):
    case_id, early = _following(services), start_case(services, client_ref="CL-6009")
    client = app.test_client()
    token = login(client, "professional")
    headers = {"X-CSRFToken": token}
    assert [e["name"] for e in client.get(f"/api/cases/{case_id}/events").json["events"]] == \
        ["nieuwe_signalen", "hulp_geweigerd", "verhuisd"]
    refused = client.post(f"/api/cases/{early}/events/hulp_geweigerd", json={}, headers=headers)
    assert refused.status_code == 409 and refused.json["error"] == "event_not_available"
    assert "niets gewijzigd" in refused.json["message"] and "cannot take the event 'hulp_geweigerd'" in \
        refused.json["message"]
    invalid = client.post(f"/api/cases/{case_id}/events/verhuisd", json={"nieuwe_gemeente": 3}, headers=headers)
    assert invalid.status_code == 422 and set(invalid.json["errors"]) == {"nieuwe_gemeente", "toestemming_overdracht"}
    assert client.post(f"/api/cases/{case_id}/events/onbekend", json={}, headers=headers).status_code == 404
    done = client.post(f"/api/cases/{case_id}/events/hulp_geweigerd", json={}, headers=headers)
    assert done.status_code == 200
    assert (done.json["status"], done.json["milestones"]) == ("running", ["melding_veilig_thuis"])
    assert done.json["available_events"] == ["nieuwe_signalen", "hulp_geweigerd", "verhuisd"]  # waiting again
    other = app.test_client()
    other_token = login(other, "zuid")
    assert other.post(f"/api/cases/{case_id}/events/verhuisd", json={}, headers={"X-CSRFToken": other_token}) \
        .status_code == 403


def test_a_date_time_answer_is_shown_as_people_read_it(app, services):
    case_id = _following(services)
    services.cases.raise_event(case_id, "hulp_geweigerd", user_of(services, "professional").actor, {})
    task = open_task(services, case_id)
    services.cases.complete_task(task.id, user_of(services, "professional").actor, {"vt_terugkoppeling_ontvangen": True})
    from engine.models import CaseTask

    with services.sessions.begin() as session:  # an answer as a date-time field stores it
        session.get(CaseTask, task.id).data = {"gemeld_op": "2027-01-11T09:30:00+01:00"}
    client = app.test_client()
    login(client, "professional")
    page = client.get(f"/zaken/{case_id}").text
    assert "11-01-2027 09:30" in page and "2027-01-11T09:30" not in page


def test_a_process_versions_diagram_is_kept_by_the_browser_and_only_for_case_readers(app, services):
    case_id = start_case(services, client_ref="CL-7017")
    client = app.test_client()
    assert client.get("/zaken/diagram/meldcode/1.bpmn").status_code == 302  # to the sign-in page
    login(client, "professional")
    src = json.loads(re.search(r'id="diagram-data">(.*?)</script>', client.get(f"/zaken/{case_id}").text,
                               re.S).group(1))["src"]
    first = client.get(src)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    assert first.headers["ETag"] and "<bpmn:definitions" in first.text
    again = client.get(src, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    # without the content hash the address may answer another version's content later: asked again each time
    plain = client.get(src.split("?")[0])
    assert plain.status_code == 200 and plain.headers["Cache-Control"] == "private, no-cache"
    assert client.get("/zaken/diagram/meldcode/99.bpmn").status_code == 404
    assert client.get("/zaken/diagram/bestaat-niet/1.bpmn").status_code == 404
    other = app.test_client()
    login(other, "logbeheerder")  # reads no case files, so no diagrams either
    assert other.get(src).status_code == 403
    # the case file itself, with its positions, is still never kept
    assert client.get(f"/zaken/{case_id}").headers["Cache-Control"] == "no-store"


def test_a_long_case_file_shows_its_latest_steps_and_all_on_request(app, services):
    """A case monitored for years has hundreds of steps and notes: its page shows the latest 50 steps and 20 notes
    (574 KB and 60-117 ms for 400 steps and 150 notes at a million cases, docs/performance.md), and a milestone
    reached again and again once; everything is one link away and in the dossier."""
    from datetime import timedelta

    from engine import clock
    from engine.models import CaseMilestone, CaseNote, CaseTask

    case_id = start_case(services, client_ref="CL-7070")
    start = clock.now() - timedelta(days=400)
    with services.sessions.begin() as session:
        session.add_all([CaseNote(case_id=case_id, author="professional", created_at=start + timedelta(days=n),
                                  kind="aantekening", text=f"Aantekening {n}") for n in range(25)])
        session.add_all([CaseMilestone(case_id=case_id, seq=100 + n, name="melding_veilig_thuis", element_id="m",
                                       reached_at=start + timedelta(days=n)) for n in range(3)])
        session.add_all([CaseTask(case_id=case_id, spiff_task_id=f"oud-{n}", element_id="stap1", name=f"Evaluatie {n}",
                                  lane="professional", form="stap1.json", state="completed", completed_by="professional",
                                  created_at=start + timedelta(days=n), ended_at=start + timedelta(days=n, hours=1),
                                  data={"zorg": "hoog"}) for n in range(60)])
    client = app.test_client()
    login(client, "professional")
    page = client.get(f"/zaken/{case_id}").text
    shown = re.findall(r"<h3>Evaluatie (\d+)</h3>", page)
    assert shown == [str(n) for n in range(10, 60)]  # the latest 50, oldest first
    assert "Ernstige zorg" in page  # with the form's labels
    assert f'href="/zaken/{case_id}?tijdlijn=alles#tijdlijn-kop">Alle 60 stappen tonen</a> (ook de 10 eerdere)' in page
    # the latest 20 notes, a milestone reached again and again on one line
    assert re.findall(r'<p class="pre">Aantekening (\d+)</p>', page) == [str(n) for n in range(5, 25)]
    assert f'href="/zaken/{case_id}?aantekeningen=alle#aantekeningen">Alle 25 aantekeningen tonen</a>' in page
    assert page.count('data-milestone="melding_veilig_thuis"') == 1 and "(3 keer)" in page
    whole = client.get(f"/zaken/{case_id}?tijdlijn=alles").text
    assert re.findall(r"<h3>Evaluatie (\d+)</h3>", whole) == [str(n) for n in range(60)]
    assert "stappen tonen" not in whole
    notes = client.get(f"/zaken/{case_id}?aantekeningen=alle").text
    assert re.findall(r'<p class="pre">Aantekening (\d+)</p>', notes) == [str(n) for n in range(25)]
    dossier = client.get(f"/zaken/{case_id}/dossier").text
    assert "Evaluatie 0" in dossier and "Aantekening 0" in dossier
