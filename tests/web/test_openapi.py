"""The OpenAPI description is built from the routes, is valid OpenAPI 3.1, and says what the API really does."""
from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from werkzeug.routing import Map, Rule

from engine.states import CaseStatus
from web.api.openapi import OPERATIONS, UndocumentedRoutes, spec
from web.auth import service as accounts

from .conftest import start_case


def _bearer(services, username="professional"):
    return {"Authorization": "Bearer " + accounts.create_token(services.sessions, username, "test")}


def _routes(url_map) -> set[tuple[str, str]]:
    return {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
            for rule in url_map.iter_rules() if rule.rule.startswith("/api/")
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_the_document_is_valid_openapi_and_names_exactly_the_api_routes(app, client):
    document = client.get("/api/openapi.json").json
    validate(document)  # OpenAPI 3.1 (raises on an invalid document)
    documented = {(path, method.upper()) for path, operations in document["paths"].items() for method in operations}
    assert documented == _routes(app.url_map)
    assert set(document["components"]["securitySchemes"]) == {"bearer", "session"}
    operation_ids = [op["operationId"] for operations in document["paths"].values() for op in operations.values()]
    assert len(operation_ids) == len(set(operation_ids))


def test_a_route_without_a_description_or_a_description_without_a_route_is_refused(app):
    copied = [rule.empty() for rule in app.url_map.iter_rules()]
    with pytest.raises(UndocumentedRoutes) as refused:
        spec(url_map=Map([*copied, Rule("/api/cases/<int:case_id>/nieuw", endpoint="api.nieuw", methods=["GET"])]))
    assert refused.value.undocumented == ["GET /api/cases/<int:case_id>/nieuw (api.nieuw)"]
    assert refused.value.unrouted == []

    gone = [rule.empty() for rule in app.url_map.iter_rules() if rule.endpoint != "api.claim_task"]
    with pytest.raises(UndocumentedRoutes) as refused:
        spec(url_map=Map(gone))
    assert refused.value.unrouted == ["api.claim_task"] and refused.value.undocumented == []


def test_path_parameters_are_typed_by_the_routes_converters(client):
    paths = client.get("/api/openapi.json").json["paths"]
    assert paths["/api/cases/{case_id}"]["get"]["parameters"][0] == {
        "name": "case_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    event = paths["/api/cases/{case_id}/events/{event}"]["post"]["parameters"]
    assert [(p["name"], p["schema"]["type"]) for p in event] == [("case_id", "integer"), ("event", "string")]


def test_every_documented_query_value_is_accepted_and_others_are_refused(client, services):
    headers = _bearer(services)
    paths = client.get("/api/openapi.json").json["paths"]
    checked = 0
    for path, operations in paths.items():
        for parameter in operations.get("get", {}).get("parameters", []):
            if parameter["in"] == "query" and "enum" in parameter["schema"]:
                for value in parameter["schema"]["enum"]:
                    response = client.get(path, query_string={parameter["name"]: value}, headers=headers)
                    assert response.status_code == 200, (path, parameter["name"], value)
                    checked += 1
                response = client.get(path, query_string={parameter["name"]: "iets-anders"}, headers=headers)
                assert response.status_code == 400, (path, parameter["name"])
    assert checked >= 9  # GET /api/tasks?filter=, GET /api/cases?status= and ?sort= at least
    listed = next(p for p in paths["/api/cases"]["get"]["parameters"] if p["name"] == "status")
    assert set(listed["schema"]["enum"]) <= {s.value for s in CaseStatus}


def test_the_answers_match_their_documented_schemas(client, services):
    headers = _bearer(services)
    document = client.get("/api/openapi.json").json
    case_id = start_case(services)
    task_id = client.get("/api/tasks", headers=headers).json["tasks"][0]["id"]
    for path, template in (("/api/me", "/api/me"), ("/api/tasks", "/api/tasks"), ("/api/cases", "/api/cases"),
                           ("/api/cases?q=CL&sort=deadline&overdue=0", "/api/cases"),
                           (f"/api/cases/{case_id}", "/api/cases/{case_id}"),
                           (f"/api/cases/{case_id}/diagram", "/api/cases/{case_id}/diagram"),
                           (f"/api/cases/{case_id}/events", "/api/cases/{case_id}/events"),
                           (f"/api/tasks/{task_id}", "/api/tasks/{task_id}")):
        response = client.get(path, headers=headers)
        assert response.status_code == 200, path
        schema = document["paths"][template]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        validator = Draft202012Validator({**schema, "components": document["components"]})
        assert not list(validator.iter_errors(response.json)), path
    assert set(OPERATIONS) >= {"api.me", "api.tasks", "api.cases", "api.case", "api.task"}
