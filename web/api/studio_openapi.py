"""The OpenAPI description of the studio's endpoints (web/api/studio.py), merged into /api/openapi.json by
openapi.py: what each endpoint takes and answers, by endpoint name; the paths come from the routes."""
from __future__ import annotations

from typing import Any

from .openapi_common import ERRORS, json_body, ref

ROLE = " Role procesbeheerder only (others: 403); audited."

OPERATIONS: dict[str, dict[str, Any]] = {
    "api.processes": {
        "summary": "Every deployed process with its versions (newest first)." + ROLE, "operationId": "listProcesses",
        "responses": {"200": json_body({"type": "array", "items": ref("Process")}, "the processes"), **ERRORS}},
    "api.deploy": {
        "summary": "Deploy changed files with a comment; files not given are taken from the latest deployed "
                   "version, every attached scenario must pass. Nothing is deployed on any error." + ROLE,
        "operationId": "deployProcesses",
        "requestBody": {"required": True, "content": {"application/json": {"schema": ref("DeployRequest")}}},
        "responses": {
            "201": json_body(ref("Deployed"), "new versions deployed"),
            "200": json_body(ref("Deployed"), "identical content: nothing new (no-op)"),
            "400": json_body(ref("Error"), "not a JSON object of this shape"),
            "422": json_body(ref("DeployRefused"), "a check or a scenario failed: nothing deployed"),
            **ERRORS}},
    "api.migrate_cases": {
        "summary": "Move running cases to another (newer) version of their process: a dry run says per case "
                   "whether it can move and why not; with dry_run false the cases that can move, move (each "
                   "in its own transaction, revertible)." + ROLE,
        "operationId": "migrateCases",
        "requestBody": {"required": True, "content": {"application/json": {"schema": ref("MigrateRequest")}}},
        "responses": {"200": json_body(ref("MigrateResults"), "per case"),
                      "400": json_body(ref("Error"), "not a JSON object of this shape"), **ERRORS}},
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Process": {"type": "object", "properties": {
        "process_id": {"type": "string"}, "name": {"type": ["string", "null"]},
        "latest_version": {"type": "integer"},
        "versions": {"type": "array", "items": {"type": "object", "properties": {
            "version": {"type": "integer"}, "deployed_at": {"type": "string", "format": "date-time"},
            "deployed_by": {"type": "string"}, "comment": {"type": ["string", "null"]},
            "running_cases": {"type": "integer"}}}}}},
    "DeployRequest": {"type": "object", "required": ["files", "comment"], "properties": {
        "files": {"type": "object", "additionalProperties": {"type": "string"},
                  "description": "file name (name.bpmn, name.dmn, forms/name.json) -> content"},
        "comment": {"type": "string", "minLength": 1, "maxLength": 1000},
        "scenarios": {"type": "object", "additionalProperties": {"type": "object"},
                      "description": "scenario file name -> scenario (contract.md); added to or replacing the "
                                     "attached scenarios of the same name"}}},
    "Deployed": {"type": "object", "properties": {
        "versions": {"type": "object", "additionalProperties": {"type": "integer"},
                     "description": "process id -> its version after the deployment"},
        "created": {"type": "object", "additionalProperties": {"type": "boolean"}}}},
    "DeployRefused": {"type": "object", "properties": {
        "errors": {"type": "array", "items": {}},
        "failed_scenarios": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "error": {"type": "string"}}}}}},
    "MigrateRequest": {"type": "object", "required": ["case_ids", "to_version"], "properties": {
        "case_ids": {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 1000},
        "to_version": {"type": "integer"}, "dry_run": {"type": "boolean", "default": True},
        "process_id": {"type": "string", "description": "default: each case's own process"}}},
    "MigrateResults": {"type": "object", "properties": {"results": {"type": "array", "items": {
        "type": "object", "properties": {
            "case_id": {"type": "integer"}, "ok": {"type": "boolean"}, "reason": {"type": ["string", "null"]},
            "migrated": {"type": "boolean"}, "from_version": {"type": ["integer", "null"]},
            "to_version": {"type": ["integer", "null"]}}}}}},
}
