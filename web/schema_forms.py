"""HTML forms from the JSON Schemas of user tasks, and form posts back into typed task data.

Supported property shapes (processes/forms/*.json): short text, long text (`"x-widget": "textarea"`),
yes/no (boolean), choice (`enum` with `x-enumLabels`), date (`"format": "date"`), date and time
(`"format": "date-time"`), list of strings (one per line; checkboxes when the items have an `enum`, e.g.
several kinds of expertise with `uniqueItems`), and numbers. Everything works without JavaScript; errors
are shown next to each field and every entered value is kept. An optional yes/no or choice can be cleared.

`"x-confirm-past": true` on a date: a date before today is not taken silently; the form comes back with a
warning and a box to tick that the date is right (the API and scenarios take such a date as it is).
`"x-prefill": false`: never fill the field from what the case already knows (see `prefill_names`).
`"x-not-in-future": true` on a date or date-time: a moment after now is refused; an empty date-time starts
at now (e.g. when the melding was made).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from engine.errors import ValidationError
from engine.forms import validate as validate_against_schema

YES, NO = "ja", "nee"
CONFIRM_SUFFIX = "__bevestigd"  # the tick box of a date in the past
FUTURE_ERROR = "Dit moment ligt in de toekomst. Vul in wanneer het gebeurde (uiterlijk nu)."
PAST_WARNING = ("Deze datum ligt in het verleden. Klopt dat? Vink dan ‘Ja, deze datum klopt’ aan en verstuur "
                "opnieuw; een evaluatiemoment in het verleden valt meteen.")
DEFAULT_TZ = "Europe/Amsterdam"


@dataclass
class Field:
    name: str
    kind: str  # text | textarea | boolean | choice | date | list | multichoice | number | integer
    label: str
    description: str | None
    required: bool
    options: list[tuple[str, str]] = field(default_factory=list)
    value: object = None  # what to show: a str, or a list of str for multichoice
    errors: list[str] = field(default_factory=list)
    max_length: int | None = None
    confirm_past: bool = False  # a date in the past waits for the user's confirmation (tick box shown)

    @property
    def confirm_name(self) -> str:
        return self.name + CONFIRM_SUFFIX

    @property
    def input_id(self) -> str:
        return "veld-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.name)


def _kind(prop: dict) -> str:
    kind = prop.get("type")
    if isinstance(kind, list):  # ["string", "null"]
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "boolean":
        return "boolean"
    if kind == "array":
        items = prop.get("items") or {}
        return "multichoice" if isinstance(items, dict) and "enum" in items else "list"
    if kind in ("number", "integer"):
        return kind
    if "enum" in prop:
        return "choice"
    if prop.get("format") == "date":
        return "date"
    if prop.get("format") == "date-time":
        return "datetime"
    if prop.get("x-widget") == "textarea":
        return "textarea"
    return "text"


def _options(values, labels) -> list[tuple[str, str]]:
    labels = list(labels or [])
    return [(str(v), str(labels[i]) if i < len(labels) else str(v)) for i, v in enumerate(values or [])]


def _display(kind: str, value) -> object:
    """A stored value (task data) as the form shows it."""
    if value is None:
        return [] if kind == "multichoice" else ""
    if kind == "boolean":
        return YES if value is True else NO if value is False else str(value)
    if kind == "list":
        return "\n".join(str(v) for v in value) if isinstance(value, list) else str(value)
    if kind == "multichoice":
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]
    if kind == "datetime" and isinstance(value, str):
        return value[:16]  # what <input type="datetime-local"> shows: 2026-12-31T09:30
    return str(value)


def prefill_names(schema: dict | None) -> list[str]:
    """Fields of a form to fill from the case's variables of the same name, so that nothing the case already
    knows is asked twice (a field may opt out with `"x-prefill": false`)."""
    return [name for name, prop in ((schema or {}).get("properties") or {}).items()
            if isinstance(prop, dict) and prop.get("x-prefill", True) is not False and not prop.get("readOnly")]


def _now_local(tz: str) -> datetime:
    from engine import clock

    return clock.now().astimezone(ZoneInfo(tz))


def fields_for(schema: dict | None, *, raw: dict | None = None, data: dict | None = None,
               errors: dict[str, list[str]] | None = None, tz: str = DEFAULT_TZ) -> list[Field]:
    """The fields of a form, filled with `raw` (as posted) or else `data` (task data), with their errors."""
    schema = schema or {}
    required = set(schema.get("required") or [])
    raw, data, errors = raw or {}, data or {}, errors or {}
    fields = []
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict) or prop.get("readOnly"):
            continue
        kind = _kind(prop)
        if kind == "choice":
            options = _options(prop.get("enum"), prop.get("x-enumLabels"))
        elif kind == "multichoice":
            options = _options(prop["items"].get("enum"), prop["items"].get("x-enumLabels"))
        else:
            options = []
        if name in raw:
            value = raw[name]
        else:
            value = _display(kind, data.get(name, prop.get("default")))
            if value == "" and kind == "datetime" and prop.get("x-not-in-future"):
                value = _now_local(tz).strftime("%Y-%m-%dT%H:%M")  # default: now
        fields.append(Field(name=name, kind=kind, label=prop.get("title") or name.replace("_", " ").capitalize(),
                            description=prop.get("description"), required=name in required, options=options,
                            value=value, errors=list(errors.get(name, [])), max_length=prop.get("maxLength"),
                            confirm_past=PAST_WARNING in errors.get(name, [])))
    return fields


def parse(schema: dict | None, form, *, today: date | None = None,
          tz: str = DEFAULT_TZ) -> tuple[dict, dict[str, list[str]], dict]:
    """Turn a posted form into task data. Returns (data, errors the schema cannot express, raw values).

    Empty answers are left out, so that the schema's `required` reports them. `today` (local) decides
    which dates lie in the past; a date-time is read in time zone `tz`.
    """
    schema = schema or {}
    today = today or date.today()
    data, errors, raw = {}, {}, {}
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict) or prop.get("readOnly"):
            continue
        kind = _kind(prop)
        if kind == "multichoice":
            values = [v for v in form.getlist(name) if v != ""]
            raw[name] = values
            allowed = [str(v) for v in prop["items"].get("enum") or []]
            bad = [v for v in values if v not in allowed]
            if bad:
                errors[name] = ["Kies alleen uit de getoonde opties."]
            elif values:
                data[name] = [_enum_value(prop["items"]["enum"], v) for v in values]
            continue
        text = form.get(name, "")
        raw[name] = text
        value = text.strip()
        if value == "":
            continue
        if kind == "boolean":
            if value == YES:
                data[name] = True
            elif value == NO:
                data[name] = False
            else:
                errors[name] = ["Kies ja of nee."]
        elif kind == "choice":
            allowed = [str(v) for v in prop.get("enum") or []]
            if value in allowed:
                data[name] = _enum_value(prop["enum"], value)
            else:
                errors[name] = ["Kies een van de opties."]
        elif kind == "date":
            parsed = parse_date(value)
            if parsed is None:
                errors[name] = ["Vul een geldige datum in, bijvoorbeeld 31-12-2026."]
            elif prop.get("x-confirm-past") and parsed < today and form.get(name + CONFIRM_SUFFIX) != YES:
                errors[name] = [PAST_WARNING]
            elif prop.get("x-not-in-future") and parsed > today:
                errors[name] = [FUTURE_ERROR]
            else:
                data[name] = parsed.isoformat()
        elif kind == "datetime":
            parsed = parse_datetime(value, tz)
            if parsed is None:
                errors[name] = ["Vul een geldige datum en tijd in, bijvoorbeeld 31-12-2026 09:30."]
            elif prop.get("x-not-in-future") and parsed > _now_local(tz).replace(second=59, microsecond=999999):
                errors[name] = [FUTURE_ERROR]
            else:
                data[name] = parsed.isoformat()
        elif kind == "list":
            items = [line.strip() for line in text.splitlines() if line.strip()]
            if items:
                data[name] = items
        elif kind in ("number", "integer"):
            try:
                number = float(value.replace(",", "."))
                if kind == "integer":
                    if not number.is_integer():
                        raise ValueError
                    number = int(number)
                data[name] = number
            except ValueError:
                errors[name] = ["Vul een heel getal in." if kind == "integer" else "Vul een getal in."]
        else:
            data[name] = value
    return data, errors, raw


def raw_values(schema: dict | None, form) -> dict:
    """What a posted form holds for the schema's fields, as typed (a draft, engine/drafts.py): a list for
    checkboxes (also when none is ticked), else the text of each field that was sent, and a date's tick box."""
    raw: dict = {}
    for name, prop in ((schema or {}).get("properties") or {}).items():
        if not isinstance(prop, dict) or prop.get("readOnly"):
            continue
        if _kind(prop) == "multichoice":
            raw[name] = [v for v in form.getlist(name) if v != ""]
            continue
        if name in form:
            raw[name] = form.get(name, "")
        if name + CONFIRM_SUFFIX in form:
            raw[name + CONFIRM_SUFFIX] = form.get(name + CONFIRM_SUFFIX, "")
    return raw


