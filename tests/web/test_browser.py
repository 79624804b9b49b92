"""The app in headless Chromium: sign in, start a case, complete Stap 1 after a validation error, see the
case file with the diagram marking the current task, sign out. Screenshots go to test-output/.

Drives Debian's Chromium (/usr/bin/chromium, `apt-get install -y chromium`; scripts/setup.sh --test installs
it). Playwright never downloads a browser here. A missing browser fails the tests: they are not skipped.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine import clock
from engine.cases import Actor
from tests.conftest import ARGS, CHROMIUM, VIEWER  # noqa: F401 - the browser fixtures live in tests/conftest.py
from web.auth import service as accounts
from web.labels import milestone_label

from .browser_steps import (
    COMPLETE,
    PROJECT,
    open_case_file,
    screenshot,
    send,
    served_page,
    sign_in,
    sign_out,
    start_case_in_browser,
)
from .conftest import PASSWORD, start_case

# The behaviour depends on the database (tests/conftest.py ONE_BACKEND_DIRS): both backends.
pytestmark = pytest.mark.backends("sqlite", "postgres")


def _name_team(services, name: str, title: str) -> None:
    """Give a test team the title people know it by (the screenshots show names, never ids)."""
    from sqlalchemy import update

    from web.auth.models import Team

    with services.sessions.begin() as session:
        session.execute(update(Team).where(Team.name == name).values(title=title))


def test_a_professional_takes_a_case_through_stap_1_in_the_browser(app, services, live_server, page, database_url):
    _name_team(services, "noord", "Wijkteam Noord")
    # Some work already waiting, so the inbox shows order and an overdue task.
    with clock.frozen_at(clock.now() - timedelta(days=9)):
        start_case(services, client_ref="CL-2026-007")
    start_case(services, client_ref="CL-2026-011")

    sign_in(page, live_server, "professional")
    start_case_in_browser(page, "CL-2026-042", "Leerling vertelt dat vader hem slaat.", levensbedreigend=False)

    # Stap 1, first with a validation error: the documentation of the signals is missing.
    page.wait_for_selector("h1:has-text('Stap 1: signalen in kaart brengen')")
    assert "Wat heeft u" in page.inner_text(".instructions")
    send(page, {"#veld-bron": "De mentor", "#veld-besproken_met": "Mentor\nIntern begeleider",
                "input[name=betreft_beroepskracht][value=nee]": True, "input[name=zorg][value=hoog]": True,
                "#veld-datum_signalering": "2026-11-20"}, COMPLETE, "#veld-signalen-fout")
    assert "Dit veld is verplicht" in page.inner_text("#veld-signalen-fout")
    assert page.input_value("#veld-bron") == "De mentor"
    assert page.input_value("#veld-datum_signalering") == "2026-11-20"
    assert page.is_checked("input[name=zorg][value=hoog]")
    screenshot(page, "task-validation", database_url)
    send(page, {"#veld-signalen": "Blauwe plekken op beide armen, gezien op 20 november in de gymles."}, COMPLETE,
         "h1:has-text('Inbox')")  # back in the inbox, with a confirmation and the next step named
    confirmation = page.inner_text(".banner.success")
    assert "is afgerond" in confirmation and "Stap 2: collegiale consultatie" in confirmation
    rows = page.locator("table.inbox tbody tr")
    assert rows.count() == 2 and "CL-2026-007" in rows.nth(0).inner_text()  # overdue first
    assert "te laat" in rows.nth(0).inner_text()
    screenshot(page, "inbox", database_url)

    # The case file: timeline, and the diagram with Stap 1 done and Stap 2 current.
    page.click("nav a:has-text('Zaken')")
    page.click("a:has-text('CL-2026-042')")
    page.wait_for_selector("#diagram[data-state=ready]")
    assert "Wijkteam Noord" in page.inner_text(".eyebrow") and "Test professional" in page.inner_text(".timeline")
    assert page.locator('g.djs-element.mc-active[data-element-id="stap2"]').count() == 1
    assert page.locator('g.djs-element.mc-completed[data-element-id="stap1"]').count() == 1
    assert page.locator('g.djs-element.mc-completed[data-element-id="start"]').count() == 1
    assert page.locator('g.djs-element.mc-active[data-element-id="stap4"]').count() == 0
    fill = page.eval_on_selector('g[data-element-id="stap2"] .djs-visual > rect',
                                 "el => getComputedStyle(el).fill")
    assert fill == "rgb(255, 241, 224)", fill  # the current step is drawn highlighted
    timeline = page.inner_text(".timeline")
    assert "Blauwe plekken op beide armen" in timeline and "Intern begeleider" in timeline
    screenshot(page, "case-file", database_url)

    sign_out(page)
    page.goto(live_server + "/")
    assert "/inloggen" in page.url
    assert page.problems == [], page.problems  # no script errors, no CSP violations


def test_the_task_page_works_without_javascript(browser, app, services, live_server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, live_server, "professional")
        start_case_in_browser(page, "CL-NOJS-1", "Zorgen", levensbedreigend=True)
        page.wait_for_selector("h1:has-text('Stap 0: acute actie')")
        assert page.input_value("#veld-aanleiding") == "Zorgen"  # from the start form
        send(page, {"#veld-acute_acties": "112 gebeld; kind bij oma ondergebracht."}, COMPLETE,
             "text=Bereikt: Acute actie ondernomen (Stap 0)")
    finally:
        context.close()




def test_the_shipped_meldcode_starts_and_shows_its_diagram(browser, make_app, web_settings, engine_settings,
                                                            database_url):
    """The real diagrams of processes/: the start form fills in Stap 0 and bpmn-js draws the current step."""
    app = make_app(web_settings.replace(start_process="meldcode"))
    services = app.extensions["meldcode"]
    services.cases.deploy_directory(PROJECT / "processes", "tester")
    accounts.create_user(services.sessions, "professional", PASSWORD, ["professional"], "noord")
    with served_page(browser, app, viewport={"width": 1280, "height": 900}) as (page, base):
        sign_in(page, base, "professional")
        start_case_in_browser(page, "CL-2026-100", "Moeder vertelt over geweld door partner.", levensbedreigend=False)
        page.wait_for_selector(".task-form")
        # No question is asked twice: the start form answered Stap 0, so the professional goes on with Stap 1.
        assert page.locator("input[name=levensbedreigend]").count() == 0
        [case] = services.cases.list_cases()
        [task] = services.cases.open_tasks(case_id=case.id)
        assert task.element_id == "stap1_signalen"
        user = services.cases.case(case.id, Actor("professional", frozenset({"professional"}), team="noord"),
                                   audit_read=False)
        [stap0] = [h for h in user.history if h["element_id"] == "stap0_inschatting"]
        assert stap0["data"]["aanleiding"] == "Moeder vertelt over geweld door partner."
        assert stap0["data"]["levensbedreigend"] is False
        open_case_file(page, base, case.id)
        assert page.locator(f'g.djs-element.mc-active[data-element-id="{task.element_id}"]').count() == 1
        screenshot(page, "case-file-meldcode", database_url)


SCENARIO = PROJECT / "tests" / "scenarios" / "structurele_onveiligheid_melding.json"


def _fill(page, schema: dict, answers: dict) -> None:
    """Answer a task form the way a person would: the scenario's answer where it has one, else something sensible."""
    for name, prop in (schema.get("properties") or {}).items():
        if prop.get("readOnly"):
            continue
        kind = prop.get("type")
        value = answers.get(name)
        field = f"[name={name}]"
        if kind == "boolean":
            page.check(f"input{field}[value={'ja' if value else 'nee'}]")
        elif "enum" in prop:
            choice = str(value if value is not None else prop["enum"][0])
            if page.locator(f"select{field}").count():
                page.select_option(f"select{field}", choice)
            else:
                page.check(f"input{field}[value='{choice}']")
        elif kind == "array":
            if page.locator(f"input{field}[type=checkbox]").count():
                page.locator(f"input{field}[type=checkbox]").first.check()
            else:
                page.fill(field, "\n".join(value) if isinstance(value, list) else "Mentor\nOuders")
        elif prop.get("format") == "date":
            today = clock.now().date()
            if prop.get("x-confirm-past") and (value is None or value < today.isoformat()):
                value = (today + timedelta(weeks=6)).isoformat()  # a planned moment ahead, as people plan
            page.fill(field, value or today.isoformat())
        elif prop.get("format") == "date-time":
            if value is not None:
                page.fill(field, str(value)[:16])
            assert page.input_value(field), f"{name}: a moment is filled in (by default now)"
        elif kind in ("number", "integer"):
            page.fill(field, str(value if value is not None else 1))
        else:
            page.fill(field, str(value) if value is not None else "Feitelijk vastgelegd tijdens de demo.")


