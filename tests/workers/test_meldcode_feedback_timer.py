"""Veilig Thuis feedback not recorded within 5 working days produces the proactive-contact task: the timers of
the real meldcode diagram (processes/) fired by the workers' sweep, with reminders on the way."""
from __future__ import annotations

import pytest

from engine import clock, notifications
from engine.cases import Actor
from engine.contract import LANES
from engine.settings import PROJECT_ROOT
from tests.schema_answers import form_answers
from workers.context import build_context
from workers.settings import WorkerSettings
from workers.sweep import run_sweep

from .conftest import add_people, at

ANSWERS = {  # the route of tests/scenarios/disclosure_acute_melding.json: straight to a melding
    "levensbedreigend": False, "betreft_beroepskracht": False, "kindcheck_nodig": False,
    "advies_veilig_thuis": False, "gesprek_uitzondering": "geen", "vermoeden": True, "acute_onveiligheid": True,
    "structurele_onveiligheid": False, "hulp_mogelijk": False, "meewerken": False, "disclosure": True,
}
EVERYONE = Actor("tester", frozenset(LANES), team="wijkteam-noord")


def drive_to_feedback(engine, moment):
    """Answer tasks until the case waits for Veilig Thuis' feedback; returns (case id, feedback task)."""
    with clock.frozen_at(moment):
        case_id = engine.start_case("meldcode", "CL-MELDCODE-1", EVERYONE)
        for _ in range(60):
            tasks = engine.open_tasks(case_id=case_id)
            feedback = [t for t in tasks if t.element_id == "vt_terugkoppeling"]
            if feedback:
                return case_id, feedback[0]
            assert tasks, f"the case stopped before the melding: {engine.milestones(case_id)}"
            task = engine.task(tasks[0].id, EVERYONE)
            engine.complete_task(task.id, EVERYONE, form_answers(task.form_schema, ANSWERS, moment))
    raise AssertionError("no Veilig Thuis feedback task after 60 tasks")


@pytest.fixture
def meldcode(case_engine, db):
    case_engine.deploy_directory(PROJECT_ROOT / "processes", "tester")
    add_people(db)
    return case_engine


def test_missing_feedback_after_five_working_days_opens_the_proactive_contact_task(meldcode):
    melding = at("2026-04-23 09:00")  # Thursday; 5 working days skip Koningsdag (27 April): due Fri 1 May
    case_id, feedback = drive_to_feedback(meldcode, melding)
    assert "melding_veilig_thuis" in meldcode.milestones(case_id)
    assert feedback.due_at == at("2026-05-01 09:00")
    ctx = build_context(WorkerSettings(engine=meldcode.settings), meldcode)

    with clock.frozen_at(at("2026-04-30 09:00")):  # one working day before: a reminder, no timer yet
        result = run_sweep(ctx)
    assert result.timers_fired == 0
    with ctx.sessions() as session:
        assert {n.kind for n in notifications.for_case(session, case_id)} == {notifications.REMINDER_BEFORE}

    with clock.frozen_at(at("2026-05-01 08:59")):
        assert run_sweep(ctx).timers_fired == 0
    with clock.frozen_at(at("2026-05-01 09:00")):
        assert run_sweep(ctx).timers_fired == 1
    with clock.frozen_at(at("2026-05-01 09:05")):
        assert run_sweep(ctx).timers_fired == 0  # once
    assert "vt_terugkoppeling_te_laat" in meldcode.milestones(case_id)
    open_now = [t.element_id for t in meldcode.open_tasks(case_id=case_id)]
    assert "vt_proactief_contact" in open_now and "vt_terugkoppeling" not in open_now
    # The new task arrived with its own due date; it gets no "due soon" message at the moment it appears.
    with ctx.sessions() as session:
        kinds = {(n.task_id, n.kind) for n in notifications.for_case(session, case_id)}
    assert kinds == {(feedback.id, notifications.REMINDER_BEFORE)}
