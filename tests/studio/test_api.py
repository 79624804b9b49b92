"""The studio over the JSON API: only procesbeheerder; deploy with comment and scenarios; migrate with a dry run."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.contract import LANES
from engine.models import AuditEvent, ProcessVersion
from engine.views import Actor
from web.roles import PROCESBEHEERDER, ROLES

from .conftest import USERNAMES, login
from .edits import broken_afsluiten, renamed_task

WORKER = Actor("piet", frozenset(LANES), team="noord")


def _client(app, role):
    client = app.test_client()
    token = login(client, USERNAMES[role])
    client.environ_base["HTTP_X_CSRFTOKEN"] = token
    return client


def _count(services, model):
    with services.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("role", [r for r in ROLES if r != PROCESBEHEERDER])
def test_only_the_process_owner_may_use_the_studio_api(studio_app, studio_services, role):
    client = _client(studio_app, role)
    assert client.get("/api/processes").status_code == 403
    assert client.post("/api/processes/deploy", json={"files": {}, "comment": "x"}).status_code == 403
    assert client.post("/api/cases/migrate", json={"case_ids": [1], "to_version": 1}).status_code == 403
    with studio_services.sessions() as session:
        denied = session.scalars(select(AuditEvent.action).where(AuditEvent.outcome == "denied",
                                                                 AuditEvent.actor == USERNAMES[role])).all()
    assert sorted(denied) == ["studio.deploy", "studio.migrate", "studio.processes"]


def test_processes_deploy_and_migrate_over_the_api(studio_app, studio_services):
    engine = studio_services.cases
    old_case = engine.start_case("meldcode", "OUD-1", WORKER)
    client = _client(studio_app, PROCESBEHEERDER)

    listed = client.get("/api/processes")
    assert listed.status_code == 200
    meldcode = next(p for p in listed.json if p["process_id"] == "meldcode")
    assert meldcode["latest_version"] == 1
    assert meldcode["versions"][0] | {"deployed_at": None} == {
        "version": 1, "deployed_at": None, "deployed_by": "cli", "comment": "eerste versie", "running_cases": 1}

    refused = client.post("/api/processes/deploy", json={"files": {"meldcode.bpmn": broken_afsluiten()},
                                                         "comment": "einde anders"})
    assert refused.status_code == 422
    assert refused.json["failed_scenarios"][0]["name"] == "geen vermoeden: de meldcode wordt afgesloten"
    assert "afgesloten" in refused.json["failed_scenarios"][0]["error"]
    assert _count(studio_services, ProcessVersion) == 2  # meldcode 1, kindcheck 1: nothing deployed

    no_comment = client.post("/api/processes/deploy", json={"files": {"meldcode.bpmn": renamed_task()}})
    assert no_comment.status_code == 422 and "comment" in no_comment.json["errors"][0]["message"]

    deployed = client.post("/api/processes/deploy", json={"files": {"meldcode.bpmn": renamed_task()},
                                                          "comment": "Stap 0 korter"})
    assert deployed.status_code == 201, deployed.json
    assert deployed.json["versions"] == {"meldcode": 2, "kindcheck": 1}
    new_case = engine.start_case("meldcode", "NIEUW-1", WORKER)
    assert engine.case(new_case, WORKER, audit_read=False).process_version == 2
    assert engine.case(old_case, WORKER, audit_read=False).process_version == 1

    dry = client.post("/api/cases/migrate", json={"case_ids": [old_case, new_case], "to_version": 2,
                                                  "dry_run": True})
    assert dry.status_code == 200
    assert [(r["case_id"], r["ok"], r["migrated"]) for r in dry.json["results"]] == \
        [(old_case, True, False), (new_case, False, False)]
    assert dry.json["results"][1]["reason"] == "de zaak loopt al op versie 2"
    moved = client.post("/api/cases/migrate", json={"case_ids": [old_case], "to_version": 2, "dry_run": False})
    assert moved.json["results"] == [{"case_id": old_case, "ok": True, "reason": None, "migrated": True,
                                      "from_version": 1, "to_version": 2}]
    assert engine.case(old_case, WORKER, audit_read=False).process_version == 2


def test_case_api_names_the_process_version(studio_app, studio_services):
    case_id = studio_services.cases.start_case("meldcode", "CL-1", Actor("professional", frozenset({"professional"}),
                                                                           team="noord"))
    client = _client(studio_app, "professional")
    assert client.get(f"/api/cases/{case_id}").json["process_version"] == 1


@pytest.mark.parametrize("body", [None, [], {"files": []}, {"files": {"a.bpmn": 1}, "comment": "x"},
                                  {"files": {}, "comment": 5}])
def test_bad_deploy_bodies_are_400(studio_app, body):
    client = _client(studio_app, PROCESBEHEERDER)
    assert client.post("/api/processes/deploy", json=body).status_code == 400


@pytest.mark.parametrize("body", [{}, {"case_ids": [], "to_version": 2}, {"case_ids": ["1"], "to_version": 2},
                                  {"case_ids": [1], "to_version": "2"}, {"case_ids": [True], "to_version": 2},
                                  {"case_ids": [1], "to_version": 2, "dry_run": "nee"}])
def test_bad_migrate_bodies_are_400(studio_app, body):
    client = _client(studio_app, PROCESBEHEERDER)
    assert client.post("/api/cases/migrate", json=body).status_code == 400


def test_openapi_lists_the_studio(studio_app):
    paths = studio_app.test_client().get("/api/openapi.json").json["paths"]
    assert {"/api/processes", "/api/processes/deploy", "/api/cases/migrate"} <= set(paths)
