"""A case can loop for years: 1,000 evaluation rounds run, and the stored case stays small."""
from __future__ import annotations

from datetime import UTC

from engine.models import Case


def test_a_case_runs_through_1000_loop_rounds(deployed, professional):
    case_id = deployed.start_case("lus", "CL-L1", professional)
    sizes = []
    for round_number in range(1, 1001):
        tasks = deployed.open_tasks(case_id=case_id)
        assert len(tasks) == 1 and tasks[0].element_id == "evalueren", (round_number, tasks)
        deployed.complete_task(tasks[0].id, professional, {"duurzame_veiligheid": round_number == 1000})
        if round_number in (1, 10, 100, 999):
            with deployed.sessions() as session:
                sizes.append(len(session.get(Case, case_id).state))
    info = deployed.case(case_id, professional)
    assert info.status == "completed"
    assert info.variables["rondes"] == 1000  # data carried across every compaction
    assert info.milestones.count("herhaalde_melding") == 999 and info.milestones[-1] == "duurzaam_veilig"
    assert len(info.history) == 1000  # the history lives in our tables
    assert max(sizes) <= sizes[0] * 1.5, sizes  # the workflow state does not grow with history


def test_a_loop_through_a_timer_keeps_firing_after_compaction(case_engine, professional):
    """The loop's entry is a waiting timer: compaction must not leave the removed timer behind."""
    from datetime import datetime, timedelta

    from engine import clock
    from tests.conftest import PROJECT

    case_engine.deploy_directory(PROJECT / "tests" / "engine" / "timer_loop", "tester")
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    with clock.frozen_at(now):
        case_id = case_engine.start_case("evaluatielus", "CL-L2", professional)
    for round_number in range(1, 121):
        assert case_engine.open_tasks(case_id=case_id) == []
        now += timedelta(days=14)
        assert case_engine.fire_due_timers(now) == 1, round_number
        task = case_engine.open_tasks(case_id=case_id)[0]
        with clock.frozen_at(now):
            case_engine.complete_task(task.id, professional, {"duurzame_veiligheid": round_number == 120})
    info = case_engine.case(case_id, professional)
    assert info.status == "completed" and info.milestones == ["duurzaam_veilig"]
    with case_engine.sessions() as session:
        assert session.get(Case, case_id).compactions >= 119
