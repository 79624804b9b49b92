"""A case can loop for years: 1,000 evaluation rounds run, and the stored case stays small."""
from __future__ import annotations

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
