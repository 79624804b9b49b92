"""Route rules of the shipped meldcode that milestones alone cannot show (issue 9): who gets which task, and when.

A small driver answers the open tasks through the engine's public API, like a professional would, and stops at
the moment the test wants to look at.
"""
from __future__ import annotations

from datetime import datetime

import pytest

from engine import clock
from engine.scenarios import SCENARIO_ACTOR, ThrowawayEngine
from tests.conftest import PROJECT
from tests.schema_answers import form_answers

START = datetime.fromisoformat("2026-04-02T09:00:00+02:00")
HELP_ROUTE = {
    "levensbedreigend": False, "betreft_beroepskracht": False, "kindcheck_nodig": False,
    "advies_veilig_thuis": False, "gesprek_uitzondering": "geen", "vermoeden": True,
    "acute_onveiligheid": False, "structurele_onveiligheid": False, "disclosure": False, "hulp_mogelijk": True,
    "meewerken": True, "regie": "wijkteam", "evaluatiedatum": "2026-05-04", "hulp_geweigerd": False,
    "verhuisd": False, "duurzame_veiligheid": True, "vt_terugkoppeling_ontvangen": True,
}


@pytest.fixture(scope="module")
def engine():
    with ThrowawayEngine(PROJECT / "processes") as engine:
        yield engine


def _answer(engine, task, answers: dict, now: datetime) -> None:
    schema = engine.task(task.id, SCENARIO_ACTOR, audit_read=False).form_schema
    with clock.frozen_at(now):
        engine.complete_task(task.id, SCENARIO_ACTOR, form_answers(schema, answers, now))


def _run_until(engine, case_id, answers: dict, stop, now: datetime = START, max_steps: int = 200):
    """Answer tasks (and fire due timers) until stop(open_tasks) is true; returns (open tasks, clock)."""
    for _ in range(max_steps):
        open_tasks = engine.open_tasks(case_id=case_id)
        if stop(open_tasks):
            return open_tasks, now
        if open_tasks:
            _answer(engine, open_tasks[0], answers, now)
            continue
        status, due = engine.case_progress(case_id)
        assert status == "running" and due is not None, f"the case stopped ({status}) before the expected moment"
        now = max(now, due)
        engine.fire_case_timers(case_id, now)
    raise AssertionError("the expected moment never came")


def _start(engine):
    with clock.frozen_at(START):
        return engine.start_case("meldcode", "ROUTE-TEST", SCENARIO_ACTOR)


def test_aggression_against_staff_gives_the_leidinggevende_the_agressieprotocol(engine):
    case_id = _start(engine)
    answers = dict(HELP_ROUTE, levensbedreigend=True, agressie_tegen_medewerkers=True)
    open_tasks, _ = _run_until(engine, case_id, answers,
                               lambda tasks: any(t.lane == "leidinggevende" for t in tasks))
    task = next(t for t in open_tasks if t.lane == "leidinggevende")
    assert task.element_id == "leidinggevende_agressieprotocol"
    # the professional is not held up by it: Stap 1 is open at the same time
    assert any(t.element_id == "stap1_signalen" for t in open_tasks)


def test_without_aggression_the_leidinggevende_gets_no_task(engine):
    case_id = _start(engine)
    answers = dict(HELP_ROUTE, levensbedreigend=True)  # agressie_tegen_medewerkers not given: default false
    seen = []
    _run_until(engine, case_id, answers,
               lambda tasks: seen.extend(t.lane for t in tasks) or any(t.element_id == "stap2_consultatie" for t in tasks))
    assert "leidinggevende" not in seen


def _wait_for_the_planned_date(engine, route: dict, planning_step: str, planned: str):
    """Drive a case to `planning_step`, plan the date `planned` there; returns (case id, due moment) after checking
    that the case then waits for that date with no task open."""
    case_id = _start(engine)
    answers = dict(HELP_ROUTE, **route)
    open_tasks, now = _run_until(engine, case_id, answers,
                                 lambda tasks: any(t.element_id == planning_step for t in tasks))
    _answer(engine, open_tasks[0], dict(answers, evaluatiedatum=planned), now)
    assert engine.open_tasks(case_id=case_id) == []
    status, due = engine.case_progress(case_id)
    assert status == "running" and due.date().isoformat() == planned
    return case_id, due


def test_the_monitoring_period_ends_with_a_reminder_on_its_end_date(engine):
    case_id, due = _wait_for_the_planned_date(engine, {}, "monitoring_afspreken", "2026-11-02")
    engine.fire_case_timers(case_id, due)
    [reminder] = engine.open_tasks(case_id=case_id)
    assert (reminder.element_id, reminder.lane) == ("monitoring_afronden", "professional")


def test_the_next_evaluation_waits_for_the_date_planned_in_hulp_bijstellen(engine):
    _wait_for_the_planned_date(engine, {"duurzame_veiligheid": False}, "stap6_hulp_bijstellen", "2027-01-11")
