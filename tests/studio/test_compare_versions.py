"""Two deployed versions compared with each other (not only a draft against a version): in the engine and on the
studio page. Version 2 is the shipped example variant (processes/variants/verhuizing_altijd_melden)."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from engine.diagrams import read_directory
from engine.errors import DiagramError
from engine.models import AuditEvent
from engine.studio.service import Studio

from .conftest import USERNAMES, login
from .edits import PROCESSES

VARIANT = PROCESSES / "variants" / "verhuizing_altijd_melden"


@pytest.fixture
def two_versions(studio_services):
    results = studio_services.cases.deploy_files(read_directory(VARIANT), "cli", comment="variant verhuizing")
    assert {r.process_id: r.version for r in results}["meldcode"] == 2
    return studio_services


def _owner(app):
    client = app.test_client()
    login(client, USERNAMES["procesbeheerder"])
    return client


def test_two_versions_are_compared_per_element_and_form_field(two_versions):
    files, changes = Studio(two_versions.cases).compare_versions("pb", "meldcode", 1, 2)
    assert files == read_directory(VARIANT)
    by_file = {c.filename: c for c in changes}
    assert set(by_file) == {"meldcode.bpmn", "forms/stap6_verhuizing.json", "forms/stap6_melden_nieuwe_regio.json"}
    bpmn = by_file["meldcode.bpmn"]
    assert {"gw_melden_nieuwe_regio", "gw_nieuwe_regio_samen"} <= {i["id"] for i in bpmn.added}
    assert "f_gw_bekend_bij_vt_stap6_melden_nieuwe_regio" in {i["id"] for i in bpmn.removed}
    changed = {i["id"]: i for i in bpmn.changed}
    assert changed["overdracht_door_veilig_thuis"]["type"] == "intermediateThrowEvent"  # was an end event
    assert "Participant_meldcode" not in changed  # a wider diagram is layout, not a change of the route
    form = by_file["forms/stap6_verhuizing.json"]
    assert [i["id"] for i in form.added] == ["duurzame_veiligheid"]

    back = {c.filename: c for c in Studio(two_versions.cases).compare_versions("pb", "meldcode", 2, 1)[1]}
    assert {i["id"] for i in back["meldcode.bpmn"].removed} >= {"gw_melden_nieuwe_regio"}
    assert Studio(two_versions.cases).compare_versions("pb", "meldcode", 2, 2)[1] == []

    with two_versions.sessions() as session:
        recorded = session.scalars(select(AuditEvent).where(AuditEvent.action == "studio.compare_versions")).all()
    assert [(e.actor, e.details["versions"]) for e in recorded] == [("pb", [1, 2]), ("pb", [2, 1]), ("pb", [2, 2])]


def test_a_missing_version_is_refused(two_versions):
    with pytest.raises(DiagramError, match="version 7 does not exist"):
        Studio(two_versions.cases).compare_versions("pb", "meldcode", 1, 7)


def test_the_compare_page_lists_the_changes_and_marks_them_on_the_newer_diagram(studio_app, two_versions):
    client = _owner(studio_app)
    overview = client.get("/studio/")
    assert "/studio/versies/vergelijken?proces=meldcode" in overview.text
    page = client.get("/studio/versies/vergelijken?proces=meldcode")  # default: the latest against the one before
    assert page.status_code == 200
    assert "Van versie 1 naar versie 2" in page.text
    assert "toegevoegd: exclusiveGateway gw_melden_nieuwe_regio ‘Melden in de nieuwe regio?’" in page.text
    assert "forms/stap6_verhuizing.json" in page.text and "toegevoegd: field duurzame_veiligheid" in page.text
    data = json.loads(re.search(r'<script type="application/json" id="compare-data">(.*?)</script>', page.text,
                                re.DOTALL).group(1))
    assert ["gw_melden_nieuwe_regio", "studio-added"] in data["marks"]
    assert ["overdracht_door_veilig_thuis", "studio-changed"] in data["marks"]
    assert 'id="gw_melden_nieuwe_regio"' in data["xml"]
    assert 'src="/studio/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js"' in page.text
    assert client.get("/studio/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js").status_code == 200
    assert client.get("/static/studio/compare.js").status_code == 200

    same = client.get("/studio/versies/vergelijken?proces=kindcheck")  # one version only
    assert same.status_code == 200 and "Geen verschillen." in same.text and "compare-data" in same.text
    assert client.get("/studio/versies/vergelijken?proces=meldcode&oud=1&nieuw=9").status_code == 404
    assert client.get("/studio/versies/vergelijken?proces=meldcode&oud=x&nieuw=2").status_code == 200


def test_only_process_owners_compare_versions(studio_app, two_versions):
    client = studio_app.test_client()
    login(client, USERNAMES["professional"])
    assert client.get("/studio/versies/vergelijken?proces=meldcode&oud=1&nieuw=2").status_code == 403
    anonymous = studio_app.test_client().get("/studio/versies/vergelijken?proces=meldcode")
    assert anonymous.status_code == 302 and anonymous.location.split("?")[0].endswith("/inloggen")


def test_the_changes_are_coloured_on_the_diagram_in_chromium(studio_app, two_versions, page, studio_server):
    from tests.web.test_browser import sign_in

    base = studio_server
    sign_in(page, base, "procesbeheerder")
    page.goto(base + "/studio/")
    page.click("#proces-meldcode a:has-text('Versies van meldcode vergelijken')")
    page.wait_for_selector("#compare-canvas[data-marked]")
    added = page.locator('.djs-element.studio-added[data-element-id="gw_melden_nieuwe_regio"]')
    changed = page.locator('.djs-element.studio-changed[data-element-id="overdracht_door_veilig_thuis"]')
    assert added.count() == 1 and changed.count() == 1
    assert page.locator('.djs-element.studio-added[data-element-id="stap0_inschatting"]').count() == 0
    assert page.problems == [], page.problems
    # Another pair of versions from the choice on the page: the same version twice marks nothing.
    page.select_option("select[name=oud]", "2")
    page.click("button:has-text('Vergelijken')")
    page.wait_for_selector("#compare-canvas[data-marked='0']")
    assert "Geen verschillen." in page.locator("#verschillen").inner_text()
