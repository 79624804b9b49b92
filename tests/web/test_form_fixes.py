"""Small form fixes of issue 13: an optional radio group can be cleared, several kinds of expertise can be chosen,
inputs carry `required` (and no `aria-required` on a fieldset: axe-core aria-allowed-attr), deadlines are worded
as what is due, and the message after a step links to the dossier."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from werkzeug.datastructures import MultiDict

from engine import clock
from web import schema_forms

from .conftest import login, open_task, start_case

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
SCHEMA = {"type": "object", "required": ["tekst", "jn", "keuze", "lang"], "properties": {
    "tekst": {"type": "string", "title": "Tekst"},
    "lang": {"type": "string", "title": "Lang", "x-widget": "textarea"},
    "datum": {"type": "string", "format": "date", "title": "Datum"},
    "jn": {"type": "boolean", "title": "Ja of nee"},
    "keuze": {"type": "string", "enum": ["a", "b"], "x-enumLabels": ["A", "B"], "title": "Keuze"},
    "vrij_jn": {"type": "boolean", "title": "Optioneel ja of nee"},
    "vrije_keuze": {"type": "string", "enum": ["x", "y"], "title": "Optionele keuze"},
}}


def _html(app, fields) -> str:
    from flask import render_template_string

    with app.test_request_context():
        return render_template_string('{% from "_macros.html" import render_field %}'
                                      '{% for f in fields %}{{ render_field(f) }}{% endfor %}', fields=fields)


def test_required_inputs_carry_required_and_fieldsets_no_aria_required(app):
    html = _html(app, schema_forms.fields_for(SCHEMA))
    assert "aria-required" not in html
    assert re.search(r'<input type="text" id="veld-tekst" name="tekst" value=""[^>]* required', html)
    assert re.search(r'<textarea id="veld-lang" name="lang"[^>]* required', html)
    assert not re.search(r'name="datum"[^>]* required', html)  # optional
    # A required radio group: every radio is required (one of them must be chosen); an optional one is not.
    assert len(re.findall(r'name="jn" value="(?:ja|nee)" required', html)) == 2
    assert len(re.findall(r'name="keuze" value="[ab]" required', html)) == 2
    assert not re.search(r'name="vrij_jn"[^>]* required', html)
    for fieldset in re.findall(r"<fieldset[^>]*>", html):
        assert "required" not in fieldset


def test_an_optional_radio_group_can_be_cleared_without_javascript(app):
    _, _, raw = schema_forms.check(SCHEMA, MultiDict([("vrij_jn", "ja"), ("vrije_keuze", "x")]))
    html = _html(app, schema_forms.fields_for(SCHEMA, raw=raw))
    assert 'name="vrij_jn" value="ja" checked' in html and 'name="vrije_keuze" value="x" checked' in html
    assert 'name="vrij_jn" value="" ' in html and "Geen antwoord" in html
    assert 'name="vrije_keuze" value="" ' in html
    # Choosing "Geen antwoord" sends an empty value: the answer is left out.
    data, errors, _ = schema_forms.check(SCHEMA, MultiDict([("tekst", "t"), ("lang", "l"), ("jn", "nee"),
                                                            ("keuze", "a"), ("vrij_jn", ""), ("vrije_keuze", "")]))
    assert errors == {} and "vrij_jn" not in data and "vrije_keuze" not in data
    assert data["jn"] is False


def test_stap_2_offers_several_kinds_of_expertise(app):
    schema = json.loads((PROCESSES / "forms" / "stap2_collegiale_consultatie.json").read_text())
    html = _html(app, schema_forms.fields_for(schema))
    assert len(re.findall(r'type="checkbox"[^>]* name="deskundigheid"', html)) == 3
    form = MultiDict([("geraadpleegd_type", "aandachtsfunctionaris"), ("geraadpleegd", "Anna, AF"),
                      ("advies", "Bespreken"), ("advies_veilig_thuis", "nee"),
                      ("deskundigheid", "letsel_vertrouwensarts"), ("deskundigheid", "vgv")])
    data, errors, _ = schema_forms.check(schema, form)
    assert errors == {} and data["deskundigheid"] == ["letsel_vertrouwensarts", "vgv"]


def test_a_deadline_says_when_it_is_due_and_te_laat_only_when_passed(app, services):
    with clock.frozen_at(clock.now() - timedelta(days=20)):
        late_case = start_case(services, client_ref="CL-LAAT")
    case_id = start_case(services, client_ref="CL-OP-TIJD")
    client = app.test_client()
    login(client, "professional")
    due = open_task(services, case_id, "stap1")
    page = client.get(f"/taken/{due.id}").text
    local = due.due_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Amsterdam"))
    assert f"uiterlijk {local:%d-%m-%Y}" in page and "te laat" not in page
    late = open_task(services, late_case, "stap1")
    page = client.get(f"/taken/{late.id}").text
    local = late.due_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Amsterdam"))
    assert f"te laat sinds {local:%d-%m-%Y}" in page and "uiterlijk" not in page


def test_after_completing_the_message_links_to_the_dossier(app, services):
    case_id = start_case(services)
    task = open_task(services, case_id, "stap1")
    client = app.test_client()
    token = login(client, "professional")
    done = client.post(f"/taken/{task.id}", data={"csrf_token": token, "signalen": "Gezien", "zorg": "laag",
                                                   "betreft_beroepskracht": "nee", "datum_signalering": "2026-02-03"},
                       follow_redirects=True)
    assert f'<a class="dossier-link" href="/zaken/{case_id}">het dossier</a>' in done.text
    assert "is afgerond en vastgelegd in" in done.text
