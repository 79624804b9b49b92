"""The beheerder's process-instance console (metadata only, audited actions with a reason) and monitoring."""
from __future__ import annotations

from datetime import UTC

from engine.oversight import Oversight
from engine.views import Actor

from .conftest import audit_rows, login, open_task, start_case, user_of

ANSWERS = {"signalen": "Blauwe plek op de arm", "betreft_beroepskracht": False, "zorg": "laag",
           "datum_signalering": "2026-01-05"}


def test_the_list_shows_every_team_without_client_data(app, services, client):
    own = start_case(services, "professional", client_ref="CL-GEHEIM-1")
    other = start_case(services, "zuid", client_ref="CL-GEHEIM-2")
    login(client, "beheerder")
    page = client.get("/beheer/zaken")
    assert page.status_code == 200
    assert f"#{own}" in page.text and f"#{other}" in page.text
    assert "CL-GEHEIM" not in page.text
    assert "zuid" in page.text and "noord" in page.text
    filtered = client.get("/beheer/zaken?team=zuid&status=running&proces=proef")
    assert f"#{other}" in filtered.text and f">#{own}<" not in filtered.text
    assert ">#" not in client.get("/beheer/zaken?status=terminated").text


def test_paging_continues_after_the_last_id(app, services, client):
    ids = [start_case(services, "professional", client_ref=f"CL-{i}") for i in range(52)]
    login(client, "beheerder")
    first = client.get("/beheer/zaken")
    assert f">#{ids[-1]}<" in first.text and f">#{ids[1]}<" not in first.text and 'rel="next"' in first.text
    second = client.get(f"/beheer/zaken?na={ids[2]}")
    assert f">#{ids[1]}<" in second.text and f">#{ids[0]}<" in second.text and 'rel="next"' not in second.text


def test_an_instance_page_shows_metadata_and_is_audited(app, services, client):
    case_id = start_case(services, "professional", client_ref="CL-META")
    task = open_task(services, case_id, "stap1")
    professional = user_of(services, "professional")
    services.cases.complete_task(task.id, professional.actor, ANSWERS)
    login(client, "beheerder")
    page = client.get(f"/beheer/zaken/{case_id}")
    assert page.status_code == 200
    assert "Blauwe plek" not in page.text and "CL-META" not in page.text  # never case content
    assert "professional" in page.text and "taak afgerond" in page.text  # history: who, which step
    assert 'id="diagram-data"' in page.text
    [viewed] = audit_rows(services, action="oversight.view")
    assert viewed.case_id == case_id and viewed.client_ref == "CL-META" and viewed.actor == "beheerder"
    assert client.get("/beheer/zaken/99999").status_code == 404


def test_actions_need_a_reason_and_are_audited(app, services, client):
    case_id = start_case(services, "professional")
    token = login(client, "beheerder")
    refused = client.post(f"/beheer/zaken/{case_id}/pauzeren", data={"csrf_token": token, "reden": " "},
                          follow_redirects=True)
    assert "Geef een reden op" in refused.text
    assert services.cases.case_progress(case_id)[0] == "running"
    done = client.post(f"/beheer/zaken/{case_id}/pauzeren", data={"csrf_token": token, "reden": "Controle"},
                       follow_redirects=True)
    assert "De zaak is gepauzeerd" in done.text and "Gepauzeerd" in done.text
    assert services.cases.case_progress(case_id)[0] == "suspended"
    # The professional cannot complete a task of the suspended case
    task = open_task(services, case_id, "stap1")
    pro = app.test_client()
    pro_token = login(pro, "professional")
    answer = pro.post(f"/api/tasks/{task.id}/complete", json={"data": ANSWERS},
                      headers={"X-CSRFToken": pro_token})
    assert answer.status_code == 409
    client.post(f"/beheer/zaken/{case_id}/hervatten", data={"csrf_token": token, "reden": "Klaar"})
    client.post(f"/beheer/taken/{task.id}/toewijzen", data={"csrf_token": token, "reden": "Ziekte",
                                                            "gebruiker": "professional"})
    client.post(f"/beheer/zaken/{case_id}/bewaarplicht", data={"csrf_token": token, "reden": "Rechtszaak"})
    client.post(f"/beheer/zaken/{case_id}/beeindigen", data={"csrf_token": token, "reden": "Dubbel"})
    assert services.cases.case_progress(case_id)[0] == "terminated"
    actions = [(e.action, e.details["reason"]) for e in audit_rows(services, actor="beheerder")
               if e.action.startswith("oversight.") and e.action != "oversight.view"]
    assert actions == [("oversight.suspend", "Controle"), ("oversight.resume", "Klaar"),
                       ("oversight.reassign", "Ziekte"), ("oversight.legal_hold", "Rechtszaak"),
                       ("oversight.terminate", "Dubbel")]
    assert all(e.channel == "web" for e in audit_rows(services, action="oversight.terminate"))


