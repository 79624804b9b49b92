"""Validate form data against a user task's (or an event's) JSON Schema before the engine moves.

Besides JSON Schema 2020-12 the forms use these keywords of their own (an unknown "x-" keyword is ignored, as JSON
Schema ignores unknown keywords; deploy accepts them):

- "x-not-in-future": true on a "date" or "date-time" string: a value later than the engine clock's now (today, for a
  date, in the configured time zone) is refused;
- "x-confirm-past": true is a hint for the web form only (ask before taking a date in the past): ignored here.

Every string is also checked by engine/text_input.py (encodable, no control characters, a length limit).
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from functools import lru_cache
from typing import Any, cast
from zoneinfo import ZoneInfo

from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError as SchemaViolation

from . import clock, text_input
from .errors import ValidationError
from .settings import Settings

_FORMATS = FormatChecker()


# jsonschema checks "date-time" only when the optional rfc3339-validator is installed; without it any text
# passed. The engine checks it itself: an ISO 8601 moment as Python reads it (what the web form, the API and
# the scenario runner send), so a timer never has to guess what "vastgelegd" means.
@_FORMATS.checks("date-time", raises=ValueError)
def _is_iso_moment(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    if "T" not in instance and " " not in instance:
        raise ValueError(f"{instance!r} is not an ISO 8601 date-time")
    datetime.fromisoformat(instance.replace("Z", "+00:00"))
    return True

# Messages of the engine's own keywords, by validator name (the person filling in the form reads them).
MESSAGES = {
    ("x-not-in-future", "date"): "Deze datum ligt in de toekomst.",
    ("x-not-in-future", "date-time"): "Dit moment ligt in de toekomst.",
}


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _not_in_future(validator: Any, enabled: Any, instance: Any, schema: dict[str, Any]) -> Iterator[SchemaViolation]:
    if not enabled or not isinstance(instance, str):
        return
    kind = schema.get("format")
    now = clock.now()
    zone = _zone(Settings.from_env().timezone)
    try:
        if kind == "date":
            later = date.fromisoformat(instance) > now.astimezone(zone).date()
        elif kind == "date-time":
            moment = datetime.fromisoformat(instance)
            later = (moment if moment.tzinfo else moment.replace(tzinfo=zone)) > now
        else:
            return
    except ValueError:
        return  # not a date: the "format" check reports that
    if later:
        yield SchemaViolation(MESSAGES[("x-not-in-future", kind)])


FormValidator = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator, {"x-not-in-future": _not_in_future})


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Draft202012Validator:
    return cast(Draft202012Validator, FormValidator(json.loads(schema_json), format_checker=_FORMATS))


def validate(schema: dict[str, Any], data: dict[str, Any],
             max_text_length: int = text_input.DEFAULT_MAX_LENGTH) -> dict[str, Any]:
    """Return `data` if it satisfies `schema`, else raise ValidationError naming each field."""
    if not isinstance(data, dict):
        raise ValidationError({"(form)": ["form data must be an object"]})
    errors = text_input.data_problems(data, schema, max_text_length)
    problems: dict[str, list[tuple[str | None, str]]] = {
        name: [("text", reason) for reason in reasons] for name, reasons in errors.items()}

    def add(name: str, rule: str, reason: str) -> None:
        errors.setdefault(name, []).append(reason)
        problems.setdefault(name, []).append((rule, reason))

    for error in _validator(json.dumps(schema, sort_keys=True)).iter_errors(data):
        if error.validator == "required":
            missing = [name for name in error.validator_value if name not in error.instance]
            for name in missing:
                add(name, "required", "is required")
            continue
        if error.validator == "additionalProperties":
            extra = set(error.instance) - set(error.schema.get("properties", {}))
            for name in sorted(extra):
                if text_input.printable(name) not in errors:  # a name that is bad text is reported as such
                    add(name, "additionalProperties", "is not a field of this form")
            continue
        field = ".".join(str(p) for p in error.absolute_path) or "(form)"
        if field in errors and error.validator in ("pattern", "format"):
            continue  # the text problem already says what is wrong
        rule = f"format:{error.validator_value}" if error.validator == "format" else str(error.validator)
        add(field, rule, error.message)
    if errors:
        raise ValidationError(errors, problems)
    return data
