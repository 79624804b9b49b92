"""Form fields from JSON Schema and posted answers back into task data (no database needed)."""
from __future__ import annotations

import json
from datetime import UTC
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


def test_engine_reasons_are_translated_from_the_rule():
    from engine.errors import ValidationError
    from engine.forms import validate

    schema = {"type": "object", "required": ["x"], "additionalProperties": False,
              "properties": {"x": {"type": "string"}, "y": {"type": "array", "items": {"type": "string", "minLength": 1}},
                             "d": {"type": "string", "format": "date"}, "n": {"type": "integer", "maximum": 3},
                             "t": {"type": "string"}}}
    with pytest.raises(ValidationError) as info:
        validate(schema, {"y": [""], "d": "gisteren", "n": 4, "t": "a\x00b", "z": 1})
    assert schema_forms.translate_errors(info.value) == {
        "x": ["Dit veld is verplicht."], "y": ["Dit veld mag niet leeg zijn."],
        "d": ["Vul een geldige datum in, bijvoorbeeld 31-12-2026."], "n": ["Dit getal is te groot."],
        "t": ["Deze tekst bevat een onzichtbaar stuurteken; alleen regeleinden en tabs zijn toegestaan."],
        "z": ["Dit veld hoort niet bij dit formulier."]}


def test_translation_does_not_read_the_english_message():
    from engine.errors import ValidationError

    # jsonschema may reword its messages; the rule decides the Dutch text.
    reworded = ValidationError({"x": ["a reworded message"]}, {"x": [("required", "a reworded message")]})
    assert schema_forms.translate_errors(reworded) == {"x": ["Dit veld is verplicht."]}
    # An error without rules (raised by other engine callers) still shows its reason.
    assert schema_forms.translate_errors(ValidationError({"x": ["is required"]})) == {
        "x": ["Ongeldig antwoord (is required)."]}


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


# -- dates in the past, date-times, expertise checkboxes, clearable choices, prefill (issue 9) --------------
PLAN = {"type": "object", "required": ["evaluatiedatum"], "additionalProperties": False, "properties": {
    "evaluatiedatum": {"type": "string", "format": "date", "x-confirm-past": True, "title": "Evaluatiedatum"},
    "gemeld_op": {"type": "string", "format": "date-time", "title": "Gemeld op"},
    "deskundigheid": {"type": "array", "uniqueItems": True, "title": "Deskundigheid",
                      "items": {"type": "string", "enum": ["letsel", "eergerelateerd", "vgv"],
                                "x-enumLabels": ["Letsel / vertrouwensarts", "Eergerelateerd geweld", "VGV"]}},
    "politie": {"type": "boolean", "title": "Contact met de politie?"},
    "regie": {"type": "string", "enum": ["wij", "anderen"], "x-prefill": False},
}}
TODAY = __import__("datetime").date(2027, 1, 11)


def test_a_date_in_the_past_waits_for_confirmation():
    data, errors, raw = schema_forms.check(PLAN, MultiDict([("evaluatiedatum", "10-01-2027")]), today=TODAY)
    assert errors == {"evaluatiedatum": [schema_forms.PAST_WARNING]} and "evaluatiedatum" not in data
    [field] = [f for f in schema_forms.fields_for(PLAN, raw=raw, errors=errors) if f.name == "evaluatiedatum"]
    assert field.confirm_past and field.value == "10-01-2027" and field.confirm_name == "evaluatiedatum__bevestigd"
    confirmed, errors, _ = schema_forms.check(
        PLAN, MultiDict([("evaluatiedatum", "10-01-2027"), ("evaluatiedatum__bevestigd", "ja")]), today=TODAY)
    assert errors == {} and confirmed["evaluatiedatum"] == "2027-01-10"
    for day in ("2027-01-11", "2027-03-01"):  # today and later need no confirmation
        assert schema_forms.check(PLAN, MultiDict([("evaluatiedatum", day)]), today=TODAY)[1] == {}
    # without the marker a past date is an ordinary answer
    assert schema_forms.check(SCHEMA, MultiDict([("tekst", "x"), ("jn", "ja"), ("keuze", "a"),
                                                 ("datum", "01-01-2000")]))[1] == {}


