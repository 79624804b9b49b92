"""The scenario runner (contract.md): answers, loops, delays, the scenario clock, pass and fail paths."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engine.scenarios import run_scenario
from tests.conftest import PROJECT, TEST_DIAGRAMS

SCENARIOS = PROJECT / "tests" / "engine" / "scenarios"


def scenario(**overrides):
    base = {"name": "s", "process": "voorbeeld", "start": "2026-04-02T09:00:00+02:00",
            "answers": {"vermoeden": False, "toelichting": "x"}, "expect": {"state": "completed"}}
    base.update(overrides)
    return base


def test_passing_scenario(deployed):
    result = run_scenario(deployed, scenario(expect={"milestones_include": ["afgesloten"],
                                                     "milestones_exclude": ["melding_veilig_thuis"],
                                                     "state": "completed"}))
    assert result.passed, result.error
    assert (result.milestones, result.state, result.open_tasks) == (["afgesloten"], "completed", [])


def test_unmet_expectation_fails_with_reason(deployed):
    result = run_scenario(deployed, scenario(expect={"milestones_include": ["melding_veilig_thuis"]}))
    assert not result.passed
    assert "milestones not reached: ['melding_veilig_thuis']" in result.error


def test_excluded_milestone_reached_fails(deployed):
    result = run_scenario(deployed, scenario(expect={"milestones_exclude": ["afgesloten"]}))
    assert not result.passed and "must not be: ['afgesloten']" in result.error


def test_missing_contract_answer_names_task_and_field(deployed):
    result = run_scenario(deployed, scenario(answers={"toelichting": "x"}))
    assert not result.passed
    assert "task wegen (Wegen) asks for 'vermoeden'" in result.error
    assert result.state == "waiting" and result.open_tasks == ["wegen"]


def test_documentation_fields_need_autofill_or_an_answer(deployed):
    result = run_scenario(deployed, scenario(answers={"vermoeden": False}))
    assert not result.passed and "'toelichting'" in result.error and "autofill" in result.error
    assert run_scenario(deployed, scenario(answers={"vermoeden": False}, autofill=True)).passed


def test_delay_lets_the_timer_fire_first(deployed):
    result = run_scenario(deployed, scenario(
        answers={"vermoeden": True, "vt_terugkoppeling_ontvangen": True}, autofill=True,
        delays={"vt_terugkoppeling_ontvangen": "P12D"},  # Easter: 5 working days end on 13 April
        expect={"milestones_include": ["vt_terugkoppeling_te_laat"], "state": "completed"}))
    assert result.passed, result.error
    assert result.milestones == ["melding_veilig_thuis", "vt_terugkoppeling_te_laat"]


def test_without_delay_feedback_is_on_time(deployed):
    result = run_scenario(deployed, scenario(
        answers={"vermoeden": True, "vt_terugkoppeling_ontvangen": True}, autofill=True,
        expect={"milestones_exclude": ["vt_terugkoppeling_te_laat"], "state": "completed"}))
    assert result.passed, result.error


def test_each_answers_loop_in_order_and_repeat_the_last(deployed):
    result = run_scenario(deployed, scenario(process="lus", answers={"duurzame_veiligheid": {"each": [False, False, True]}},
                                             expect={"state": "completed"}))
    assert result.passed, result.error
    assert result.milestones == ["herhaalde_melding", "herhaalde_melding", "duurzaam_veilig"]


def test_endless_loop_fails_after_5000_tasks(deployed, monkeypatch):
    import engine.scenarios as scenarios

    monkeypatch.setattr(scenarios, "MAX_TASKS", 50)  # the same guard, reached sooner
    result = run_scenario(deployed, scenario(process="lus", answers={"duurzame_veiligheid": False}))
    assert not result.passed and "has not ended after 50 completed tasks" in result.error


@pytest.mark.parametrize("bad, message", [
    ({"name": "x"}, "'process' must be a non-empty string"),
    ({"name": "x", "process": "voorbeeld", "expect": {"state": "klaar"}}, "expect.state"),
    ({"name": "x", "process": "voorbeeld", "start": "2026-04-02T09:00"}, "with offset"),
    ({"name": "x", "process": "voorbeeld", "delays": {"f": "8 dagen"}}, "ISO 8601 duration"),
    ({"name": "x", "process": "voorbeeld", "answers": {"f": {"each": []}}}, "non-empty list"),
    ({"name": "x", "process": "voorbeeld", "verwacht": {}}, "unknown keys"),
])
def test_malformed_scenarios_are_reported(deployed, bad, message):
    result = run_scenario(deployed, bad)
    assert not result.passed and message in result.error


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "engine.cli", "scenario", "run", *args],
                          capture_output=True, text=True, cwd=PROJECT, timeout=120)


def test_cli_runs_scenarios_in_a_throwaway_database(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'must-not-exist.sqlite3'}")
    files = sorted(str(p) for p in SCENARIOS.glob("*.json"))
    proc = subprocess.run([sys.executable, "-m", "engine.cli", "scenario", "run", "--processes", str(TEST_DIAGRAMS),
                           *files], capture_output=True, text=True, cwd=PROJECT, timeout=120,
                          env={**__import__("os").environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["passed"] for line in lines] == [True, True]
    assert {"name", "passed", "milestones", "state", "open_tasks", "error"} == set(lines[0])
    assert not (tmp_path / "x.sqlite3").exists()  # the configured database is never touched


def test_cli_exits_non_zero_when_a_scenario_fails(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(scenario(expect={"milestones_include": ["ambtshalve_melding"]})))
    proc = run_cli("--processes", str(TEST_DIAGRAMS), str(bad))
    assert proc.returncode == 1
    line = json.loads(proc.stdout.strip())
    assert line["passed"] is False and "ambtshalve_melding" in line["error"]