def _enum_value(enum, posted: str):
    for candidate in enum:
        if str(candidate) == posted:
            return candidate
    return posted


def parse_date(value: str) -> date | None:
    """ISO (2026-12-31, as date inputs send it) or Dutch (31-12-2026, 31/12/2026) notation."""
    value = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return _parse_dutch(value)


def parse_datetime(value: str, tz: str = DEFAULT_TZ) -> datetime | None:
    """2026-12-31T09:30 (as datetime-local inputs send it), or Dutch 31-12-2026 09:30, in local time `tz`."""
    value = value.strip()
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})[T ](\d{1,2}):(\d{2})(?::\d{2})?", value) or \
        re.fullmatch(r"(\d{1,2}[-/.]\d{1,2}[-/.]\d{4})[T ](\d{1,2}):(\d{2})", value)
    if not match:
        return None
    day = parse_date(match.group(1))
    hour, minute = int(match.group(2)), int(match.group(3))
    if day is None or hour > 23 or minute > 59:
        return None
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(tz))


def _parse_dutch(value: str) -> date | None:
    match = re.fullmatch(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})", value.strip())
    if not match:
        return None
    day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


_EMPTY = "Dit veld mag niet leeg zijn."
_TOO_LONG = "Dit antwoord is te lang."
# The Dutch words per JSON Schema rule (the validator that failed), so no English message text is matched.
_RULE_TEXT = {
    "required": "Dit veld is verplicht.",
    "minLength": _EMPTY, "minItems": _EMPTY, "minProperties": _EMPTY,
    "maxLength": _TOO_LONG, "maxItems": _TOO_LONG, "maxProperties": _TOO_LONG,
    "format:date-time": "Vul een geldige datum en tijd in, bijvoorbeeld 31-12-2026 09:30.",
    "format:date": "Vul een geldige datum in, bijvoorbeeld 31-12-2026.",
    "uniqueItems": "Kies elke optie hoogstens één keer.",
    "enum": "Kies een van de opties.",
    "type": "Dit antwoord heeft niet de juiste vorm.",
    "additionalProperties": "Dit veld hoort niet bij dit formulier.",
    "pattern": "Dit antwoord heeft niet de gevraagde vorm.",
    "minimum": "Dit getal is te klein.", "exclusiveMinimum": "Dit getal is te klein.",
    "maximum": "Dit getal is te groot.", "exclusiveMaximum": "Dit getal is te groot.",
}


