"""The scenario runner (contract.md): answers, loops, delays, the scenario clock, pass and fail paths."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engine.scenarios import SCENARIO_ACTOR, run_scenario
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
    ({"name": "x"}, "'process' is required"),
    ({"name": "", "process": "voorbeeld"}, "'name' must be a non-empty string"),
    ({"name": "x", "process": "voorbeeld", "expect": {"state": "klaar"}}, "expect.state must be 'completed'"),
    ({"name": "x", "process": "voorbeeld", "start": "2026-04-02T09:00"}, "with offset"),
    ({"name": "x", "process": "voorbeeld", "delays": {"f": "8 dagen"}}, "delays.f must be an ISO 8601 duration"),
    ({"name": "x", "process": "voorbeeld", "answers": {"f": {"each": []}}}, "answers.f.each [] should be non-empty"),
    ({"name": "x", "process": "voorbeeld", "verwacht": {}}, "unknown keys ['verwacht']"),
    ({"name": "x", "process": "voorbeeld", "events": [{"at": "P2D"}]}, "events[0]: 'event' is required"),
    ({"name": "x", "process": "voorbeeld", "events": [{"at": "twee weken", "event": "verhuisd"}]},
     "events[0].at must be an ISO 8601 duration"),
    ({"name": "x", "process": "voorbeeld", "expect": {"milestones_sequence": "afgesloten"}},
     "expect.milestones_sequence 'afgesloten' is not of type 'array'"),
    ([], "is not of type 'object'"),
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


# -- case events, milestone sequences, relative dates (contract.md "Scenarios") ------------------------------
EVENT_DIAGRAMS = PROJECT / "tests" / "engine" / "event_diagrams"


@pytest.fixture
def volgen(deployed):
    deployed.deploy_directory(EVENT_DIAGRAMS, "tester")
    return deployed


def follow_up(**overrides):
    """Process `volgen`: plan an evaluation, wait for it (events interrupt the wait), afweging 5."""
    base = {"process": "volgen", "autofill": True,
            "answers": {"evaluatiedatum": "P10D", "duurzame_veiligheid": True, "nieuwe_gemeente": "Utrecht",
                        "toestemming_overdracht": False}}
    return scenario(**{**base, **overrides})


def case_of(engine, client_ref):
    [summary] = [c for c in engine.list_cases() if c.client_ref == client_ref]
    return engine.case(summary.id, SCENARIO_ACTOR, audit_read=False)


def test_event_interrupts_the_wait_and_its_form_is_answered(volgen):
    result = run_scenario(volgen, follow_up(events=[{"at": "P5D", "event": "verhuisd"}],
                                            expect={"milestones_sequence": ["melding_nieuwe_regio"],
                                                    "milestones_exclude": ["duurzaam_veilig"],
                                                    "state": "completed"}), client_ref="EV-1")
    assert result.passed, result.error
    variables = case_of(volgen, "EV-1").variables
    assert (variables["nieuwe_gemeente"], variables["toestemming_overdracht"]) == ("Utrecht", False)


def test_timers_due_before_an_event_fire_first(volgen):
    # day 10: evaluation (not safe) -> herhaalde melding, next evaluation day 20; day 15: help refused ->
    # melding, next evaluation day 25; day 25: safe.
    result = run_scenario(volgen, follow_up(
        answers={"evaluatiedatum": "P10D", "duurzame_veiligheid": {"each": [False, True]}},
        events=[{"at": "P15D", "event": "hulp_geweigerd"}],
        expect={"milestones_sequence": ["herhaalde_melding", "melding_veilig_thuis", "duurzaam_veilig"],
                "state": "completed"}), client_ref="EV-2")
    assert result.passed, result.error
    assert result.milestones == ["herhaalde_melding", "melding_veilig_thuis", "duurzaam_veilig"]
    plans = [h["data"]["evaluatiedatum"] for h in case_of(volgen, "EV-2").history if h["element_id"] == "plannen"]
    assert plans == ["2026-04-12", "2026-04-22", "2026-04-27"]  # each: the clock's date at answering + 10 days


def test_event_the_case_cannot_take_fails_naming_it(volgen):
    # The plan is answered only after 3 days, so on day 1 the case is not in follow-up yet.
    result = run_scenario(volgen, follow_up(delays={"evaluatiedatum": "P3D"},
                                            events=[{"at": "P1D", "event": "verhuisd"}]))
    assert not result.passed
    assert "the event 'verhuisd' (at P1D) cannot be taken: the case does not wait for it" in result.error
    ended = run_scenario(volgen, follow_up(events=[{"at": "P5D", "event": "verhuisd"},
                                                   {"at": "P6D", "event": "nieuwe_signalen"}]))
    assert not ended.passed and "'nieuwe_signalen' (at P6D) cannot be taken: the case had already ended" in ended.error


def test_event_form_fields_need_answers_like_task_fields(volgen):
    result = run_scenario(volgen, follow_up(answers={"evaluatiedatum": "P10D", "nieuwe_gemeente": "Utrecht"},
                                            events=[{"at": "P5D", "event": "verhuisd"}]))
    assert not result.passed and "the event 'verhuisd' asks for 'toestemming_overdracht'" in result.error


def test_autofilled_date_time_is_the_scenario_clock_now(volgen):
    result = run_scenario(volgen, follow_up(events=[{"at": "P2DT3H", "event": "nieuwe_signalen"}]),
                          client_ref="EV-3")
    assert result.passed, result.error
    variables = case_of(volgen, "EV-3").variables
    assert variables["waargenomen_op"] == "2026-04-04T12:00:00+02:00"  # start 2 April 09:00 + 2 days 3 hours
    assert variables["nieuwe_signalen_beschrijving"] == "(scenario: automatisch ingevuld)"


def test_fixed_past_evaluation_date_falls_due_at_once(volgen):
    result = run_scenario(volgen, follow_up(answers={"evaluatiedatum": "2026-01-05", "duurzame_veiligheid": True},
                                            expect={"milestones_include": ["duurzaam_veilig"], "state": "completed"}),
                          client_ref="EV-4")
    assert result.passed, result.error
    history = case_of(volgen, "EV-4").history
    assert history[0]["data"]["evaluatiedatum"] == "2026-01-05"
    assert history[-1]["completed_at"] == history[0]["completed_at"]  # evaluated the moment it was planned


@pytest.mark.parametrize("sequence, passes", [
    (["herhaalde_melding", "herhaalde_melding"], True),
    (["herhaalde_melding", "duurzaam_veilig"], True),
    (["duurzaam_veilig", "herhaalde_melding"], False),
    (["herhaalde_melding", "herhaalde_melding", "herhaalde_melding"], False),
])
def test_milestones_sequence_counts_each_occurrence_in_order(deployed, sequence, passes):
    result = run_scenario(deployed, scenario(process="lus", answers={"duurzame_veiligheid": {"each": [False, False, True]}},
                                             expect={"milestones_sequence": sequence}))
    assert result.passed is passes, result.error
    if not passes:
        assert "not reached in this order" in result.error


def test_one_schema_file_describes_every_scenario_of_the_project():
    from jsonschema import Draft202012Validator

    from engine.scenarios import SCHEMA_FILE, load_scenario, scenario_schema

    assert SCHEMA_FILE.name == "scenario.schema.json"
    Draft202012Validator.check_schema(scenario_schema())
    files = sorted((PROJECT / "tests" / "scenarios").glob("*.json")) + sorted(SCENARIOS.glob("*.json"))
    assert files
    for file in files:
        load_scenario(file)  # raises on a malformed one


def test_scenarios_run_on_postgresql_in_a_throwaway_schema(postgres_admin):
    from sqlalchemy import text

    from engine.scenarios import ThrowawayEngine
    from tests.conftest import POSTGRES_URL

    def scenario_schemas():
        with postgres_admin.connect() as conn:
            return set(conn.scalars(text("SELECT schema_name FROM information_schema.schemata "
                                         "WHERE schema_name LIKE 'scenario_%'")))

    before = scenario_schemas()
    throwaway = ThrowawayEngine(TEST_DIAGRAMS, database_url=POSTGRES_URL)
    with throwaway as engine:
        assert engine.sessions.kw["bind"].dialect.name == "postgresql"
        assert scenario_schemas() - before == {throwaway._schema}
        assert run_scenario(engine, scenario()).passed
    assert scenario_schemas() - before == set()


def test_cli_runs_on_postgresql_and_drops_its_schema(postgres_admin, tmp_path):
    from sqlalchemy import text

    from tests.conftest import POSTGRES_URL

    def tables_in_public():
        with postgres_admin.connect() as conn:
            return set(conn.scalars(text("SELECT table_schema || '.' || table_name FROM information_schema.tables "
                                         "WHERE table_schema NOT LIKE 't\\_%' AND table_schema NOT LIKE 'scenario\\_%'")))

    before = tables_in_public()
    files = sorted(str(p) for p in SCENARIOS.glob("*.json"))
    proc = run_cli("--processes", str(TEST_DIAGRAMS), "--database-url", POSTGRES_URL, *files)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [json.loads(line)["passed"] for line in proc.stdout.splitlines()] == [True, True]
    assert tables_in_public() == before  # nothing created outside the throwaway schema
    refused = run_cli("--processes", str(TEST_DIAGRAMS), "--database-url", f"sqlite:///{tmp_path / 'x.db'}", *files)
    assert refused.returncode == 2 and "PostgreSQL" in refused.stderr
    assert not (tmp_path / "x.db").exists()


def test_a_suite_spread_over_processes_gives_the_results_of_one_process():
    """run_suite's parallel path (the studio's gate and deploy checks); the test command runs suites in one process
    (MELDCODE_SCENARIO_PROCESSES=1 in scripts/test.sh) because pytest already uses both cores."""
    from engine.diagrams import read_directory
    from engine.scenarios import run_suite

    files = read_directory(PROJECT / "processes")
    names = ["geen_vermoeden_afsluiten.json", "acuut_melden_en_hulp.json", "hulp_een_evaluatieronde.json"]
    suite = [(name, json.loads((PROJECT / "tests" / "scenarios" / name).read_text())) for name in names]
    broken = dict(suite[0][1], expect={**suite[0][1]["expect"], "milestones": ["melding_veilig_thuis"]})
    suite.append(("kapot.json", broken))  # a failing scenario must fail the same way in a worker process
    one = run_suite(files, suite, processes=1)
    spread = run_suite(files, suite, processes=2)
    assert [(n, r.passed) for n, r in spread] == [(n, r.passed) for n, r in one] == \
        [(n, n != "kapot.json") for n, _ in suite]
    assert spread[-1][1].error == one[-1][1].error and one[-1][1].error


def _fork_servers_of(pid: int) -> list[int]:
    """Child processes of `pid` that are multiprocessing's fork server (Linux /proc)."""
    from pathlib import Path

    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, ValueError, IndexError):
            continue  # ended meanwhile
        if parent == pid and b"multiprocessing.forkserver" in command:
            found.append(int(entry.name))
    return found


def test_opening_a_draft_starts_the_fork_server_its_check_will_fork_from(monkeypatch):
    """Issue 14 (the scenario gate): a web worker's first check of a draft waited ~0.7 s longer than the next
    for its fork server to start and import the engine; the studio starts it when a draft is opened. One
    server per process, as the first suite would have started it; nothing when suites run in this process."""
    import os

    from engine.scenarios import prepare_workers

    monkeypatch.setenv("MELDCODE_SCENARIO_PROCESSES", "1")
    assert not prepare_workers(41)
    monkeypatch.setenv("MELDCODE_SCENARIO_PROCESSES", "2")
    assert prepare_workers(41) and prepare_workers(41)
    assert len(_fork_servers_of(os.getpid())) == 1
