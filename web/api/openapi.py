"""The OpenAPI 3.1 description of /api/, served at /api/openapi.json, built from the routes.

The paths are the app's rules under /api/ (the `api` blueprint and GET /api/audit of the audit log), with their path parameters typed from the
rules' converters; what each endpoint takes and answers is described in OPERATIONS here and in
studio_openapi.OPERATIONS, by endpoint name. The states named in the document come from engine/states.py. A route
without a description, or a description of an endpoint that has no route, is refused (UndocumentedRoutes), so the
document cannot drift from the routes (tests/web/test_openapi.py also validates it against the OpenAPI 3.1 schema).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask import current_app
from werkzeug.routing import Map, Rule

from engine.access import FULL, METADATA, VT_LIMITED
from engine.case_search import MAX_QUERY_LENGTH
from engine.progress import LAST_STEP
from engine.states import CaseStatus, CaseTaskState

from ..cases.find import API_SORTS
from ..cases.service import CLIENT_REF, MAX_REASON
from ..inbox.service import FILTERS
from . import studio_openapi
from .openapi_common import ERRORS, PATH_DESCRIPTIONS, json_body, ref

PREFIX = "/api/"
IGNORED_METHODS = {"HEAD", "OPTIONS"}
CONVERTER_SCHEMAS = {"int": {"type": "integer"}, "float": {"type": "number"}, "uuid": {"type": "string",
                                                                                     "format": "uuid"}}
VARIABLE = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")

CASE_STATUSES = [s.value for s in CaseStatus]
TASK_STATES = [s.value for s in CaseTaskState]
LISTED_CASE_STATUSES = [CaseStatus.RUNNING.value, CaseStatus.COMPLETED.value]  # GET /api/cases?status=


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    parameter: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        parameter["description"] = description
    return parameter


OPERATIONS: dict[str, dict[str, Any]] = {
    "api.openapi": {"summary": "This description", "operationId": "openapi", "security": [],
                    "responses": {"200": {"description": "OpenAPI 3.1 document"}}},
    "api.me": {"summary": "The authenticated user", "operationId": "me",
               "responses": {"200": json_body(ref("User"), "the user"), "401": ERRORS["401"]}},
    "api.tasks": {
        "summary": "Open tasks of my lanes in my team, most urgent first", "operationId": "listTasks",
        "parameters": [_query("filter", {"type": "string", "enum": list(FILTERS), "default": "team"})],
        "responses": {"200": json_body({"type": "object", "properties": {
            "tasks": {"type": "array", "items": ref("Task")}}}, "tasks"),
            "400": json_body(ref("Error"), "an unknown filter"), "401": ERRORS["401"]}},
    "api.task": {
        "summary": "A task with its form (JSON Schema) and instructions (audited)", "operationId": "getTask",
        "responses": {"200": json_body(ref("TaskDetail"), "the task"), **ERRORS}},
    "api.complete_task": {
        "summary": "Complete a task with its form data (audited)", "operationId": "completeTask",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["data"],
            "properties": {"data": {"type": "object", "description": "field name -> value, "
                                                                     "as the task's form_schema describes"}}}}}},
        "responses": {"200": json_body(ref("Completion"), "the case moved on"),
                      "400": json_body(ref("Error"), "not a JSON object with data"),
                      "409": json_body(ref("Error"), "already completed, claimed by someone else, case not "
                                                     "running, or changed concurrently: nothing saved"),
                      "422": json_body(ref("ValidationErrors"), "the data breaks the form's schema"),
                      **ERRORS}},
    "api.claim_task": {
        "summary": "Claim a task (locks it to me)", "operationId": "claimTask",
        "responses": {"200": json_body(ref("Claim"), "claimed"), "409": json_body(ref("Error"), "not possible"),
                      **ERRORS}},
    "api.release_task": {
        "summary": "Release my claim on a task", "operationId": "releaseTask",
        "responses": {"200": json_body(ref("Claim"), "released"), "409": json_body(ref("Error"), "not possible"),
                      **ERRORS}},
    "api.cases": {
        "summary": "Cases I may read, newest first; with any search parameter (all but status) one page of a search "
                   "(engine/case_search.py) with its paging facts",
        "operationId": "listCases",
        "parameters": [
            _query("status", {"type": "string", "enum": LISTED_CASE_STATUSES},
                   f"with a search parameter also {', '.join(s for s in CASE_STATUSES if s not in LISTED_CASE_STATUSES)}"),
            _query("q", {"type": "string", "maxLength": MAX_QUERY_LENGTH}, "search: client reference (part of it)"),
            _query("step", {"type": "integer", "minimum": 0, "maximum": LAST_STEP},
                   "search: cases at this step of the meldcode"),
            _query("overdue", {"type": "boolean"}, "search: only cases with a deadline passed (1, true, ja or on)"),
            _query("responsible", {"type": "string"}, "search: username of the responsible professional; me: myself"),
            _query("started_from", {"type": "string", "format": "date"}, "search: started on or after this date"),
            _query("started_to", {"type": "string", "format": "date"}, "search: started on or before this date"),
            _query("sort", {"type": "string", "enum": list(API_SORTS), "default": "started_desc"}, "search: order"),
            _query("page", {"type": "integer", "minimum": 1, "default": 1}, "search: page number")],
        "responses": {"200": json_body({"type": "object", "required": ["cases"], "properties": {
            "cases": {"type": "array", "items": {"anyOf": [ref("CaseSummary"), ref("CaseFound")]}},
            "page": {"type": "integer"}, "per_page": {"type": "integer"}, "total": {"type": "integer"},
            "total_capped": {"type": "boolean"}, "pages": {"type": "integer"}}},
            "cases (a search: one page of CaseFound, with the paging facts)"),
            "400": json_body(ref("Error"), "a query parameter with a value it cannot have"), **ERRORS}},
    "api.start": {
        "summary": "Start the meldcode for a client of my team", "operationId": "startCase",
        "requestBody": {"required": True, "content": {"application/json": {"schema": ref("StartCase")}}},
        "responses": {"201": json_body({"type": "object", "properties": {
            "id": {"type": "integer"}, "url": {"type": "string"}}}, "started"),
            "400": json_body(ref("Error"), "not a JSON object"),
            "409": json_body(ref("Error"), "the process is not deployed or failed to start"),
            "422": json_body(ref("ValidationErrors"), "invalid values"), **ERRORS}},
    "api.case": {
        "summary": "The case file: milestones, open tasks, history, variables (audited)", "operationId": "getCase",
        "responses": {"200": json_body(ref("Case"), "the case"), **ERRORS}},
    "api.diagram": {
        "summary": "The BPMN the case runs on, with completed and active elements (audited)",
        "operationId": "getCaseDiagram", "responses": {"200": json_body(ref("Diagram"), "the diagram"), **ERRORS}},
    "api.case_events": {
        "summary": "The case events I can raise on this case now (nieuwe_signalen, hulp_geweigerd, verhuisd)",
        "operationId": "listCaseEvents",
        "responses": {"200": json_body({"type": "object", "properties": {
            "events": {"type": "array", "items": ref("CaseEventOption")}}}, "events"), **ERRORS}},
    "api.raise_event": {
        "summary": "Raise a case event with its form data (audited); the route reacts at once",
        "operationId": "raiseCaseEvent",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "description": "the event's form data (field name -> value) as its "
                                             "form_schema describes; {} for an event without a form"}}}},
        "responses": {"200": json_body(ref("EventResult"), "the event was taken; the case's new state"),
                      "400": json_body(ref("Error"), "not a JSON object"),
                      "404": json_body(ref("Error"), "the case's diagram has no such event"),
                      "409": json_body(ref("Error"), "the case cannot take the event now (not in follow-up, "
                                                     "or ended), or it changed concurrently: nothing changed"),
                      "422": json_body(ref("ValidationErrors"), "the data breaks the event's form"),
                      "500": json_body(ref("Error"), "the diagram could not be run"),
                      **ERRORS}},
    "auditlog.api_audit": {
        "summary": "The audit trail (NEN 7513), newest first; role logbeheerder only (this read is audited)",
        "operationId": "searchAudit",
        "parameters": [_query(name, {"type": kind}, text) for name, kind, text in (
            ("client_ref", "string", "events about this client, including lists that showed it"),
            ("user", "string", "username of the actor"),
            ("since", "string", "from this date (YYYY-MM-DD) or ISO date-time"),
            ("until", "string", "up to and including this date, or before this ISO date-time"),
            ("action", "string", "an action, or a prefix ending in a dot (case.)"),
            ("page", "integer", "page number (1, 2, ...)"), ("per_page", "integer", "1..1000, default 100"))],
        "responses": {"200": json_body({"type": "object", "properties": {
            "events": {"type": "array", "items": {"type": "object", "properties": {name: {} for name in (
                "id", "seq", "at", "actor", "actor_name", "actor_roles", "on_behalf_of", "action", "outcome",
                "case_id", "task_id", "client_ref", "channel", "client_address", "user_agent", "basis",
                "basis_detail", "details", "hash")}}},
            "total": {"type": "integer", "description": "matches, counted up to 10,000"},
            "total_capped": {"type": "boolean", "description": "more than `total` match"},
            "page": {"type": "integer"}, "per_page": {"type": "integer"}}},
            "audit events"), "400": json_body(ref("Error"), "a date that cannot be read"), **ERRORS}},
    **studio_openapi.OPERATIONS,
}

NULLABLE_STRING = {"type": ["string", "null"]}
DATE_TIME = {"type": "string", "format": "date-time"}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {"type": "object", "required": ["error", "message"],
              "properties": {"error": {"type": "string"}, "message": {"type": "string"}}},
    "ValidationErrors": {"type": "object", "properties": {
        "error": {"const": "validation"}, "message": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}}},
    "User": {"type": "object", "properties": {
        "username": {"type": "string"}, "display_name": {"type": "string"}, "team": {"type": "string"},
        "roles": {"type": "array", "items": {"type": "string"}},
        "lanes": {"type": "array", "items": {"type": "string"}}}},
    "Task": {"type": "object", "properties": {
        "id": {"type": "integer"}, "case_id": {"type": "integer"}, "client_ref": {"type": "string"},
        "element_id": {"type": "string"}, "name": NULLABLE_STRING, "lane": NULLABLE_STRING,
        "state": {"type": "string", "enum": TASK_STATES},
        "due_at": {"type": ["string", "null"], "format": "date-time"}, "created_at": DATE_TIME,
        "claimed_by": NULLABLE_STRING}},
    "TaskDetail": {"allOf": [ref("Task"), {"type": "object", "properties": {
        "form_name": NULLABLE_STRING,
        "form_schema": {"type": ["object", "null"], "description": "JSON Schema 2020-12"},
        "instructions": {"type": ["string", "null"], "description": "Markdown"},
        "documentation": NULLABLE_STRING}}]},
    "Completion": {"type": "object", "properties": {
        "case_id": {"type": "integer"}, "status": {"type": "string", "enum": CASE_STATUSES},
        "milestones": {"type": "array", "items": {"type": "string"}},
        "open_task_ids": {"type": "array", "items": {"type": "integer"}}}},
    "CaseEventOption": {"type": "object", "properties": {
        "name": {"type": "string"}, "lane": NULLABLE_STRING,
        "form_schema": {"type": ["object", "null"], "description": "JSON Schema 2020-12"}}},
    "EventResult": {"allOf": [ref("Completion"), {"type": "object", "properties": {
        "event": {"type": "string"}, "available_events": {"type": "array", "items": {"type": "string"}}}}]},
    "Claim": {"type": "object", "properties": {"task_id": {"type": "integer"}, "claimed_by": NULLABLE_STRING}},
    "StartCase": {"type": "object", "required": ["client_ref", "aanleiding", "levensbedreigend"], "properties": {
        "client_ref": {"type": "string", "pattern": CLIENT_REF.pattern,
                       "description": "pseudonymous client reference (a number, never a name), with at least "
                                      "one digit"},
        "aanleiding": {"type": "string", "maxLength": MAX_REASON},
        "levensbedreigend": {"type": "boolean", "description": "Stap 0 applies"}}},
    "CaseSummary": {"type": "object", "properties": {
        "id": {"type": "integer"}, "process_id": {"type": "string"}, "process_version": {"type": "integer"},
        "client_ref": {"type": "string"}, "team": NULLABLE_STRING,
        "status": {"type": "string", "enum": CASE_STATUSES}, "started_by": {"type": "string"},
        "started_at": DATE_TIME, "updated_at": DATE_TIME}},
    "CaseFound": {"type": "object", "properties": {
        "id": {"type": "integer"}, "client_ref": {"type": "string"}, "team": NULLABLE_STRING,
        "status": {"type": "string", "enum": CASE_STATUSES}, "started_by": {"type": "string"},
        "started_at": DATE_TIME, "updated_at": DATE_TIME, "responsible": NULLABLE_STRING,
        "next_due": {"type": ["string", "null"], "format": "date-time"}, "overdue": {"type": "boolean"},
        "step": {"type": ["integer", "null"]}, "step_label": NULLABLE_STRING, "url": {"type": "string"}}},
    "Case": {"type": "object", "properties": {
        "id": {"type": "integer"}, "process_id": {"type": "string"}, "process_version": {"type": "integer"},
        "client_ref": {"type": "string"}, "team": NULLABLE_STRING,
        "status": {"type": "string", "enum": CASE_STATUSES}, "started_by": {"type": "string"},
        "started_at": DATE_TIME, "milestones": {"type": "array", "items": {"type": "string"}},
        "open_tasks": {"type": "array", "items": ref("Task")},
        "history": {"type": "array", "items": {"type": "object", "properties": {
            "task_id": {"type": "integer"}, "element_id": {"type": "string"}, "name": NULLABLE_STRING,
            "lane": NULLABLE_STRING, "completed_by": NULLABLE_STRING,
            "completed_at": {"type": ["string", "null"], "format": "date-time"},
            "data": {"type": ["object", "null"]}}}},
        "variables": {"type": "object"},
        "waiting_timers": {"type": "array", "items": {"type": "object", "properties": {
            "element_id": {"type": "string"}, "due_at": DATE_TIME}}},
        # need-to-know (engine/access.py): full; veilig_thuis (its own tasks and the melding, no variables);
        # metadata (beheerder: no answers, no variables)
        "access": {"type": "string", "enum": [FULL, VT_LIMITED, METADATA]}}},
    "Diagram": {"type": "object", "properties": {
        "process_id": {"type": "string"}, "filename": {"type": "string"}, "bpmn_xml": {"type": "string"},
        "completed_elements": {"type": "array", "items": {"type": "string"}},
        "active_elements": {"type": "array", "items": {"type": "string"}}}},
    **studio_openapi.SCHEMAS,
}

DESCRIPTION = (
    "Cases and tasks of the meldcode huiselijk geweld en kindermishandeling. The same need-to-know rules as the web "
    "app: a user sees only the cases of their own team and works only on tasks of their lanes; anything else is "
    "403, whether it exists or not. Every read of a case or task and every change is audited (NEN 7513). "
    "Authenticate with `Authorization: Bearer <token>` (create a token on /account or with `meldcode user token`; "
    "it expires after MELDCODE_TOKEN_DAYS, 90 by default, and a password change revokes it), or with the web "
    "session cookie plus an `X-CSRFToken` header on POST. With MELDCODE_MFA_REQUIRED an account without a second "
    "factor gets 403 `mfa_required`.")


class UndocumentedRoutes(Exception):
    """Routes of the API without a description, or descriptions of endpoints that have no route."""

    def __init__(self, undocumented: list[str], unrouted: list[str]):
        self.undocumented = undocumented
        self.unrouted = unrouted
        super().__init__(f"API routes without an OpenAPI description: {undocumented or 'none'}; "
                         f"described endpoints without a route: {unrouted or 'none'}")


def api_rules(url_map: Map) -> list[Rule]:
    """The rules under /api/, in path order."""
    return sorted((r for r in url_map.iter_rules() if r.rule.startswith(PREFIX)),
                  key=lambda r: (r.rule, r.endpoint))


def openapi_path(rule: Rule) -> str:
    """/api/cases/<int:case_id> -> /api/cases/{case_id}"""
    return VARIABLE.sub(lambda m: "{" + m["name"] + "}", rule.rule)


def path_parameters(rule: Rule) -> list[dict[str, Any]]:
    """The rule's variables as required path parameters, typed from their converters."""
    parameters = []
    for match in VARIABLE.finditer(rule.rule):
        parameter: dict[str, Any] = {"name": match["name"], "in": "path", "required": True,
                                     "schema": dict(CONVERTER_SCHEMAS.get(match["converter"] or "", {"type": "string"}))}
        if match["name"] in PATH_DESCRIPTIONS:
            parameter["description"] = PATH_DESCRIPTIONS[match["name"]]
        parameters.append(parameter)
    return parameters


def methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - IGNORED_METHODS)


def check(rules: Iterable[Rule], operations: dict[str, dict[str, Any]] = OPERATIONS) -> None:
    """Raise UndocumentedRoutes unless every rule's endpoint is described and every description has a rule."""
    rules = list(rules)
    routed = {r.endpoint for r in rules}
    undocumented = sorted(f"{' '.join(methods(r))} {r.rule} ({r.endpoint})" for r in rules
                          if r.endpoint not in operations)
    unrouted = sorted(set(operations) - routed)
    if undocumented or unrouted:
        raise UndocumentedRoutes(undocumented, unrouted)


def paths(url_map: Map, operations: dict[str, dict[str, Any]] = OPERATIONS) -> dict[str, dict[str, Any]]:
    rules = api_rules(url_map)
    check(rules, operations)
    out: dict[str, dict[str, Any]] = {}
    for rule in rules:
        operation = operations[rule.endpoint]
        parameters = path_parameters(rule) + list(operation.get("parameters", []))
        for method in methods(rule):
            out.setdefault(openapi_path(rule), {})[method.lower()] = {
                **operation, **({"parameters": parameters} if parameters else {})}
    return out


def spec(server_url: str = "", url_map: Map | None = None) -> dict[str, Any]:
    """The document for the app's routes (the current app's when no url_map is given)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Meldcode API", "version": "1", "description": DESCRIPTION},
        "servers": [{"url": server_url or "/"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths(url_map if url_map is not None else current_app.url_map),
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "API token (mc_...)"},
                "session": {"type": "apiKey", "in": "cookie", "name": "meldcode_session"},
            },
            "responses": {
                "Unauthorized": json_body(ref("Error"), "not signed in / no valid token"),
                "Forbidden": json_body(ref("Error"), "no access, or it does not exist (indistinguishable)"),
            },
            "schemas": SCHEMAS,
        },
    }
