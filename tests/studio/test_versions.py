"""Process versions for the process owner: list, deploy with a comment over the latest files, scenarios attached."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import DiagramError
from engine.models import AuditEvent, Deployment, DeploymentScenario, ProcessVersion
from engine.studio.versions import ScenariosFailed

from .edits import PROCESSES, broken_afsluiten, renamed_task, scenario
from .fixtures_studio import ATTACHED, deployed_studio  # noqa: F401 - the `studio` fixture


def _count(studio, model):
    with studio.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_processes_list_versions_with_comment_and_running_cases(studio, professional):
    studio.engine.start_case("meldcode", "CLIENT-1", professional)
    found = {p.process_id: p for p in studio.processes("pb")}
    assert set(found) == {"meldcode", "kindcheck"}
    [v1] = found["meldcode"].versions
    assert (found["meldcode"].latest_version, v1.version, v1.deployed_by, v1.comment, v1.running_cases) == \
        (1, 1, "cli", "eerste versie", 1)
    assert found["kindcheck"].versions[0].running_cases == 0
    with studio.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "studio.processes", AuditEvent.actor == "pb")) == 1


def test_scenarios_given_at_deploy_are_stored_with_it(studio):
    _, scenarios = studio.version_files("pb", "meldcode", 1)
    assert sorted(scenarios) == sorted(ATTACHED)
    assert scenarios["geen_vermoeden_afsluiten.json"]["process"] == "meldcode"


def test_deploy_takes_missing_files_from_the_latest_version(studio):
    result = studio.deploy("pb", {"meldcode.bpmn": renamed_task().encode()}, "Stap 0 heet korter")
    assert result.versions == {"meldcode": 2, "kindcheck": 1}
    assert result.created == {"meldcode": True, "kindcheck": False}
    files, scenarios = studio.version_files("pb", "meldcode", 2)
    assert files["meldcode.bpmn"].decode() == renamed_task()
    assert files["forms/stap0_inschatting.json"] == (PROCESSES / "forms" / "stap0_inschatting.json").read_bytes()
    assert sorted(scenarios) == sorted(ATTACHED)  # still attached
    meldcode = next(p for p in studio.processes("pb") if p.process_id == "meldcode")
    assert [(v.version, v.comment, v.deployed_by) for v in meldcode.versions] == \
        [(2, "Stap 0 heet korter", "pb"), (1, "eerste versie", "cli")]


def test_identical_content_is_a_no_op(studio):
    before = _count(studio, Deployment)
    result = studio.deploy("pb", {}, "niets veranderd")
    assert result.versions == {"meldcode": 1, "kindcheck": 1} and not any(result.created.values())
    assert _count(studio, Deployment) == before


def test_a_change_that_breaks_a_scenario_is_refused_and_nothing_is_deployed(studio):
    before = (_count(studio, Deployment), _count(studio, ProcessVersion), _count(studio, DeploymentScenario))
    with pytest.raises(ScenariosFailed) as refused:
        studio.deploy("pb", {"meldcode.bpmn": broken_afsluiten().encode()}, "einde anders genoemd")
    assert [f.name for f in refused.value.failed] == ["geen vermoeden: de meldcode wordt afgesloten"]
    assert "afgesloten" in refused.value.failed[0].error
    assert (_count(studio, Deployment), _count(studio, ProcessVersion), _count(studio, DeploymentScenario)) == before
    with studio.sessions() as session:
        denied = session.scalars(select(AuditEvent).where(AuditEvent.action == "studio.deploy",
                                                          AuditEvent.outcome == "denied")).one()
        assert denied.details["failed_scenarios"] == ["geen vermoeden: de meldcode wordt afgesloten"]


def test_a_new_scenario_is_attached_and_must_pass(studio):
    extra = scenario("disclosure_acute_melding.json")
    result = studio.deploy("pb", {"meldcode.bpmn": renamed_task().encode()}, "met nieuw scenario",
                           scenarios={"disclosure.json": extra})
    assert result.created["meldcode"]
    _, scenarios = studio.version_files("pb", "meldcode", 2)
    assert sorted(scenarios) == sorted([*ATTACHED, "disclosure.json"])
    wrong = dict(extra, expect={"milestones_include": ["interne_route"]})
    other_name = renamed_task().replace('name="Stap 0 – Acuut levensgevaar?"', 'name="Stap 0 – Levensgevaar?"')
    with pytest.raises(ScenariosFailed) as refused:
        studio.deploy("pb", {"meldcode.bpmn": other_name.encode()}, "onmogelijke verwachting",
                      scenarios={"disclosure.json": wrong})
    assert [f.name for f in refused.value.failed] == [extra["name"]]


@pytest.mark.parametrize("files, comment, message", [
    ({}, "  ", "comment is required"),
    ({"../etc/passwd.bpmn": b"<x/>"}, "pad", "not a file name"),
    ({"forms/../../x.json": b"{}"}, "pad", "not a file name"),
    ({"script.py": b"print(1)"}, "ander type", "not a file name"),
])
def test_bad_requests_are_refused_before_anything_runs(studio, files, comment, message):
    before = _count(studio, Deployment)
    with pytest.raises(DiagramError, match=message):
        studio.deploy("pb", files, comment)
    assert _count(studio, Deployment) == before


def test_engine_checks_still_apply(studio):
    xxe = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</bpmn:definitions>')
    with pytest.raises(DiagramError):
        studio.deploy("pb", {"meldcode.bpmn": xxe.encode()}, "xxe")
    script = renamed_task().replace("</bpmn:process>", '<bpmn:scriptTask id="boos"><bpmn:script>'
                                    "__import__('os').system('id')</bpmn:script></bpmn:scriptTask></bpmn:process>", 1)
    with pytest.raises(DiagramError, match="script rejected"):
        studio.deploy("pb", {"meldcode.bpmn": script.encode()}, "script")
