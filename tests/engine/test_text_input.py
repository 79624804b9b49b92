"""Issue 10 item 3 (engine side): text that cannot be stored or shown is refused per field, at every boundary."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from engine import clock, forms, text_input
from engine.errors import DiagramError, ValidationError
from engine.models import AuditEvent, Case, CaseTask, ProcessVersion
from tests.conftest import TEST_DIAGRAMS

PROBE = "a\ud800b"  # the probe's lone surrogate: stored through the API, after which the case file answered 500


def files_of_test_diagrams() -> dict[str, bytes]:
    return {p.relative_to(TEST_DIAGRAMS).as_posix(): p.read_bytes() for p in TEST_DIAGRAMS.rglob("*") if p.is_file()}


# --- the check itself -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, problem", [
    (PROBE, text_input.UNENCODABLE),
    ("\udfff", text_input.UNENCODABLE),
    ("a\x00b", text_input.CONTROL),
    ("bel\x07", text_input.CONTROL),
    ("\x1b[31mrood", text_input.CONTROL),
    ("a\x7fb", text_input.CONTROL),
    ("a\x85b", text_input.CONTROL),  # C1 "next line"
    ("a\rb", text_input.CONTROL),  # a carriage return that is not a line end
    ("a\x0bb\x0cc", text_input.CONTROL),
])
def test_refused_text(text, problem):
    assert text_input.text_problems(text) == [problem]


@pytest.mark.parametrize("text", ["", "gewoon", "regel 1\nregel 2", "regel 1\r\nregel 2", "kolom\tkolom",
                                  "Zoë’s café — 😀", "\u2028"])
def test_accepted_text(text):
    assert text_input.text_problems(text) == []


def test_length_limit():
    assert text_input.text_problems("x" * 10_000) == []
    assert text_input.text_problems("x" * 10_001) == ["Deze tekst is te lang: maximaal 10000 tekens."]
    assert text_input.text_problems("x" * 11, max_length=10) == [text_input.too_long(10)]


# --- forms (task and event forms both go through forms.validate) -------------------------------------------

SCHEMA = {"type": "object", "additionalProperties": False, "properties": {
    "toelichting": {"type": "string"},
    "kort": {"type": "string", "maxLength": 5},
    "lang": {"type": "string", "maxLength": 20_000},
    "signalen": {"type": "array", "items": {"type": "string"}},
    "details": {"type": "object", "properties": {"naam": {"type": "string"}}},
}}


def test_probe_surrogate_refused_per_field():
    with pytest.raises(ValidationError) as info:
        forms.validate(SCHEMA, {"toelichting": PROBE, "signalen": ["ok", "x\x00"], "details": {"naam": "\x1b"}})
    assert info.value.errors == {"toelichting": [text_input.UNENCODABLE], "signalen.1": [text_input.CONTROL],
                                 "details.naam": [text_input.CONTROL]}


def test_bad_field_name_is_refused_and_reported_printably():
    with pytest.raises(ValidationError) as info:
        forms.validate({"type": "object"}, {PROBE: 1})
    assert info.value.errors == {"a\ufffdb": [text_input.UNENCODABLE]}
    json.dumps(info.value.errors).encode("utf-8")  # the error itself can be sent and stored


def test_default_length_applies_where_the_schema_sets_none():
    with pytest.raises(ValidationError) as info:
        forms.validate(SCHEMA, {"toelichting": "x" * 10_001, "signalen": ["y" * 10_001]})
    assert info.value.errors == {"toelichting": [text_input.too_long(10_000)],
                                 "signalen.0": [text_input.too_long(10_000)]}
    forms.validate(SCHEMA, {"lang": "x" * 15_000})  # the schema's own, larger limit counts
    with pytest.raises(ValidationError) as info:
        forms.validate(SCHEMA, {"kort": "123456"})
    assert list(info.value.errors) == ["kort"] and len(info.value.errors["kort"]) == 1


# --- the engine's boundaries: task completion and case start ----------------------------------------------

def count(engine, model) -> int:
    with engine.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_probe_surrogate_in_a_task_completion_changes_nothing(deployed, professional):
    case_id = deployed.start_case("voorbeeld", "CL-T1", professional)
    task = deployed.open_tasks(case_id=case_id)[0]
    events = count(deployed, AuditEvent)
    with pytest.raises(ValidationError) as info:
        deployed.complete_task(task.id, professional, {"vermoeden": False, "toelichting": PROBE})
    assert info.value.errors == {"toelichting": [text_input.UNENCODABLE]}
    with deployed.sessions() as session:
        row = session.get(CaseTask, task.id)
        assert row.state == "ready" and row.data is None
    assert count(deployed, AuditEvent) == events
    deployed.complete_task(task.id, professional, {"vermoeden": False, "toelichting": "regel 1\r\nregel 2"})


@pytest.mark.parametrize("client_ref, team, data, field", [
    (PROBE, None, None, "client_ref"),
    ("CL\x00-1", None, None, "client_ref"),
    ("C" * 101, None, None, "client_ref"),
    ("CL-1", "team\x1b", None, "team"),
    ("CL-1", None, {"melder": PROBE}, "melder"),
    ("CL-1", None, {"notities": ["x" * 10_001]}, "notities.0"),
])
def test_start_case_refuses_bad_text(deployed, professional, client_ref, team, data, field):
    with pytest.raises(ValidationError) as info:
        deployed.start_case("voorbeeld", client_ref, professional, team=team, data=data)
    assert list(info.value.errors) == [field]
    assert count(deployed, Case) == 0


def test_start_case_still_requires_a_client_ref(deployed, professional):
    with pytest.raises(ValidationError) as info:
        deployed.start_case("voorbeeld", "  ", professional)
    assert info.value.errors == {"client_ref": ["is required"]}


# --- deployed form files ---------------------------------------------------------------------------------------

def test_deploy_writes_the_default_length_into_free_text_fields(case_engine):
    case_engine.deploy_directory(TEST_DIAGRAMS, "a")
    with case_engine.sessions() as session:
        pv = session.scalars(select(ProcessVersion).where(ProcessVersion.process_id == "voorbeeld")).one()
        properties = pv.forms["wegen.json"]["properties"]
    assert properties["toelichting"]["maxLength"] == 10_000
    assert "maxLength" not in properties["vermoeden"]  # not a string


def test_deploy_refuses_a_form_file_with_unstorable_text(case_engine):
    files = files_of_test_diagrams()
    files["forms/wegen.json"] = files["forms/wegen.json"].replace(b'"Toelichting"', b'"Toe\\ud800lichting"')
    with pytest.raises(DiagramError) as info:
        case_engine.deploy_files(files, "a")
    assert info.value.filename == "forms/wegen.json" and "cannot be stored" in info.value.reason
    assert count(case_engine, ProcessVersion) == 0


def test_deploy_refuses_a_utf16_form_file(case_engine):
    files = files_of_test_diagrams()
    files["forms/wegen.json"] = files["forms/wegen.json"].decode().encode("utf-16")
    with pytest.raises(DiagramError) as info:
        case_engine.deploy_files(files, "a")
    assert info.value.filename == "forms/wegen.json" and "not UTF-8" in info.value.reason
    assert count(case_engine, ProcessVersion) == 0


# --- the forms' own keywords -------------------------------------------------------------------------------

DATES = {"type": "object", "properties": {
    "datum": {"type": "string", "format": "date", "x-not-in-future": True, "x-confirm-past": True},
    "moment": {"type": "string", "format": "date-time", "x-not-in-future": True},
    "gepland": {"type": "string", "format": "date", "x-confirm-past": True},
}}
NOW = datetime(2026, 6, 1, 22, 30, tzinfo=UTC)  # already 2 June in Amsterdam (00:30)


def test_not_in_future_refuses_later_than_the_engine_clock():
    with clock.frozen_at(NOW):
        forms.validate(DATES, {"datum": "2026-06-02", "moment": "2026-06-02T00:30:00+02:00"})
        forms.validate(DATES, {"moment": "2026-06-02T00:30:00"})  # local time without an offset
        with pytest.raises(ValidationError) as info:
            forms.validate(DATES, {"datum": "2026-06-03", "moment": "2026-06-01T22:31:00Z"})
    assert info.value.errors == {"datum": ["Deze datum ligt in de toekomst."],
                                 "moment": ["Dit moment ligt in de toekomst."]}


def test_not_in_future_follows_the_scenario_clock():
    with clock.frozen_at(datetime(2030, 1, 1, tzinfo=UTC)):
        forms.validate(DATES, {"datum": "2029-12-31"})
    with clock.frozen_at(datetime(2029, 1, 1, tzinfo=UTC)):
        with pytest.raises(ValidationError):
            forms.validate(DATES, {"datum": "2029-12-31"})


def test_confirm_past_is_ignored_by_the_engine():
    with clock.frozen_at(NOW):
        forms.validate(DATES, {"gepland": "1999-01-01", "datum": "1999-01-01"})


def test_forms_with_the_keywords_deploy(case_engine):
    files = files_of_test_diagrams()
    schema = json.loads(files["forms/wegen.json"])
    schema["properties"]["datum"].update({"x-not-in-future": True, "x-confirm-past": True})
    files["forms/wegen.json"] = json.dumps(schema).encode()
    case_engine.deploy_files(files, "a")
    with case_engine.sessions() as session:
        pv = session.scalars(select(ProcessVersion).where(ProcessVersion.process_id == "voorbeeld")).one()
        assert pv.forms["wegen.json"]["properties"]["datum"]["x-not-in-future"] is True
