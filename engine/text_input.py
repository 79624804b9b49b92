"""Free text entering the engine: refuse what cannot be stored or shown safely, and what is too long.

Every boundary that takes text from people or API clients calls this module (forms.validate for task and event
forms, CaseEngine.start_case for the client reference and start data, deploy for form files):

- text that cannot be encoded (a lone surrogate such as "a\\ud800b" passes json.loads and Python, but PostgreSQL,
  UTF-8 pages and audit records cannot hold it);
- control characters other than newline and tab (NUL is not even storable in PostgreSQL; the others are invisible
  and can disguise text). A carriage return is accepted only before a newline: browsers send a textarea's line
  ends as CRLF;
- text longer than its field's `maxLength`, or than DEFAULT_MAX_LENGTH when the form's schema sets none (deploy
  also writes that default into each string field without one, so forms show the limit).

Errors name the field (nested fields as "field.0.sub") and are Dutch, for the person who typed the text.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import ValidationError

DEFAULT_MAX_LENGTH = 10_000

# C0 controls except tab and newline, a CR not followed by LF, DEL, C1 controls, and surrogate code points.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]|\r(?!\n)")
_SURROGATE = re.compile(r"[\ud800-\udfff]")

UNENCODABLE = "Deze tekst bevat een teken dat niet kan worden opgeslagen (een ongeldig Unicode-teken)."
CONTROL = "Deze tekst bevat een onzichtbaar stuurteken; alleen regeleinden en tabs zijn toegestaan."


def too_long(limit: int) -> str:
    return f"Deze tekst is te lang: maximaal {limit} tekens."


def text_problems(text: str, max_length: int | None = DEFAULT_MAX_LENGTH) -> list[str]:
    """What is wrong with one piece of text (empty when nothing is)."""
    problems = []
    bad = _FORBIDDEN.search(text)
    if bad:
        problems.append(UNENCODABLE if _SURROGATE.search(text) else CONTROL)
    if max_length is not None and len(text) > max_length:
        problems.append(too_long(max_length))
    return problems


def check_text(text: str, field: str, max_length: int | None = DEFAULT_MAX_LENGTH) -> str:
    """Return `text`, or raise ValidationError naming `field`."""
    problems = text_problems(text, max_length)
    if problems:
        raise ValidationError({field: problems})
    return text


def data_problems(data: Any, schema: Mapping[str, Any] | None = None,
                  default_max_length: int = DEFAULT_MAX_LENGTH) -> dict[str, list[str]]:
    """Problems of every string in `data` (values and keys, nested), keyed by field path.

    A string whose field has a `maxLength` in `schema` is left to the schema's own check (so the limit is reported
    once); every other string gets `default_max_length`.
    """
    errors: dict[str, list[str]] = {}
    stack: list[tuple[Any, str, Any]] = [(data, "", schema)]
    while stack:
        value, path, sub = stack.pop()
        sub = sub if isinstance(sub, Mapping) else {}
        if isinstance(value, str):
            limit = None if isinstance(sub.get("maxLength"), int) else default_max_length
            problems = text_problems(value, limit)
            if problems:
                errors.setdefault(path or "(form)", []).extend(problems)
        elif isinstance(value, Mapping):
            properties: Mapping[str, Any] = sub["properties"] if isinstance(sub.get("properties"), Mapping) else {}
            for key, item in value.items():
                name = f"{path}.{key}" if path else str(key)
                if isinstance(key, str):
                    problems = text_problems(key, default_max_length)
                    if problems:
                        errors.setdefault(printable(name), []).extend(problems)
                        continue
                stack.append((item, name, properties.get(key)))
        elif isinstance(value, (list, tuple)):
            items = sub.get("items")
            for index, item in enumerate(value):
                stack.append((item, f"{path}.{index}" if path else str(index), items))
    return errors


def check_data(data: Any, schema: Mapping[str, Any] | None = None, default_max_length: int = DEFAULT_MAX_LENGTH) -> Any:
    """Return `data`, or raise ValidationError with every text problem per field."""
    errors = data_problems(data, schema, default_max_length)
    if errors:
        raise ValidationError(errors)
    return data


def printable(name: str) -> str:
    """A field name fit for an error message: an error must itself be storable and showable."""
    return _FORBIDDEN.sub("\ufffd", name)


def schema_text_problems(schema: Any) -> list[str]:
    """Problems of the strings in a form schema (titles, descriptions, options), for deploy."""
    problems = data_problems(schema, None, default_max_length=100_000)
    return [f"{path}: {'; '.join(reasons)}" for path, reasons in sorted(problems.items())]


def with_default_max_length(schema: Any, default_max_length: int = DEFAULT_MAX_LENGTH) -> Any:
    """A copy of a form schema in which every string field without `maxLength` has the default limit."""
    if isinstance(schema, list):
        return [with_default_max_length(item, default_max_length) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: with_default_max_length(value, default_max_length) if key in _SUBSCHEMA_KEYS else value
              for key, value in schema.items()}
    for key in _SUBSCHEMA_MAPS:
        if isinstance(schema.get(key), dict):
            result[key] = {name: with_default_max_length(sub, default_max_length)
                           for name, sub in schema[key].items()}
    kind = schema.get("type")
    if (kind == "string" or isinstance(kind, list) and "string" in kind) and "maxLength" not in schema \
            and "enum" not in schema and "const" not in schema:
        result["maxLength"] = default_max_length
    return result


_SUBSCHEMA_KEYS = frozenset({"items", "allOf", "anyOf", "oneOf", "not", "if", "then", "else", "prefixItems",
                             "additionalProperties"})
_SUBSCHEMA_MAPS = frozenset({"properties", "$defs", "definitions", "patternProperties", "dependentSchemas"})


CLIENT_REF_MAX_LENGTH = 100  # the column's size
TEAM_MAX_LENGTH = 100


def check_start(client_ref: Any, team: Any, data: Any, default_max_length: int = DEFAULT_MAX_LENGTH) -> None:
    """The strings given to start a case: the client reference, the team and the start data."""
    errors: dict[str, list[str]] = {}
    if not isinstance(client_ref, str) or not client_ref.strip():
        errors["client_ref"] = ["is required"]
    else:
        errors["client_ref"] = text_problems(client_ref, CLIENT_REF_MAX_LENGTH)
    if team is not None:
        errors["team"] = text_problems(team, TEAM_MAX_LENGTH) if isinstance(team, str) else ["must be text"]
    for field, problems in data_problems(data or {}, None, default_max_length).items():
        errors.setdefault(field, []).extend(problems)
    errors = {field: problems for field, problems in errors.items() if problems}
    if errors:
        raise ValidationError(errors)
