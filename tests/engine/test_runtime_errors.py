"""Errors that tell the truth: a diagram's failure becomes CaseFailure, a bug of ours stays itself."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import CaseFailure
from engine.models import Case
from engine.runtime import CaseRuntime
from tests.engine.test_timers import DUE, melding_case, timers


def _a_bug_of_ours(self):
    raise TypeError("an internal helper broke")


def row_version(engine, case_id):
    with engine.sessions() as session:
        return session.get(Case, case_id).row_version


def test_a_bug_of_ours_on_completion_is_not_reported_as_a_diagram_failure(deployed, professional, monkeypatch):
    case_id = deployed.start_case("lus", "CL-E1", professional)
    task = deployed.open_tasks(case_id=case_id)[0]
    before = row_version(deployed, case_id)
    monkeypatch.setattr(CaseRuntime, "_compact", _a_bug_of_ours)
    with pytest.raises(TypeError, match="an internal helper broke") as info:
        deployed.complete_task(task.id, professional, {"duurzame_veiligheid": True})
    assert not isinstance(info.value, CaseFailure)
    assert row_version(deployed, case_id) == before
    assert [t.id for t in deployed.open_tasks(case_id=case_id)] == [task.id]


def test_a_bug_of_ours_while_firing_does_not_park_the_timer(deployed, professional, monkeypatch):
    case_id = melding_case(deployed, professional)
    monkeypatch.setattr(CaseRuntime, "_compact", _a_bug_of_ours)
    with pytest.raises(TypeError):
        deployed.fire_due_timers(DUE + timedelta(seconds=1))
    # Not parked as "failed" with a diagram reason: the timer waits for the fixed code.
    assert timers(deployed, case_id) == [("te_laat_timer", "waiting", DUE)]
    monkeypatch.undo()
    assert deployed.fire_due_timers(DUE + timedelta(seconds=2)) == 1


# Diagram scripts failing at run time (an unknown name, the sandbox refusing a size) stay CaseFailures that
# change nothing: tests/engine/test_deploy.py test_script_failing_at_run_time_fails_the_step_and_changes_nothing.
