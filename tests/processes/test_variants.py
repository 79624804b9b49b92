"""The shipped example variant (processes/variants/verhuizing_altijd_melden) adds a route rule and breaks none.

A variant is deployed on its own: `deploy processes/` skips `variants/`; a variant's `variant.json` names the basis
directory its missing files come from (engine/diagrams.py read_directory).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main as cli
from engine.contract import MILESTONES
from engine.diagrams import read_directory
from engine.errors import DiagramError
from engine.scenarios import ThrowawayEngine, load_scenario, run_scenario
from tests.conftest import PROJECT
from tests.processes import test_bpmnlint, test_diagram_layout

PROCESSES = PROJECT / "processes"
VARIANT = PROCESSES / "variants" / "verhuizing_altijd_melden"
VARIANT_SCENARIOS = sorted((VARIANT / "scenarios").glob("*.json"))
SHIPPED_SCENARIOS = sorted((PROJECT / "tests" / "scenarios").glob("*.json"))
# The variant's own rule: a melding in the new region although the client consented or Veilig Thuis transfers.
RULE_SCENARIOS = [p for p in VARIANT_SCENARIOS
                  if "melding_nieuwe_regio" in load_scenario(p)["expect"].get("milestones_include", [])
                  and (load_scenario(p)["answers"]["toestemming_overdracht"]
                       or load_scenario(p)["answers"]["bekend_bij_veilig_thuis"])]


@pytest.fixture(scope="module")
def variant_engine():
    with ThrowawayEngine(VARIANT) as engine:
        yield engine


@pytest.fixture(scope="module")
def shipped_engine():
    with ThrowawayEngine(PROCESSES) as engine:
        yield engine


def _run(engine, path: Path):
    return run_scenario(engine, load_scenario(path), client_ref=f"VAR-{path.stem[:40]}")


# -- the directory reader ----------------------------------------------------------------------

def test_deploying_processes_reads_no_variant_file():
    files = read_directory(PROCESSES)
    assert "meldcode.bpmn" in files and "forms/stap6_verhuizing.json" in files
    assert not [name for name in files if name.startswith("variants/")]
    assert files["meldcode.bpmn"] == (PROCESSES / "meldcode.bpmn").read_bytes()


def test_a_broken_variant_does_not_stop_deploying_processes(tmp_path):
    """With the variant read as part of processes/, this deploy would fail (a broken diagram, a second meldcode)."""
    copy = tmp_path / "processes"
    shutil.copytree(PROCESSES, copy)
    (copy / "variants" / "kapot").mkdir()
    (copy / "variants" / "kapot" / "meldcode.bpmn").write_text("<niet-af", encoding="utf-8")
    with ThrowawayEngine(copy):
        pass  # deployed without an error
    with pytest.raises(DiagramError):
        ThrowawayEngine(copy / "variants" / "kapot")


def test_a_variant_takes_its_missing_files_from_the_basis():
    files = read_directory(VARIANT)
    basis = read_directory(PROCESSES)
    assert set(files) == set(basis)  # the variant adds no file, it replaces three
    own = {name for name in files if files[name] != basis[name]}
    assert own == {"meldcode.bpmn", "forms/stap6_verhuizing.json", "forms/stap6_melden_nieuwe_regio.json"}
    assert files["meldcode.bpmn"] == (VARIANT / "meldcode.bpmn").read_bytes()
    assert files["kindcheck.bpmn"] == (PROCESSES / "kindcheck.bpmn").read_bytes()
    assert not [name for name in files if name.startswith("scenarios/") or name == "variant.json"]


def test_a_variant_manifest_that_leads_back_to_itself_is_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "variant.json").write_text('{"basis": "../b"}', encoding="utf-8")
    (tmp_path / "b" / "variant.json").write_text('{"basis": "../a"}', encoding="utf-8")
    with pytest.raises(DiagramError, match="leads back to itself"):
        read_directory(tmp_path / "a")


@pytest.mark.parametrize("manifest", ['{"basis": 3}', "[]", "{", '{"basis": "../bestaat-niet"}'])
def test_a_bad_variant_manifest_is_refused(tmp_path, manifest):
    (tmp_path / "variant.json").write_text(manifest, encoding="utf-8")
    with pytest.raises(DiagramError):
        read_directory(tmp_path)


# -- the variant's diagram ------------------------------------------------------------------------

def test_the_variant_is_linted_and_laid_out_like_the_shipped_diagrams():
    assert VARIANT / "meldcode.bpmn" in test_bpmnlint.DIAGRAMS  # bpmnlint's test walks subfolders
    path = VARIANT / "meldcode.bpmn"
    for check in (test_diagram_layout.test_every_flow_node_has_a_shape,
                  test_diagram_layout.test_every_sequence_flow_has_an_edge_with_waypoints,
                  test_diagram_layout.test_every_lane_and_participant_has_a_shape,
                  test_diagram_layout.test_every_flow_node_lies_in_a_lane,
                  test_diagram_layout.test_no_two_flow_node_shapes_overlap,
                  test_diagram_layout.test_flow_node_shapes_lie_inside_their_lane):
        check(path)


def test_the_variant_has_a_readme_for_process_owners():
    text = (VARIANT / "README.md").read_text(encoding="utf-8")
    assert "melding_nieuwe_regio" in text and "duurzame_veiligheid" in text and "Waarom?" in text


# -- scenarios ------------------------------------------------------------------------------------

def test_the_variant_has_scenarios_for_its_rule():
    assert len(VARIANT_SCENARIOS) >= 4 and len(RULE_SCENARIOS) >= 2
    for path in VARIANT_SCENARIOS:
        expect = load_scenario(path)["expect"]
        assert expect.get("milestones_exclude"), f"{path.name}: no excluded milestone"
        assert set(expect.get("milestones_include", [])) | set(expect["milestones_exclude"]) <= MILESTONES


@pytest.mark.parametrize("path", VARIANT_SCENARIOS, ids=[p.stem for p in VARIANT_SCENARIOS])
def test_variant_scenario(variant_engine, path):
    result = _run(variant_engine, path)
    assert result.passed, json.dumps(result.__dict__, ensure_ascii=False, indent=1)


@pytest.mark.parametrize("path", SHIPPED_SCENARIOS, ids=[p.stem for p in SHIPPED_SCENARIOS])
def test_shipped_scenario_still_holds_against_the_variant(variant_engine, path):
    """The variant adds to the route rules and breaks none: every scenario of the shipped route passes."""
    result = _run(variant_engine, path)
    assert result.passed, json.dumps(result.__dict__, ensure_ascii=False, indent=1)


@pytest.mark.parametrize("path", RULE_SCENARIOS, ids=[p.stem for p in RULE_SCENARIOS])
def test_the_variant_rule_is_not_the_shipped_route(shipped_engine, path):
    """Against processes/ (which `deploy processes/` deploys) the variant's rule does not hold: no extra melding."""
    result = _run(shipped_engine, path)
    assert not result.passed
    assert "melding_nieuwe_regio" not in result.milestones


def test_the_cli_runs_the_variant_scenarios_against_the_variant():
    files = [str(p) for p in VARIANT_SCENARIOS]
    ok = CliRunner().invoke(cli, ["scenario", "run", "--processes", str(VARIANT), *files])
    assert ok.exit_code == 0, ok.output
    assert [json.loads(line)["passed"] for line in ok.output.splitlines()] == [True] * len(files)
    shipped = CliRunner().invoke(cli, ["scenario", "run", "--processes", str(PROCESSES),
                                       *[str(p) for p in RULE_SCENARIOS]])
    assert shipped.exit_code != 0