def translate(rule: str | None, reason: str) -> str:
    """One validation problem of the engine in Dutch for the person filling in the form, by its rule."""
    if rule == "text":
        return reason  # engine/text_input.py words it in Dutch already
    if rule in _RULE_TEXT:
        return _RULE_TEXT[rule]
    if rule is not None and rule.startswith("format:"):
        return "Dit antwoord heeft niet de gevraagde vorm."
    return f"Ongeldig antwoord ({reason})."


def translate_errors(error: ValidationError) -> dict[str, list[str]]:
    """The engine's validation problems in Dutch, per top-level field, each text once."""
    result: dict[str, list[str]] = {}
    for path, problems in error.problems.items():
        name = path.split(".", 1)[0]
        for rule, reason in problems:
            text = translate(rule, reason)
            if text not in result.setdefault(name, []):
                result[name].append(text)
    return result


def check(schema: dict | None, form, *, today: date | None = None,
          tz: str = DEFAULT_TZ) -> tuple[dict, dict[str, list[str]], dict]:
    """Parse and validate a posted form: (data, Dutch errors per field, raw values to show again)."""
    data, errors, raw = parse(schema, form, today=today, tz=tz)
    try:
        validate_against_schema(schema or {"type": "object"}, data)
    except ValidationError as exc:
        for name, reasons in translate_errors(exc).items():
            if name not in errors:  # a parse error says more than "is required"
                errors[name] = reasons
    return data, errors, raw
