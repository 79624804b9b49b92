"""The studio in headless Chromium, as a process owner: open the meldcode, rename a task in the modeler, add a
scenario, see a breaking change refused with the failing scenario named, undo it, deploy; a new case runs the new
version while an old case stays; 50 running cases migrate in bulk after a dry run.

Reuses the browser fixtures of tests/web/test_browser.py (Debian's Chromium, no downloads)."""
from __future__ import annotations

import json

from engine.contract import LANES
from engine.views import Actor
from tests.web.browser_steps import screenshot, send, sign_in

from .edits import scenario

WORKER = Actor("piet", frozenset(LANES), team="noord")
BULK = 50
NEW_NAME = "Stap 0 – Acuut levensgevaar?"
SAVED = "#status:has-text('Opgeslagen')"


def _new_draft_of_version_1(page, base: str) -> None:
    """Signed in as the process owner, a new draft of the meldcode's version 1 open in the modeler."""
    sign_in(page, base, "procesbeheerder")
    page.goto(base + "/studio/")
    page.click("#proces-meldcode button:has-text('Nieuw concept van versie 1')")
    page.wait_for_selector("#status:has-text('Geopend: meldcode.bpmn')")


def test_a_process_owner_changes_tests_deploys_and_migrates(studio_app, studio_services, page,  # noqa: F811
                                                           database_url, studio_server):
    engine = studio_services.cases
    old_case = engine.start_case("meldcode", "OUD-0001", WORKER)
    [first] = engine.open_tasks(case_id=old_case)
    engine.complete_task(first.id, WORKER, {"aanleiding": "zorgen", "levensbedreigend": False})  # moved on
    waiting = [engine.start_case("meldcode", f"WACHT-{i:04d}", WORKER) for i in range(BULK)]

    base = studio_server
    sign_in(page, base, "procesbeheerder")
    page.click("nav a:has-text('Studio')")
    page.wait_for_selector("h1:has-text('Studio')")
    assert page.locator("#proces-meldcode tr[data-version='1'] td.running").inner_text() == str(BULK + 1)
    page.click("#proces-meldcode button:has-text('Nieuw concept van versie 1')")
    task = page.locator('.djs-element[data-element-id="stap0_inschatting"]')
    page.wait_for_selector("#status:has-text('Geopend: meldcode.bpmn')")
    assert page.problems == [], page.problems
    task.wait_for()

    # Rename a task on the canvas.
    task.dblclick()
    editor = page.locator(".djs-direct-editing-parent")
    editor.wait_for()
    page.keyboard.press("Control+a")
    page.keyboard.type(NEW_NAME)
    page.click(".djs-container svg", position={"x": 5, "y": 5})  # outside the label: editing ends
    send(page, {}, "#save", SAVED)

    # Add a scenario.
    send(page, {"#scenario-name": "disclosure.json",
                "#scenario-json": json.dumps(scenario("disclosure_acute_melding.json"), ensure_ascii=False)},
         "#scenario-save", "#scenario-status:has-text('Scenario opgeslagen')")
    assert page.locator('#scenario-table tr[data-file="disclosure.json"]').count() == 1

    # A breaking change: the end event `afgesloten` is deleted. Deploying is refused, naming the scenario.
    send(page, {"#find-element": "afgesloten"}, "#find-form button", "#status:text-is('Gevonden: afgesloten')")
    page.locator('.djs-element[data-element-id="afgesloten"]').click()
    page.click('.djs-context-pad .entry[data-action="delete"]')
    assert page.locator('.djs-element[data-element-id="afgesloten"]').count() == 0
    page.fill("#deploy-comment", "Stap 0 korter gevraagd")
    page.click("#deploy")
    refusal = page.locator("#deploy-result")
    refusal.locator("strong").first.wait_for(timeout=120_000)
    assert "geen vermoeden: de meldcode wordt afgesloten" in refusal.inner_text()
    assert "Niet gedeployed" in refusal.inner_text()
    # Checked on every save: bpmnlint names the task left without an outgoing flow, highlighted on the canvas.
    page.wait_for_selector("#problems li.problem.error:has-text('afsluiten_vastleggen')")
    assert "geen uitgaande stroom" in page.locator("#problems").inner_text()
    assert page.locator('.djs-element.studio-problem[data-element-id="afsluiten_vastleggen"]').count() == 1
    screenshot(page, "studio-deploy-refused", database_url)
    assert [p.latest_version for p in _processes(studio_services) if p.process_id == "meldcode"] == [1]

    # Fix it (undo), run the scenarios, deploy.
    page.click("#undo")
    page.locator('.djs-element[data-element-id="afgesloten"]').wait_for()
    page.click("#run")
    page.wait_for_selector("#status:has-text('0 mislukt')", timeout=120_000)
    page.click("#deploy")
    page.wait_for_selector("text=Gedeployed: meldcode versie 2", timeout=120_000)

    # A new case runs the new version, an old case stays on its own.
    new_case = engine.start_case("meldcode", "NIEUW-0001", WORKER)
    assert engine.case(new_case, WORKER, audit_read=False).process_version == 2
    assert engine.open_tasks(case_id=new_case)[0].name == NEW_NAME
    assert engine.case(old_case, WORKER, audit_read=False).process_version == 1

    # 50 running cases (those still at Stap 0) migrate in bulk after a dry run.
    page.goto(base + "/studio/migratie?proces=meldcode&van=1&naar=2&stap=stap0_inschatting")
    assert page.locator("#case-count").inner_text() == str(BULK)
    page.click("#dry-run")
    page.wait_for_selector("#migration-results")
    assert page.locator("#migration-results tr.ok").count() == BULK
    assert {engine.case(c, WORKER, audit_read=False).process_version for c in waiting} == {1}
    page.click("#move")
    page.wait_for_selector(f"text={BULK} van {BULK} zaken verplaatst naar versie 2")
    screenshot(page, "studio-migrated", database_url)
    assert page.problems == []
    assert {engine.case(c, WORKER, audit_read=False).process_version for c in waiting} == {2}
    assert engine.open_tasks(case_id=waiting[0])[0].name == NEW_NAME
    assert engine.case(old_case, WORKER, audit_read=False).process_version == 1


