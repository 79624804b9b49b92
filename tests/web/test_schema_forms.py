"""Form fields from JSON Schema and posted answers back into task data (no database needed)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from web import schema_forms

PROJECT = Path(__file__).resolve().parents[2]
SCHEMA = {
    "type": "object",
    "properties": {
        "tekst": {"type": "string", "minLength": 1, "title": "Tekst"},
        "lang": {"type": "string", "x-widget": "textarea"},
        "jn": {"type": "boolean", "title": "Ja of nee"},
        "keuze": {"type": "string", "enum": ["a", "b"], "x-enumLabels": ["Optie A", "Optie B"]},
        "datum": {"type": "string", "format": "date"},
        "lijst": {"type": "array", "items": {"type": "string"}},
        "vinkjes": {"type": "array", "items": {"type": "string", "enum": ["x", "y"]}},
        "getal": {"type": "integer"},
    },
    "required": ["tekst", "jn", "keuze"],
    "additionalProperties": False,
}


def test_each_property_becomes_the_right_kind_of_field():
    fields = {f.name: f for f in schema_forms.fields_for(SCHEMA)}
    assert {n: f.kind for n, f in fields.items()} == {
        "tekst": "text", "lang": "textarea", "jn": "boolean", "keuze": "choice", "datum": "date", "lijst": "list",
        "vinkjes": "multichoice", "getal": "integer"}
    assert fields["keuze"].options == [("a", "Optie A"), ("b", "Optie B")]
    assert fields["tekst"].required and not fields["lang"].required
    assert fields["lang"].label == "Lang"  # falls back to the field name


def test_posted_answers_become_typed_data():
    form = MultiDict([("tekst", " hallo "), ("lang", "r1\nr2"), ("jn", "nee"), ("keuze", "b"), ("datum", "31-12-2026"),
                      ("lijst", "een\n\n twee \n"), ("vinkjes", "x"), ("vinkjes", "y"), ("getal", "42")])
    data, errors, _ = schema_forms.check(SCHEMA, form)
    assert errors == {}
    assert data == {"tekst": "hallo", "lang": "r1\nr2", "jn": False, "keuze": "b", "datum": "2026-12-31",
                    "lijst": ["een", "twee"], "vinkjes": ["x", "y"], "getal": 42}


def test_empty_answers_are_missing_and_reported_in_dutch():
    data, errors, raw = schema_forms.check(SCHEMA, MultiDict([("tekst", "  "), ("getal", "veel"), ("keuze", "c"),
                                                             ("datum", "2026-02-30")]))
    assert errors == {"tekst": ["Dit veld is verplicht."], "jn": ["Dit veld is verplicht."],
                      "keuze": ["Kies een van de opties."], "getal": ["Vul een heel getal in."],
                      "datum": ["Vul een geldige datum in, bijvoorbeeld 31-12-2026."]}
    assert raw["getal"] == "veel" and "tekst" not in data
    fields = {f.name: f for f in schema_forms.fields_for(SCHEMA, raw=raw, errors=errors)}
    assert fields["getal"].value == "veel" and fields["getal"].errors == ["Vul een heel getal in."]


def test_engine_reasons_are_translated():
    assert schema_forms.translate_errors({"x": ["is required"], "y.0": ["'' is too short"]}) == {
        "x": ["Dit veld is verplicht."], "y": ["Dit veld mag niet leeg zijn."]}


FORMS = sorted((PROJECT / "processes" / "forms").glob("*.json"))


@pytest.mark.parametrize("path", FORMS, ids=[p.name for p in FORMS])
def test_every_form_of_the_shipped_processes_renders(path):
    """Whatever the process owners put in processes/forms, the app can show it and read it back."""
    schema = json.loads(path.read_text())
    fields = schema_forms.fields_for(schema)
    assert len(fields) == len([p for p in schema.get("properties", {}).values() if not p.get("readOnly")])
    _, errors, _ = schema_forms.check(schema, MultiDict())
    assert set(errors) == set(schema.get("required", [])) - {n for n, p in schema["properties"].items()
                                                            if p.get("readOnly")}