def test_the_confirmation_box_is_rendered_with_the_warning(app):
    from flask import render_template_string

    _, errors, raw = schema_forms.check(PLAN, MultiDict([("evaluatiedatum", "2027-01-10")]), today=TODAY)
    with app.test_request_context():
        html = render_template_string('{% from "_macros.html" import render_field %}'
                                      '{% for f in fields %}{{ render_field(f) }}{% endfor %}',
                                      fields=schema_forms.fields_for(PLAN, raw=raw, errors=errors))
    assert "Deze datum ligt in het verleden" in html
    assert 'type="checkbox" id="veld-evaluatiedatum-bevestigd" name="evaluatiedatum__bevestigd" value="ja"' in html
    assert 'type="datetime-local" id="veld-gemeld_op"' in html
    assert html.count('name="deskundigheid" value=') == 3 and "Eergerelateerd geweld" in html  # checkboxes
    assert 'name="politie" value="" checked' in html and "Geen antwoord" in html  # optional: can be cleared


def test_several_kinds_of_expertise_and_a_date_time():
    form = MultiDict([("evaluatiedatum", "2027-02-01"), ("deskundigheid", "letsel"), ("deskundigheid", "vgv"),
                      ("gemeld_op", "2027-01-11T09:30"), ("politie", "")])
    data, errors, _ = schema_forms.check(PLAN, form, today=TODAY, tz="Europe/Amsterdam")
    assert errors == {}
    assert data == {"evaluatiedatum": "2027-02-01", "deskundigheid": ["letsel", "vgv"],
                    "gemeld_op": "2027-01-11T09:30:00+01:00"}  # a cleared optional choice is no answer
    twice = MultiDict([("evaluatiedatum", "2027-02-01"), ("deskundigheid", "vgv"), ("deskundigheid", "vgv")])
    assert schema_forms.check(PLAN, twice, today=TODAY)[1] == {"deskundigheid": ["Kies elke optie hoogstens één keer."]}
    assert schema_forms.check(PLAN, MultiDict([("evaluatiedatum", "2027-02-01"), ("gemeld_op", "morgen")]),
                              today=TODAY)[1] == {"gemeld_op": ["Vul een geldige datum en tijd in, bijvoorbeeld "
                                                                "31-12-2026 09:30."]}
    [shown] = [f for f in schema_forms.fields_for(PLAN, data=data) if f.name == "gemeld_op"]
    assert shown.value == "2027-01-11T09:30"


def test_prefill_takes_every_field_except_those_that_opt_out():
    assert schema_forms.prefill_names(PLAN) == ["evaluatiedatum", "gemeld_op", "deskundigheid", "politie"]


def test_a_moment_in_the_future_is_refused_and_now_is_the_default():
    from datetime import datetime

    from engine import clock

    schema = {"type": "object", "properties": {
        "melding_datum": {"type": "string", "format": "date-time", "x-not-in-future": True},
        "dag": {"type": "string", "format": "date", "x-not-in-future": True}}}
    with clock.frozen_at(datetime(2027, 1, 11, 8, 30, tzinfo=UTC)):  # 09:30 in Amsterdam
        [shown, _] = schema_forms.fields_for(schema)
        assert shown.value == "2027-01-11T09:30"  # starts at now
        data, errors, _ = schema_forms.check(schema, MultiDict([("melding_datum", "2027-01-11T09:30"),
                                                                ("dag", "2027-01-11")]), today=TODAY)
        assert errors == {} and data["melding_datum"] == "2027-01-11T09:30:00+01:00"
        _, errors, _ = schema_forms.check(schema, MultiDict([("melding_datum", "2027-01-11T09:31"),
                                                             ("dag", "12-01-2027")]), today=TODAY)
        assert errors == {"melding_datum": [schema_forms.FUTURE_ERROR], "dag": [schema_forms.FUTURE_ERROR]}
