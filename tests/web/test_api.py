"""The JSON API: bearer tokens (stored hashed) or the session, the same rules, an OpenAPI description."""
from __future__ import annotations

from sqlalchemy import select

from web.auth import service as accounts
from web.auth.models import ApiToken

from .conftest import STAP1_ANSWERS, audit_rows, login, open_task, reads_during, start_case


def _bearer(services, username="professional"):
    return {"Authorization": "Bearer " + accounts.create_token(services.sessions, username, "test")}


def test_without_credentials_the_api_answers_401(client):
    response = client.get("/api/tasks")
    assert response.status_code == 401 and response.json["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/tasks", headers={"Authorization": "Bearer mc_wrong"}).status_code == 401


def test_tokens_are_stored_only_as_hashes_and_can_be_revoked(client, services):
    headers = _bearer(services)
    secret = headers["Authorization"].split()[1]
    with services.sessions() as session:
        stored = session.scalars(select(ApiToken)).one()
    assert secret not in stored.token_hash and len(stored.token_hash) == 64
    assert client.get("/api/me", headers=headers).json["username"] == "professional"
    user_id = stored.user_id
    assert accounts.revoke_token(services.sessions, user_id, stored.id)
    assert client.get("/api/me", headers=headers).status_code == 401


def test_a_bearer_token_does_not_open_the_html_pages(client, services):
    assert client.get("/", headers=_bearer(services)).status_code == 302


def test_a_professional_runs_a_step_through_the_api(client, services):
    headers = _bearer(services)
    started = client.post("/api/cases", json={"client_ref": "CL-API1", "aanleiding": "signalen",
                                              "levensbedreigend": False}, headers=headers)
    assert started.status_code == 201
    case_id = started.json["id"]
    [task] = client.get("/api/tasks", headers=headers).json["tasks"]
    assert task["case_id"] == case_id and task["name"] == "Stap 1: signalen in kaart brengen"
    detail = client.get(f"/api/tasks/{task['id']}", headers=headers).json
    assert detail["form_schema"]["required"] and "Signalen" in detail["instructions"]
    invalid = client.post(f"/api/tasks/{task['id']}/complete", json={"data": {"signalen": ""}}, headers=headers)
    assert invalid.status_code == 422 and "betreft_beroepskracht" in invalid.json["errors"]
    data = {"signalen": "feiten", "betreft_beroepskracht": False, "zorg": "laag", "datum_signalering": "2026-01-02"}
    done = client.post(f"/api/tasks/{task['id']}/complete", json={"data": data}, headers=headers)
    assert done.status_code == 200 and done.json["status"] == "running" and len(done.json["open_task_ids"]) == 1
    again = client.post(f"/api/tasks/{task['id']}/complete", json={"data": data}, headers=headers)
    assert again.status_code == 409 and again.json["error"] == "task_not_ready"
    assert again.json["completed_by"] == "professional"
    case = client.get(f"/api/cases/{case_id}", headers=headers).json
    assert case["client_ref"] == "CL-API1" and case["history"][0]["data"]["signalen"] == "feiten"
    diagram = client.get(f"/api/cases/{case_id}/diagram", headers=headers).json
    assert diagram["active_elements"] == ["stap2"] and "stap1" in diagram["completed_elements"]
    assert {e.action for e in audit_rows(services, case_id=case_id)} >= {
        "case.start", "task.view", "task.complete", "case.view", "case.diagram"}


def test_claims_through_the_api(client, services):
    case_id = start_case(services)
    task = open_task(services, case_id)
    headers = _bearer(services)
    assert client.post(f"/api/tasks/{task.id}/claim", headers=headers).json["claimed_by"] == "professional"
    accounts.create_user(services.sessions, "collega", "correct horse battery", ["professional"], "noord")
    other = _bearer(services, "collega")
    taken = client.post(f"/api/tasks/{task.id}/claim", headers=other)
    assert taken.status_code == 409 and taken.json["error"] == "claimed"
    blocked = client.post(f"/api/tasks/{task.id}/complete", json={"data": {}}, headers=other)
    assert blocked.status_code in (409, 422)
    assert client.post(f"/api/tasks/{task.id}/release", headers=headers).json["claimed_by"] is None


