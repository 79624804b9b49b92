"""Every scenario in tests/scenarios replays against the shipped diagrams in processes/."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.contract import MILESTONES
from engine.scenarios import ThrowawayEngine, load_scenario, run_scenario
from tests.conftest import PROJECT

HERE = Path(__file__).resolve().parent
FILES = sorted(HERE.glob("*.json"))


@pytest.fixture(scope="module")
def engine():
    with ThrowawayEngine(PROJECT / "processes") as engine:
        yield engine


CASE_EVENTS = {"nieuwe_signalen", "hulp_geweigerd", "verhuisd"}


def test_there_are_enough_scenarios():
    assert len(FILES) >= 39  # 27 from the first route, 12+ for issue 9's rules


def test_each_case_event_has_a_scenario():
    raised = {e["event"] for path in FILES for e in load_scenario(path).get("events", [])}
    assert raised == CASE_EVENTS


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_scenario(engine, path):
    scenario = load_scenario(path)
    expect = scenario.get("expect", {})
    assert expect.get("milestones_exclude"), "each scenario checks a milestone that must NOT be reached"
    assert set(expect.get("milestones_include", [])) | set(expect["milestones_exclude"]) <= MILESTONES
    result = run_scenario(engine, scenario, client_ref=f"SCN-{path.stem[:40]}")
    assert result.passed, json.dumps(result.__dict__, ensure_ascii=False, indent=1)
