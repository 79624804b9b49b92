"""Answers for a task form's JSON Schema where a test has none of its own, as a person fills in what the step
documents: the first choice, no, the minimum, today or now, and a line of text."""
from __future__ import annotations

from datetime import datetime


def value_for(prop: dict, now: datetime):
    """A valid answer for one property; dates and moments are those of `now`."""
    if "enum" in prop:
        return prop["enum"][0]
    kind = prop.get("type")
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        return prop.get("minimum", 0)
    if kind == "array":
        return [value_for(prop.get("items", {"type": "string"}), now)] * prop.get("minItems", 0)
    if prop.get("format") == "date":
        return now.date().isoformat()
    if prop.get("format") == "date-time":
        return now.isoformat()
    return "vastgelegd"


def form_answers(schema: dict | None, answers: dict, now: datetime) -> dict:
    """Every property of `schema`: from `answers` where it has the name, else `value_for`."""
    return {name: answers[name] if name in answers else value_for(prop, now)
            for name, prop in (schema or {}).get("properties", {}).items()}