def test_the_api_applies_need_to_know(client, services):
    theirs = start_case(services, "zuid", client_ref="ZU-API")
    task = open_task(services, theirs)
    headers = _bearer(services)
    for path in (f"/api/cases/{theirs}", f"/api/cases/{theirs}/diagram", f"/api/tasks/{task.id}"):
        response = client.get(path, headers=headers)
        assert response.status_code == 403 and "ZU-API" not in response.text
    assert client.post(f"/api/tasks/{task.id}/complete", json={"data": STAP1_ANSWERS},
                       headers=headers).status_code == 403
    assert client.get("/api/cases", headers=headers).json["cases"] == []


def test_tokens_can_be_made_and_revoked_on_the_account_page(client, services):
    token = login(client, "professional")
    created = client.post("/account/tokens", data={"csrf_token": token, "label": "koppeling"})
    assert created.status_code == 201
    secret = created.text.split('id="nieuw-token">')[1].split("<")[0]
    assert client.application.test_client().get("/api/me", headers={"Authorization": f"Bearer {secret}"}).json[
        "username"] == "professional"
    with services.sessions() as session:
        token_id = session.scalars(select(ApiToken.id)).one()
    client.post(f"/account/tokens/{token_id}/intrekken", data={"csrf_token": token})
    assert client.application.test_client().get("/api/me", headers={"Authorization": f"Bearer {secret}"}) \
        .status_code == 401


def test_a_completion_request_reads_who_asks_and_where_the_task_belongs_once(client, services):
    """Issue 14 (HTTP throughput): the signed-in user came with a second statement for its roles, and the task's
    scope with a third after the access decision, and the token came before the user in a statement of its own;
    now the token, the user and its roles are one statement, and where the task belongs and whether the user may
    work on it another."""
    headers = _bearer(services)
    client.post("/api/cases", json={"client_ref": "CL-API2", "aanleiding": "signalen", "levensbedreigend": False},
                headers=headers)
    [task] = client.get("/api/tasks", headers=headers).json["tasks"]
    data = {"signalen": "feiten", "betreft_beroepskracht": False, "zorg": "laag", "datum_signalering": "2026-01-02"}
    done, reads = reads_during(services, lambda: client.post(f"/api/tasks/{task['id']}/complete",
                                                             json={"data": data}, headers=headers))
    assert done.status_code == 200, done.json
    assert not [r for r in reads if r.split(" FROM ")[1].startswith(("app_user_role", "app_user "))]
    sign_ins = [r for r in reads if r.split(" FROM ")[1].startswith("api_token ")]
    assert len(sign_ins) == 1 and "JOIN app_user " in sign_ins[0] and "app_user_role" in sign_ins[0], sign_ins
    task_reads = [r for r in reads if "WHERE case_task.id = " in r]
    # The access decision is the completion's own, on the row it reads anyway (it was a statement of its own).
    assert len(task_reads) == 1, task_reads


def test_a_completion_the_engine_refuses_is_the_same_audited_403_and_changes_nothing(client, services):
    """The API's completion leaves the access decision to the engine (issue 14, HTTP throughput): another team's
    task, a task of another lane, Veilig Thuis without involvement and a task that does not exist are each one
    403, whatever exists, with one audit event `denied`; a bad body from someone refused is refused as such."""
    theirs = open_task(services, start_case(services, "zuid", client_ref="ZU-API3"))
    ours = open_task(services, start_case(services, "professional", client_ref="NO-API3"))
    attempts = [("zuid", ours.id, "NO-API3"), ("professional", theirs.id, "ZU-API3"),
                ("aandachtsfunctionaris", ours.id, "NO-API3"), ("veilig-thuis", ours.id, "NO-API3"),
                ("professional", 999_999, None)]
    for username, task_id, client_ref in attempts:
        before = len(audit_rows(services))
        refused = client.post(f"/api/tasks/{task_id}/complete", json={"data": STAP1_ANSWERS},
                              headers=_bearer(services, username))
        assert refused.status_code == 403, (username, task_id, refused.status_code)
        assert "ZU-API3" not in refused.text and "NO-API3" not in refused.text
        new = audit_rows(services)[before:]
        assert [(e.actor, e.action, e.outcome, e.task_id, e.client_ref) for e in new] == [
            (username, "task.complete", "denied", task_id, client_ref)], (username, new)
    malformed = client.post(f"/api/tasks/{ours.id}/complete", json={"gegevens": {}}, headers=_bearer(services, "zuid"))
    assert malformed.status_code == 403
    assert [(e.actor, e.outcome) for e in audit_rows(services)[-1:]] == [("zuid", "denied")]
    for task in (theirs, ours):
        assert open_task(services, task.case_id).id == task.id  # still open: nothing was stored
    assert not [e for e in audit_rows(services) if e.action == "task.complete" and e.outcome == "success"]
