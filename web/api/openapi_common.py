"""Pieces of the OpenAPI document shared by openapi.py and studio_openapi.py."""
from __future__ import annotations

from typing import Any

ERRORS: dict[str, Any] = {
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "403": {"$ref": "#/components/responses/Forbidden"},
}

# Descriptions of path variables by name (their types come from the routes' converters).
PATH_DESCRIPTIONS = {
    "event": "nieuwe_signalen, hulp_geweigerd or verhuisd (contract.md)",
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}