def test_retry_a_parked_timer_from_the_page(app, services, client):
    case_id = start_case(services, "professional")
    from datetime import datetime

    from engine.models import CaseTimer
    with services.sessions.begin() as session:  # a timer parked by a diagram error (as engine._timer_failed does)
        session.add(CaseTimer(case_id=case_id, spiff_task_id="x", element_id="termijn", state="failed",
                              due_at=datetime(2026, 1, 1, tzinfo=UTC),
                              created_at=datetime(2026, 1, 1, tzinfo=UTC), last_error="ZeroDivisionError"))
    token = login(client, "beheerder")
    page = client.get(f"/beheer/zaken/{case_id}")
    assert "ZeroDivisionError" in page.text and 'id="timers-opnieuw"' in page.text
    done = client.post(f"/beheer/zaken/{case_id}/timers-opnieuw", data={"csrf_token": token, "reden": "Hersteld"},
                       follow_redirects=True)
    assert "opnieuw uitgevoerd" in done.text and "ZeroDivisionError" not in done.text


def test_only_the_beheerder(app, services):
    case_id = start_case(services, "professional")
    for username in ("professional", "logbeheerder", "aandachtsfunctionaris"):
        c = app.test_client()
        token = login(c, username)
        assert c.get("/beheer/zaken").status_code == 403
        assert c.get(f"/beheer/zaken/{case_id}").status_code == 403
        assert c.post(f"/beheer/zaken/{case_id}/pauzeren", data={"csrf_token": token, "reden": "x"}).status_code == 403
    assert services.cases.case_progress(case_id)[0] == "running"


def test_health_readiness_and_metrics(app, services, client):
    case_id = start_case(services, "professional")
    Oversight(services.sessions).suspend(case_id, Actor("bea"), "x")
    start_case(services, "professional")
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"] == {"database": "ok"}
    client.get("/inloggen")
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    text = metrics.text
    assert 'meldcode_cases{status="running"} 1.0' in text and 'meldcode_cases{status="suspended"} 1.0' in text
    assert "meldcode_overdue_tasks " in text and "meldcode_parked_timers 0.0" in text
    assert "meldcode_timer_lag_seconds" in text
    assert 'meldcode_request_seconds_count{endpoint="auth.login",method="GET",status="200"}' in text


def test_readiness_fails_when_redis_is_configured_but_away(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.get_json()["checks"]["redis"].startswith("error")
    ok = make_app(REDIS_URL="redis://127.0.0.1:6379/0").test_client().get("/readyz")
    assert ok.status_code == 200 and ok.get_json()["checks"]["redis"] == "ok"


def test_the_inbox_shows_a_suspended_case(app, services, client):
    case_id = start_case(services, "professional", client_ref="CL-PAUZE")
    login(client, "professional")
    assert "gepauzeerd" not in client.get("/").text
    Oversight(services.sessions).suspend(case_id, Actor("bea"), "Controle")
    inbox = client.get("/")
    assert "CL-PAUZE" in inbox.text and ">gepauzeerd</span>" in inbox.text


def test_the_history_names_the_oversight_actions_in_dutch(app, services, client):
    case_id = start_case(services, "professional")
    Oversight(services.sessions).suspend(case_id, Actor("bea"), "Controle")
    login(client, "beheerder")
    page = client.get(f"/beheer/zaken/{case_id}")
    assert "gepauzeerd <span" in page.text and "(Controle)" in page.text
    assert ">view<" not in page.text


def test_metrics_can_require_a_token(make_app):
    app = make_app(METRICS_TOKEN="s3cret-scrape")
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"}).status_code == 200
