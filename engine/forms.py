"""Validate form data against a user task's JSON Schema before the engine moves."""
from __future__ import annotations

from functools import lru_cache
import json

from jsonschema import Draft202012Validator, FormatChecker

from .errors import ValidationError

_FORMATS = FormatChecker()


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json), format_checker=_FORMATS)


def validate(schema: dict, data: dict) -> dict:
    """Return `data` if it satisfies `schema`, else raise ValidationError naming each field."""
    if not isinstance(data, dict):
        raise ValidationError({"(form)": ["form data must be an object"]})
    errors: dict[str, list[str]] = {}
    for error in _validator(json.dumps(schema, sort_keys=True)).iter_errors(data):
        if error.validator == "required":
            missing = [name for name in error.validator_value if name not in error.instance]
            for name in missing:
                errors.setdefault(name, []).append("is required")
            continue
        if error.validator == "additionalProperties":
            extra = set(error.instance) - set(error.schema.get("properties", {}))
            for name in sorted(extra):
                errors.setdefault(name, []).append("is not a field of this form")
            continue
        field = ".".join(str(p) for p in error.absolute_path) or "(form)"
        errors.setdefault(field, []).append(error.message)
    if errors:
        raise ValidationError(errors)
    return data
