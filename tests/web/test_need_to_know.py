"""Need-to-know: own team's cases, own lanes' tasks; everything else is one and the same 403, and audited."""
from __future__ import annotations

from .conftest import audit_rows, login, open_task, start_case, user_of


def test_another_teams_case_looks_exactly_like_a_missing_case(app, services):
    theirs = start_case(services, "zuid", client_ref="ZU-9001")
    client = app.test_client()
    login(client, "professional")
    other_team = client.get(f"/zaken/{theirs}")
    missing = client.get("/zaken/987654")
    assert other_team.status_code == missing.status_code == 403
    assert other_team.data == missing.data
    assert "ZU-9001" not in other_team.text
    assert {k: v for k, v in other_team.headers.items() if k != "Date"} == \
        {k: v for k, v in missing.headers.items() if k != "Date"}
    api_other, api_missing = client.get(f"/api/cases/{theirs}"), client.get("/api/cases/987654")
    assert api_other.status_code == api_missing.status_code == 403
    assert api_other.data == api_missing.data


def test_another_teams_task_looks_exactly_like_a_missing_task(app, services):
    theirs = open_task(services, start_case(services, "zuid", client_ref="ZU-9002"))
    client = app.test_client()
    token = login(client, "professional")
    for path in (f"/taken/{theirs.id}", "/taken/987654"):
        assert client.get(path).status_code == 403
    assert client.get(f"/taken/{theirs.id}").data == client.get("/taken/987654").data
    post = {"csrf_token": token, "signalen": "x"}
    assert client.post(f"/taken/{theirs.id}", data=post).data == client.post("/taken/987654", data=post).data
    assert open_task(services, theirs.case_id).state == "ready"  # untouched


def test_denied_attempts_are_audited_with_the_client_reference(app, services):
    theirs = start_case(services, "zuid", client_ref="ZU-9003")
    client = app.test_client()
    login(client, "professional")
    client.get(f"/zaken/{theirs}")
    client.get("/zaken/987654")
    denied = audit_rows(services, action="case.view", outcome="denied")
    assert [(e.actor, e.case_id, e.client_ref) for e in denied] == \
        [("professional", theirs, "ZU-9003"), ("professional", 987654, None)]
    assert all(e.at is not None and e.details["reason"] for e in denied)


def test_views_of_case_files_and_tasks_are_audited(app, services):
    case_id = start_case(services, "professional", client_ref="CL-5005")
    task = open_task(services, case_id)
    client = app.test_client()
    login(client, "professional")
    assert client.get(f"/zaken/{case_id}").status_code == 200
    assert client.get(f"/taken/{task.id}").status_code == 200
    [case_view] = audit_rows(services, action="case.view", outcome="success")
    [task_view] = audit_rows(services, action="task.view", outcome="success")
    for event in (case_view, task_view):
        assert (event.actor, event.client_ref, event.case_id) == ("professional", "CL-5005", case_id)
    assert task_view.task_id == task.id


def test_changes_are_audited(app, services):
    client = app.test_client()
    token = login(client, "professional")
    client.post("/zaken/nieuw", data={"csrf_token": token, "client_ref": "CL-6006", "aanleiding": "zorgen",
                                      "levensbedreigend": "nee"})
    [start] = audit_rows(services, action="case.start")
    task = open_task(services, start.case_id)
    client.post(f"/taken/{task.id}/claimen", data={"csrf_token": token})
    client.post(f"/taken/{task.id}", data={"csrf_token": token, "signalen": "feiten", "betreft_beroepskracht": "nee",
                                           "zorg": "midden", "datum_signalering": "2026-03-02"})
    actions = [(e.action, e.actor, e.client_ref) for e in audit_rows(services, case_id=start.case_id)]
    assert ("case.start", "professional", "CL-6006") in actions
    assert ("task.claim", "professional", "CL-6006") in actions
    assert ("task.complete", "professional", "CL-6006") in actions


def test_a_role_without_case_access_is_refused_even_in_its_own_team(app, services):
    case_id = start_case(services, "professional")
    client = app.test_client()
    login(client, "procesbeheerder")
    assert client.get(f"/zaken/{case_id}").status_code == 403
    assert client.get("/zaken").status_code == 403
    [event] = audit_rows(services, action="case.view", outcome="denied")
    assert event.actor == "procesbeheerder"


def test_the_inbox_lists_only_my_lanes_in_my_team(app, services):
    mine = start_case(services, "professional", client_ref="CL-1111")
    start_case(services, "zuid", client_ref="ZU-2222")
    client = app.test_client()
    login(client, "professional")
    page = client.get("/").text
    assert "CL-1111" in page and "ZU-2222" not in page
    login(other := app.test_client(), "aandachtsfunctionaris")
    assert "CL-1111" not in other.get("/").text  # Stap 1 is the professional's
    api = client.get("/api/tasks").json["tasks"]
    assert [t["case_id"] for t in api] == [mine]


def test_the_case_list_shows_only_my_team(app, services):
    start_case(services, "professional", client_ref="CL-3333")
    start_case(services, "zuid", client_ref="ZU-4444")
    client = app.test_client()
    login(client, "leidinggevende")
    page = client.get("/zaken").text
    assert "CL-3333" in page and "ZU-4444" not in page
    assert [c["client_ref"] for c in client.get("/api/cases").json["cases"]] == ["CL-3333"]


def test_a_team_member_without_the_lane_can_read_the_case_but_not_work_on_the_task(app, services):
    case_id = start_case(services, "professional")
    task = open_task(services, case_id)
    client = app.test_client()
    token = login(client, "leidinggevende")
    page = client.get(f"/zaken/{case_id}")
    assert page.status_code == 200
    assert f'href="/taken/{task.id}"' not in page.text  # shown, not linked
    assert client.get(f"/taken/{task.id}").status_code == 403
    assert client.post(f"/taken/{task.id}/claimen", data={"csrf_token": token}).status_code == 403
    assert user_of(services, "leidinggevende").team == "noord"