def test_demo_users_take_the_shipped_meldcode_from_stap_0_to_a_melding(browser, make_app, web_settings,
                                                                        database_url):
    """The README's walk-through: the demo professional starts, the demo aandachtsfunctionaris consults, and the
    professional goes on until the melding at Veilig Thuis — only through the pages."""
    import json

    from web.demo import DEMO_PASSWORD, DEMO_USERS, seed_users

    answers = json.loads(SCENARIO.read_text())["answers"]
    app = make_app(web_settings.replace(start_process="meldcode"))
    services = app.extensions["meldcode"]
    services.cases.deploy_directory(PROJECT / "processes", "tester")
    seed_users(services.sessions)
    by_role = {u.roles[0]: u.username for u in DEMO_USERS if u.team == "wijkteam-noord"}
    signed_in = None

    def become(username):
        nonlocal signed_in
        if signed_in == username:
            return
        if signed_in:
            sign_out(page)
        page.goto(base + "/inloggen")
        page.fill("#username", username)
        page.fill("#password", DEMO_PASSWORD)
        page.click("button:has-text('Aanmelden')")
        page.wait_for_selector("h1:has-text('Inbox')")
        signed_in = username

    with served_page(browser, app, viewport={"width": 1280, "height": 900}) as (page, base):
        become(by_role["professional"])
        start_case_in_browser(page, "CL-2026-555", "Structurele verwaarlozing opgemerkt.", levensbedreigend=False)
        [case] = [c for c in services.cases.list_cases() if c.client_ref == "CL-2026-555"]
        steps = []
        for _ in range(25):
            if "melding_veilig_thuis" in services.cases.milestones(case.id):
                break
            [task, *_] = services.cases.open_tasks(case_id=case.id)
            become(by_role[task.lane])
            page.goto(f"{base}/")
            page.click(f"tr[data-task-id='{task.id}'] a.task-link")  # from the inbox, as a person would
            page.wait_for_selector("button:has-text('Vastleggen en afronden')")
            worker = Actor(signed_in, frozenset({task.lane}), "wijkteam-noord")
            schema = services.cases.task(task.id, worker).form_schema
            _fill(page, schema or {}, answers)
            page.click("button:has-text('Vastleggen en afronden')")
            page.wait_for_selector("h1:has-text('Inbox')")
            steps.append(f"{task.lane}: {task.name}")
        assert "melding_veilig_thuis" in services.cases.milestones(case.id), steps
        open_case_file(page, base, case.id)
        assert "Melding gedaan bij Veilig Thuis" in page.inner_text(".milestones")
        screenshot(page, "case-file-melding", database_url)


