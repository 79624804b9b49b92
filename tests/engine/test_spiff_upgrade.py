"""Upgrading SpiffWorkflow: stored case state records the library's serializer version, loads through the
registered upgrade steps (engine/spiff_state.py), and a version without a path is refused.

tests/engine/fixtures/ holds a case of `voorbeeld` just started, as stored by this engine (state blob and the
process version's spec JSON). When the library's serializer version changes, the first test fails until an
upgrade step from the fixture's version is registered — that is the migration path for every stored case.
"""
from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine import clock, spiff_state
from engine.cases import CaseEngine
from engine.db import make_engine, make_sessionmaker
from engine.models import Case
from engine.runtime import CaseRuntime
from engine.settings import Settings
from engine.spiff_state import (
    SERIALIZER_VERSION,
    STATE_FORMAT,
    VERSION_KEY,
    StateVersionError,
    dump_state,
    load_specs,
    load_state,
    read_state,
    write_state,
)
from tests.conftest import PROJECT

FIXTURES = Path(__file__).parent / "fixtures"
STATE = (FIXTURES / "voorbeeld_started.state").read_bytes()
SPEC_JSON = (FIXTURES / "voorbeeld.spec.json").read_text(encoding="utf-8")
STARTED = datetime(2026, 4, 2, 10, 0, tzinfo=UTC)
ANSWERS = {"vermoeden": False, "toelichting": "geen signalen"}


def _older(document: dict, version: str) -> dict:
    """The document as a (synthetic) older serializer would have written it: other key names, older version."""
    workflow = dict(document["workflow"])
    workflow["workflow_data"] = workflow.pop("data")
    workflow["events"] = workflow.pop("bpmn_events")
    return {**document, "workflow": workflow, VERSION_KEY: version}


def _upgrade_synthetic(ran: list[str]):
    def step(document: dict) -> dict:
        ran.append(document[VERSION_KEY])
        workflow = dict(document["workflow"])
        workflow["data"] = workflow.pop("workflow_data")
        workflow["bpmn_events"] = workflow.pop("events")
        return {**document, "workflow": workflow, VERSION_KEY: SERIALIZER_VERSION}

    return step


def _script_engine():
    """The engine's script sandbox (building an engine also installs its clock); no database is used."""
    return CaseEngine(make_sessionmaker(make_engine("sqlite://")), Settings()).script_engine


def test_the_stored_fixture_loads_and_its_case_completes_a_task():
    spec, subs = load_specs(SPEC_JSON)
    script_engine = _script_engine()
    with clock.frozen_at(STARTED):
        runtime = CaseRuntime(load_state(STATE, spec, subs), script_engine)
        [task] = runtime.ready_tasks()
        assert task.element_id == "wegen"
        result = runtime.complete(task.spiff_task_id, ANSWERS)
    assert runtime.completed and [name for name, _ in result.milestones] == ["afgesloten"]


def test_stored_state_records_the_library_serializer_version():
    spec, subs = load_specs(SPEC_JSON)
    again = dump_state(load_state(STATE, spec, subs))
    document = read_state(again)
    assert (document["format"], document[VERSION_KEY]) == (STATE_FORMAT, SERIALIZER_VERSION)
    assert document["workflow"]["tasks"].keys() == read_state(STATE)["workflow"]["tasks"].keys()


def test_a_version_without_an_upgrade_path_is_refused():
    spec, subs = load_specs(SPEC_JSON)
    older = write_state(_older(read_state(STATE), "0.9-synthetic"))
    with pytest.raises(StateVersionError, match="0.9-synthetic"):
        load_state(older, spec, subs)
    with pytest.raises(StateVersionError, match="iets-anders"):
        load_state(write_state({**read_state(STATE), "format": "iets-anders/7"}), spec, subs)


def test_upgrade_steps_are_chained_until_the_current_version(monkeypatch):
    ran: list[str] = []
    monkeypatch.setitem(spiff_state.UPGRADES, "1.3-synthetic",
                        lambda d: ran.append("1.3-synthetic") or {**d, VERSION_KEY: "1.4-synthetic"})
    monkeypatch.setitem(spiff_state.UPGRADES, "1.4-synthetic", _upgrade_synthetic(ran))
    document = spiff_state.upgrade(_older(read_state(STATE), "1.3-synthetic"))
    assert ran == ["1.3-synthetic", "1.4-synthetic"]
    assert document == read_state(STATE)
    monkeypatch.setitem(spiff_state.UPGRADES, "1.2-synthetic", lambda d: {**d, VERSION_KEY: "1.2-synthetic"})
    with pytest.raises(StateVersionError):  # a step that does not move on is not looped over
        spiff_state.upgrade({**read_state(STATE), VERSION_KEY: "1.2-synthetic"})


def test_the_current_version_takes_no_upgrade_step():
    with pytest.raises(ValueError):
        spiff_state.register_upgrade(SERIALIZER_VERSION)(lambda d: d)


def test_an_upgrade_step_runs_on_load_and_the_case_then_completes_a_task(deployed, professional, monkeypatch):
    """A case stored by a (synthetic) older SpiffWorkflow: its step runs when the case is loaded, the case goes on,
    and it is stored again in today's format."""
    ran: list[str] = []
    monkeypatch.setitem(spiff_state.UPGRADES, "1.4-synthetic", _upgrade_synthetic(ran))
    with clock.frozen_at(STARTED):
        case_id = deployed.start_case("voorbeeld", "CL-UPGRADE", professional)
    with deployed.sessions.begin() as session:
        case = session.get(Case, case_id)
        case.state = write_state(_older(read_state(case.state), "1.4-synthetic"))
    [task] = deployed.open_tasks(case_id=case_id)
    with clock.frozen_at(STARTED):
        done = deployed.complete_task(task.id, professional, ANSWERS)
    assert ran == ["1.4-synthetic"]
    assert done.status == "completed" and done.milestones == ["afgesloten"]
    with deployed.sessions() as session:
        assert read_state(session.get(Case, case_id).state)[VERSION_KEY] == SERIALIZER_VERSION


def test_the_engine_clock_is_installed_when_the_engine_is_built_not_on_import():
    program = """
from datetime import datetime
from SpiffWorkflow.bpmn.specs.event_definitions import timer
import engine.cases, engine.runtime, engine.spiff_state
assert timer.datetime is datetime, "installed on import"
from engine.cases import CaseEngine
from engine.db import make_engine, make_sessionmaker
from engine.settings import Settings
CaseEngine(make_sessionmaker(make_engine("sqlite://")), Settings())
assert timer.datetime is not datetime and issubclass(timer.datetime, datetime), "not installed by the engine"
"""
    result = subprocess.run([sys.executable, "-c", program], cwd=PROJECT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
