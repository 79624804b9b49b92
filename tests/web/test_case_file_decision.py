"""The case file of the shipped meldcode in Chromium: the afwegingskader's decision as a timeline entry of its own
(with the answers it was based on), the progress in the header, the whole process fitted to the width, no axe-core
violation (the diagram is a labelled group, not an image around bpmn-js' link); and on a phone (390 px) a
one-column timeline without sideways scrolling."""
from __future__ import annotations

import dataclasses
import json
from contextlib import contextmanager

from engine import clock
from engine.cases import Actor
from web.auth import service as accounts

from .axe import assert_accessible
from .browser_steps import PROJECT, open_case_file, screenshot, served_page, sign_in
from .conftest import PASSWORD
from .test_browser import SCENARIO

AFWEGING_3_4 = "stap5_afweging3_4"


def _shipped(make_app, web_settings):
    # The settings become a typed settings object with its own `replace` (issue 8); a dataclass before that.
    settings = web_settings.replace(start_process="meldcode") if hasattr(web_settings, "replace") \
        else dataclasses.replace(web_settings, start_process="meldcode")
    app = make_app(settings)
    services = app.extensions["meldcode"]
    services.cases.deploy_directory(PROJECT / "processes", "tester")
    accounts.create_user(services.sessions, "professional", PASSWORD, ["professional"], "noord",
                         display_name="Pim Professional")
    return app, services


def _past_the_afwegingen(services, client_ref: str) -> int:
    """A shipped-meldcode case driven with a scenario's answers until the afwegingskader has decided."""
    from engine.scenarios import _Answers, _Clock

    actor = Actor("professional", frozenset({"professional", "aandachtsfunctionaris"}), "noord")
    fill = _Answers(json.loads(SCENARIO.read_text())["answers"], autofill=True)
    case_id = services.cases.start_case("meldcode", client_ref, actor, team="noord",
                                        data={"levensbedreigend": False, "aanleiding": "Zorgen over verwaarlozing"})
    for _ in range(30):
        info = services.cases.case(case_id, actor, audit_read=False)
        if any(h["element_id"] == AFWEGING_3_4 for h in info.history):
            return case_id
        [task, *_] = services.cases.open_tasks(case_id=case_id)
        task = services.cases.task(task.id, actor, audit_read=False)
        services.cases.complete_task(task.id, actor, fill.form_data(
            task.form_schema, task.element_id, _Clock(clock.now(), services.engine_settings.timezone)))
    raise AssertionError("the case did not reach the afwegingskader")


@contextmanager
def _case_file_after_the_decision(browser, make_app, web_settings, client_ref: str, **context_options):
    """The professional's case file of a shipped-meldcode case past the afwegingskader, in Chromium; yields
    (page, services, case id)."""
    app, services = _shipped(make_app, web_settings)
    case_id = _past_the_afwegingen(services, client_ref)
    with served_page(browser, app, **context_options) as (page, base):
        sign_in(page, base, "professional")
        open_case_file(page, base, case_id)
        yield page, services, case_id


def test_the_decision_appears_in_the_timeline_after_the_afwegingen(browser, make_app, web_settings, database_url):
    with _case_file_after_the_decision(browser, make_app, web_settings, "CL-BESLUIT-1",
                                       viewport={"width": 1280, "height": 900}, locale="nl-NL") as opened:
        page, services, case_id = opened
        entries = page.locator("ol.timeline > li")
        ids = [entries.nth(i).get_attribute("id") for i in range(entries.count())]
        decision = page.locator("#besluit")
        assert decision.count() == 1
        [afweging] = [h for h in services.cases.case(case_id, Actor("professional", frozenset({"professional"}),
                                                                     "noord"), audit_read=False).history
                      if h["element_id"] == AFWEGING_3_4]
        # Its own entry, right after the last afweging.
        assert ids[ids.index("besluit") - 1] == f"stap-{afweging['task_id']}"
        heading = decision.locator("h3").inner_text()
        assert heading.startswith("Besluit: melden en hulp, omdat er een vermoeden is")
        assert "er sprake is van structurele onveiligheid" in heading and "de betrokkenen meewerken" in heading
        answers = decision.locator("dl.answers").inner_text()
        assert "Afweging 4: werken de betrokkenen mee aan de hulp?" in answers
        # The header says where the case stands.
        progress = " ".join(page.inner_text(".progress-label").split())
        assert progress == "Voortgang: Stap 5 van 6 · Beslissen: melden en/of hulp", progress
        assert page.locator("ol.progress-steps li[aria-current=step]").count() == 1
        assert_accessible(page, "dossier (meldcode, na het besluit)")
        screenshot(page, "dossier", database_url)
        # "Hele proces": the diagram fills the width of its box (not shrunk to fit the page).
        page.click("button[data-view=geheel]")
        page.wait_for_selector("#diagram[data-view=geheel]")
        widths = page.evaluate("""() => {
            const box = document.getElementById('diagram').getBoundingClientRect();
            const drawn = document.querySelector('#diagram .djs-container svg .viewport').getBoundingClientRect();
            return [box.width, drawn.width]; }""")
        assert abs(widths[0] - widths[1]) < 0.1 * widths[0], widths


def test_the_case_file_on_a_phone_has_a_one_column_timeline(browser, make_app, web_settings, database_url):
    with _case_file_after_the_decision(browser, make_app, web_settings, "CL-MOBIEL-1",
                                       viewport={"width": 390, "height": 844}, locale="nl-NL", is_mobile=True,
                                       has_touch=True) as (page, _, _):
        overflow = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert overflow[0] <= overflow[1], f"the page scrolls sideways: {overflow}"
        # One column: each entry's time stands above its content, and the content uses the full width.
        for selector in ("ol.timeline > li:first-child", "#besluit"):
            when = page.locator(f"{selector} > .when").bounding_box()
            what = page.locator(f"{selector} > .what").bounding_box()
            assert when["y"] + when["height"] <= what["y"] + 1, selector
            assert abs(when["x"] - what["x"]) < 2, selector
        [dt, dd] = [page.locator("#besluit dl.answers dt").first.bounding_box(),
                    page.locator("#besluit dl.answers dd").first.bounding_box()]
        assert dt["y"] + dt["height"] <= dd["y"] + 1  # the answers too: question above answer
        assert_accessible(page, "dossier op een telefoon")
        screenshot(page, "dossier-mobiel", database_url)