# -- case events on the shipped meldcode (issue 9): each button on a case in follow-up, the route reacts --------
EVENTS = {  # event -> (the task that opens at once, answers for it, what the route then shows)
    "nieuwe_signalen": ("Afweging 5 bij nieuwe signalen", {"duurzame_veiligheid": False}, None),
    "hulp_geweigerd": ("Melden: hulp geweigerd", {"gesprek_uitzondering": "geen"}, "melding_veilig_thuis"),
    "verhuisd": ("Verhuizing", {"nieuwe_gemeente": "Utrecht", "toestemming_overdracht": True,
                                "bekend_bij_veilig_thuis": False}, "warme_overdracht"),
}


def _into_follow_up(services, actor, client_ref: str) -> int:
    """A shipped-meldcode case after its melding, with help organised: waiting for the evaluation moment.
    Driven through the engine with a scenario's answers (the pages are tested above)."""
    import json

    from engine.scenarios import _Answers, _Clock

    answers = {**json.loads(SCENARIO.read_text())["answers"], "evaluatiedatum": "P6W"}
    fill = _Answers(answers, autofill=True)
    case_id = services.cases.start_case("meldcode", client_ref, actor, team=actor.team,
                                        data={"levensbedreigend": False, "aanleiding": "Zorgen over verwaarlozing"})
    for _ in range(40):
        if services.cases.available_events(case_id, actor):
            return case_id
        [task, *_] = services.cases.open_tasks(case_id=case_id)
        task = services.cases.task(task.id, actor, audit_read=False)
        services.cases.complete_task(task.id, actor, fill.form_data(
            task.form_schema, task.element_id, _Clock(clock.now(), services.engine_settings.timezone)))
    raise AssertionError(f"case {client_ref} did not reach the follow-up")