def _processes(services):
    from engine.studio.service import Studio

    return Studio(services.cases).processes("test")


def test_extension_properties_of_a_user_task_are_edited_in_the_panel(studio_app, studio_services,
                                                                    page, database_url, studio_server):  # noqa: F811
    from engine.studio.service import Studio

    _new_draft_of_version_1(page, studio_server)
    page.locator('.djs-element[data-element-id="stap0_inschatting"]').click()
    assert page.input_value("#prop-id") == "stap0_inschatting"
    assert page.input_value("#prop-form") == "stap0_inschatting.json"
    assert "acuut" in page.input_value("#prop-instructions").lower()
    send(page, {"#prop-instructions": "**Nieuwe instructie** voor Stap 0.", "#prop-due": "werkdagen(1)"},
         "#prop-apply")
    send(page, {}, "#save", SAVED)
    send(page, {}, "#check", "#problems li.ok")  # the engine and bpmnlint accept it
    assert page.problems == []
    [draft] = Studio(studio_services.cases).drafts("procesbeheerder")
    xml = draft.files["meldcode.bpmn"]
    task = xml[xml.index('<bpmn:userTask id="stap0_inschatting"'):]
    task = task[:task.index("</bpmn:userTask>")]
    assert "**Nieuwe instructie** voor Stap 0." in task
    assert 'name="dueDateExpression" value="werkdagen(1)"' in task
    assert 'name="formJsonSchemaFilename" value="stap0_inschatting.json"' in task


def test_the_decision_table_opens_in_dmn_js_and_saves_back(studio_app, studio_services, page,  # noqa: F811
                                                           database_url, studio_server):
    from engine.studio.service import Studio

    _new_draft_of_version_1(page, studio_server)
    page.select_option("#file-select", "afwegingskader.dmn")
    page.wait_for_selector("#status:has-text('Geopend: afwegingskader.dmn')")
    assert page.locator("#dmn-canvas .tjs-table tbody tr").count() >= 4  # the rules of the table
    assert "FIRST" in page.locator("#dmn-canvas .hit-policy").inner_text().upper()
    page.click("#save")
    send(page, {}, "#check", "#problems li.ok")  # what dmn-js writes, the engine still accepts
    # dmn-js bundles Inferno's development build, which says so on the console; anything else is a problem.
    assert [p for p in page.problems if "development build of Inferno" not in p] == []
    [draft] = Studio(studio_services.cases).drafts("procesbeheerder")
    assert 'hitPolicy="FIRST"' in draft.files["afwegingskader.dmn"]
