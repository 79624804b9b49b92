"""The OpenAPI 3.1 description of /api/, served at /api/openapi.json."""
from __future__ import annotations

from . import studio_openapi


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "403": {"$ref": "#/components/responses/Forbidden"},
}
ID = lambda name: {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}  # noqa: E731


def spec(server_url: str = "") -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Meldcode API",
            "version": "1",
            "description": (
                "Cases and tasks of the meldcode huiselijk geweld en kindermishandeling. The same need-to-know "
                "rules as the web app: a user sees only the cases of their own team and works only on tasks of "
                "their lanes; anything else is 403, whether it exists or not. Every read of a case or task and every "
                "change is audited (NEN 7513). Authenticate with `Authorization: Bearer <token>` (create a token on "
                "/account or with `meldcode user token`; it expires after MELDCODE_TOKEN_DAYS, 90 by default, and a "
                "password change revokes it), or with the web session cookie plus an `X-CSRFToken` header on POST. "
                "With MELDCODE_MFA_REQUIRED an account without a second factor gets 403 `mfa_required`."),
        },
        "servers": [{"url": server_url or "/"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": {
            "/api/me": {"get": {"summary": "The authenticated user", "operationId": "me",
                                "responses": {"200": _json(_ref("User"), "the user"), "401": ERRORS["401"]}}},
            "/api/tasks": {"get": {
                "summary": "Open tasks of my lanes in my team, most urgent first", "operationId": "listTasks",
                "parameters": [{"name": "filter", "in": "query", "required": False,
                                "schema": {"type": "string", "enum": ["team", "mijn", "te_laat"], "default": "team"}}],
                "responses": {"200": _json({"type": "object", "properties": {
                    "tasks": {"type": "array", "items": _ref("Task")}}}, "tasks"), "401": ERRORS["401"]}}},
            "/api/tasks/{task_id}": {"get": {
                "summary": "A task with its form (JSON Schema) and instructions (audited)", "operationId": "getTask",
                "parameters": [ID("task_id")],
                "responses": {"200": _json(_ref("TaskDetail"), "the task"), **ERRORS}}},
            "/api/tasks/{task_id}/complete": {"post": {
                "summary": "Complete a task with its form data (audited)", "operationId": "completeTask",
                "parameters": [ID("task_id")],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["data"],
                    "properties": {"data": {"type": "object", "description": "field name -> value, "
                                            "as the task's form_schema describes"}}}}}},
                "responses": {"200": _json(_ref("Completion"), "the case moved on"),
                              "400": _json(_ref("Error"), "not a JSON object with data"),
                              "409": _json(_ref("Error"), "already completed, claimed by someone else, case not "
                                                          "running, or changed concurrently: nothing saved"),
                              "422": _json(_ref("ValidationErrors"), "the data breaks the form's schema"),
                              **ERRORS}}},
            "/api/tasks/{task_id}/claim": {"post": {
                "summary": "Claim a task (locks it to me)", "operationId": "claimTask", "parameters": [ID("task_id")],
                "responses": {"200": _json(_ref("Claim"), "claimed"), "409": _json(_ref("Error"), "not possible"),
                              **ERRORS}}},
            "/api/tasks/{task_id}/release": {"post": {
                "summary": "Release my claim on a task", "operationId": "releaseTask", "parameters": [ID("task_id")],
                "responses": {"200": _json(_ref("Claim"), "released"), "409": _json(_ref("Error"), "not possible"),
                              **ERRORS}}},
            "/api/audit": {"get": {
                "summary": "The audit trail (NEN 7513), newest first; role logbeheerder only (this read is audited)",
                "operationId": "searchAudit",
                "parameters": [{"name": name, "in": "query", "required": False, "schema": {"type": kind},
                                "description": text} for name, kind, text in (
                    ("client_ref", "string", "events about this client, including lists that showed it"),
                    ("user", "string", "username of the actor"),
                    ("since", "string", "from this date (YYYY-MM-DD) or ISO date-time"),
                    ("until", "string", "up to and including this date, or before this ISO date-time"),
                    ("action", "string", "an action, or a prefix ending in a dot (case.)"),
                    ("page", "integer", "page number (1, 2, ...)"), ("per_page", "integer", "1..1000, default 100"))],
                "responses": {"200": _json({"type": "object", "properties": {
                    "events": {"type": "array", "items": {"type": "object", "properties": {name: {} for name in (
                        "id", "seq", "at", "actor", "actor_name", "actor_roles", "on_behalf_of", "action", "outcome",
                        "case_id", "task_id", "client_ref", "channel", "client_address", "user_agent", "basis",
                        "basis_detail", "details", "hash")}}},
                    "total": {"type": "integer"}, "page": {"type": "integer"}, "per_page": {"type": "integer"}}},
                    "audit events"), "400": _json(_ref("Error"), "a date that cannot be read"), **ERRORS}}},
            "/api/cases": {
                "get": {"summary": "Cases of my team, newest first", "operationId": "listCases",
                        "parameters": [{"name": "status", "in": "query", "required": False,
                                        "schema": {"type": "string", "enum": ["running", "completed"]}}],
                        "responses": {"200": _json({"type": "object", "properties": {
                            "cases": {"type": "array", "items": _ref("CaseSummary")}}}, "cases"), **ERRORS}},
                "post": {"summary": "Start the meldcode for a client of my team", "operationId": "startCase",
                         "requestBody": {"required": True,
                                         "content": {"application/json": {"schema": _ref("StartCase")}}},
                         "responses": {"201": _json({"type": "object", "properties": {
                             "id": {"type": "integer"}, "url": {"type": "string"}}}, "started"),
                             "409": _json(_ref("Error"), "the process is not deployed or failed to start"),
                             "422": _json(_ref("ValidationErrors"), "invalid values"), **ERRORS}}},
            "/api/cases/{case_id}": {"get": {
                "summary": "The case file: milestones, open tasks, history, variables (audited)",
                "operationId": "getCase", "parameters": [ID("case_id")],
                "responses": {"200": _json(_ref("Case"), "the case"), **ERRORS}}},
            "/api/cases/{case_id}/diagram": {"get": {
                "summary": "The BPMN the case runs on, with completed and active elements (audited)",
                "operationId": "getCaseDiagram", "parameters": [ID("case_id")],
                "responses": {"200": _json(_ref("Diagram"), "the diagram"), **ERRORS}}},
            "/api/cases/{case_id}/events": {"get": {
                "summary": "The case events I can raise on this case now (nieuwe_signalen, hulp_geweigerd, verhuisd)",
                "operationId": "listCaseEvents", "parameters": [ID("case_id")],
                "responses": {"200": _json({"type": "object", "properties": {
                    "events": {"type": "array", "items": _ref("CaseEventOption")}}}, "events"), **ERRORS}}},
            "/api/cases/{case_id}/events/{event}": {"post": {
                "summary": "Raise a case event with its form data (audited); the route reacts at once",
                "operationId": "raiseCaseEvent",
                "parameters": [ID("case_id"), {"name": "event", "in": "path", "required": True,
                                               "schema": {"type": "string"},
                                               "description": "nieuwe_signalen, hulp_geweigerd or verhuisd "
                                                              "(contract.md)"}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "description": "the event's form data (field name -> value) as its "
                                                     "form_schema describes; {} for an event without a form"}}}},
                "responses": {"200": _json(_ref("EventResult"), "the event was taken; the case's new state"),
                              "400": _json(_ref("Error"), "not a JSON object"),
                              "404": _json(_ref("Error"), "the case's diagram has no such event"),
                              "409": _json(_ref("Error"), "the case cannot take the event now (not in follow-up, "
                                                          "or ended), or it changed concurrently: nothing changed"),
                              "422": _json(_ref("ValidationErrors"), "the data breaks the event's form"),
                              **ERRORS}}},
            "/api/openapi.json": {"get": {"summary": "This description", "operationId": "openapi", "security": [],
                                          "responses": {"200": {"description": "OpenAPI 3.1 document"}}}},
            **studio_openapi.paths(),
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "API token (mc_...)"},
                "session": {"type": "apiKey", "in": "cookie", "name": "meldcode_session"},
            },
            "responses": {
                "Unauthorized": _json(_ref("Error"), "not signed in / no valid token"),
                "Forbidden": _json(_ref("Error"), "no access, or it does not exist (indistinguishable)"),
            },
            "schemas": {
                "Error": {"type": "object", "required": ["error", "message"],
                          "properties": {"error": {"type": "string"}, "message": {"type": "string"}}},
                "ValidationErrors": {"type": "object", "properties": {
                    "error": {"const": "validation"}, "message": {"type": "string"},
                    "errors": {"type": "object", "additionalProperties": {"type": "array",
                                                                          "items": {"type": "string"}}}}},
                "User": {"type": "object", "properties": {
                    "username": {"type": "string"}, "display_name": {"type": "string"}, "team": {"type": "string"},
                    "roles": {"type": "array", "items": {"type": "string"}},
                    "lanes": {"type": "array", "items": {"type": "string"}}}},
                "Task": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "case_id": {"type": "integer"}, "client_ref": {"type": "string"},
                    "element_id": {"type": "string"}, "name": {"type": ["string", "null"]},
                    "lane": {"type": ["string", "null"]}, "state": {"type": "string"},
                    "due_at": {"type": ["string", "null"], "format": "date-time"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "claimed_by": {"type": ["string", "null"]}}},
                "TaskDetail": {"allOf": [_ref("Task"), {"type": "object", "properties": {
                    "form_name": {"type": ["string", "null"]},
                    "form_schema": {"type": ["object", "null"], "description": "JSON Schema 2020-12"},
                    "instructions": {"type": ["string", "null"], "description": "Markdown"},
                    "documentation": {"type": ["string", "null"]}}}]},
                "Completion": {"type": "object", "properties": {
                    "case_id": {"type": "integer"}, "status": {"type": "string", "enum": ["running", "completed"]},
                    "milestones": {"type": "array", "items": {"type": "string"}},
                    "open_task_ids": {"type": "array", "items": {"type": "integer"}}}},
                "CaseEventOption": {"type": "object", "properties": {
                    "name": {"type": "string"}, "lane": {"type": ["string", "null"]},
                    "form_schema": {"type": ["object", "null"], "description": "JSON Schema 2020-12"}}},
                "EventResult": {"allOf": [_ref("Completion"), {"type": "object", "properties": {
                    "event": {"type": "string"},
                    "available_events": {"type": "array", "items": {"type": "string"}}}}]},
                "Claim": {"type": "object", "properties": {"task_id": {"type": "integer"},
                                                           "claimed_by": {"type": ["string", "null"]}}},
                "StartCase": {"type": "object", "required": ["client_ref", "aanleiding", "levensbedreigend"],
                              "properties": {
                                  "client_ref": {"type": "string",
                                                 "description": "pseudonymous client reference (a number, never a "
                                                                "name), with at least one digit",
                                                 "pattern": "^[A-Za-z0-9][A-Za-z0-9._/-]{2,39}$"},
                                  "aanleiding": {"type": "string", "maxLength": 500},
                                  "levensbedreigend": {"type": "boolean", "description": "Stap 0 applies"}}},
                "CaseSummary": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "process_id": {"type": "string"},
                    "process_version": {"type": "integer"}, "client_ref": {"type": "string"},
                    "team": {"type": ["string", "null"]}, "status": {"type": "string"},
                    "started_by": {"type": "string"}, "started_at": {"type": "string", "format": "date-time"},
                    "updated_at": {"type": "string", "format": "date-time"}}},
                "Case": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "process_id": {"type": "string"},
                    "process_version": {"type": "integer"}, "client_ref": {"type": "string"},
                    "team": {"type": ["string", "null"]}, "status": {"type": "string"},
                    "started_by": {"type": "string"}, "started_at": {"type": "string", "format": "date-time"},
                    "milestones": {"type": "array", "items": {"type": "string"}},
                    "open_tasks": {"type": "array", "items": _ref("Task")},
                    "history": {"type": "array", "items": {"type": "object", "properties": {
                        "task_id": {"type": "integer"}, "element_id": {"type": "string"},
                        "name": {"type": ["string", "null"]}, "lane": {"type": ["string", "null"]},
                        "completed_by": {"type": ["string", "null"]},
                        "completed_at": {"type": ["string", "null"], "format": "date-time"},
                        "data": {"type": ["object", "null"]}}}},
                    "variables": {"type": "object"},
                    "waiting_timers": {"type": "array", "items": {"type": "object", "properties": {
                        "element_id": {"type": "string"}, "due_at": {"type": "string", "format": "date-time"}}}},
                    # need-to-know: full; veilig_thuis (its own tasks and the melding, no variables); metadata
                    # (beheerder: no answers, no variables)
                    "access": {"type": "string", "enum": ["full", "veilig_thuis", "metadata"]}}},
                "Diagram": {"type": "object", "properties": {
                    "process_id": {"type": "string"}, "filename": {"type": "string"}, "bpmn_xml": {"type": "string"},
                    "completed_elements": {"type": "array", "items": {"type": "string"}},
                    "active_elements": {"type": "array", "items": {"type": "string"}}}},
                **studio_openapi.schemas(),
            },
        },
    }