def test_each_case_event_on_a_waiting_shipped_meldcode_case(browser, make_app, web_settings, database_url):
    from engine.contract import LANES

    app = make_app(web_settings.replace(start_process="meldcode"))
    services = app.extensions["meldcode"]
    services.cases.deploy_directory(PROJECT / "processes", "tester")
    accounts.create_user(services.sessions, "professional", PASSWORD, ["professional"], "noord",
                         display_name="Pim Professional", team_title="Wijkteam Noord")
    driver = Actor("professional", frozenset(LANES), "noord")
    cases = {event: _into_follow_up(services, driver, f"CL-EV-{n}") for n, event in enumerate(EVENTS, 1)}
    with served_page(browser, app, viewport={"width": 1280, "height": 900}, locale="nl-NL") as (page, base):
        sign_in(page, base, "professional")
        for event, (task_name, answers, milestone) in EVENTS.items():
            case_id = cases[event]
            before = services.cases.milestones(case_id)
            assert services.cases.case_progress(case_id)[1] is not None  # waiting for the evaluation moment
            page.goto(f"{base}/zaken/{case_id}")
            buttons = page.locator("#gebeurtenissen a[data-event]")
            assert [buttons.nth(i).get_attribute("data-event") for i in range(buttons.count())] == list(EVENTS)
            assert "Wijkteam Noord" in page.inner_text(".eyebrow")  # the team as people read it
            if event == "verhuisd":
                screenshot(page, "case-file-events", database_url)
            page.click(f"#gebeurtenissen a[data-event={event}]")
            page.wait_for_selector("button:has-text('Vastleggen')")
            form = {o.name: o for o in services.cases.available_events(case_id)}[event].form_schema
            _fill(page, form or {}, {})
            if event == "verhuisd":
                screenshot(page, "event-form", database_url)
            page.click("button:has-text('Vastleggen')")
            # The route reacts at once: its next task is opened for me, without waiting for a timer.
            page.wait_for_selector(f"h1:has-text('{task_name}')")
            assert "is vastgelegd in het dossier" in page.inner_text(".banner.success")
            assert services.cases.case_progress(case_id)[1] is None or event == "hulp_geweigerd"
            for _ in range(4):  # that task, and the steps of the route after it, until the milestone
                [task, *_] = services.cases.open_tasks(case_id=case_id)
                if not page.url.endswith(f"/taken/{task.id}"):
                    page.goto(f"{base}/taken/{task.id}")
                schema = services.cases.task(task.id, driver, audit_read=False).form_schema
                _fill(page, schema or {}, answers)
                page.click("button:has-text('Vastleggen en afronden')")
                page.wait_for_selector("h1:has-text('Inbox')")
                reached = services.cases.milestones(case_id)[len(before):]
                if not milestone or milestone in reached or not services.cases.open_tasks(case_id=case_id):
                    break
            if milestone:
                assert milestone in reached, (event, reached)
                page.goto(f"{base}/zaken/{case_id}")
                assert milestone_label(milestone) in page.inner_text(".milestones")
                # contract.md: after a move the case ends; after a refusal of help the follow-up goes on
                status = services.cases.case_progress(case_id)[0]
                assert status == ("completed" if event == "verhuisd" else "running"), (event, status)
                assert page.inner_text(".status") == ("Afgerond" if event == "verhuisd" else "Lopend")
            else:  # afweging 5 answered "no": the follow-up goes on towards a new melding
                assert services.cases.open_tasks(case_id=case_id), event
        assert page.problems == [] if hasattr(page, "problems") else True
