"""The shipped diagrams pass bpmnlint's recommended rules (as Camunda Modeler runs them): 0 errors, 0 warnings.

bpmnlint comes from the npm registry (package.json, installed by `npm ci` in scripts/setup.sh); `.bpmnlintrc` at the
project root extends `bpmnlint:recommended`.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ROOT / "processes"
BPMNLINT = ROOT / "node_modules" / ".bin" / "bpmnlint"
DIAGRAMS = sorted(PROCESSES.rglob("*.bpmn"))


def _lint(*paths: Path) -> subprocess.CompletedProcess:
    assert shutil.which("node"), "node is not installed (scripts/setup.sh needs Node.js for the front-end packages)"
    assert BPMNLINT.exists(), f"{BPMNLINT} is missing: run `npm ci` (scripts/setup.sh)"
    return subprocess.run([str(BPMNLINT), "--max-warnings=0", *map(str, paths)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)


def test_the_config_extends_the_recommended_rules():
    assert '"bpmnlint:recommended"' in (ROOT / ".bpmnlintrc").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.relative_to(PROCESSES).as_posix())
def test_diagram_has_no_bpmnlint_findings(path):
    result = _lint(path)
    assert result.returncode == 0, f"bpmnlint findings in {path.name}:\n{result.stdout}{result.stderr}"
    assert "problem" not in result.stdout, result.stdout


FAKE_JOIN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://x">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="split" default="f2">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:userTask id="joined_task">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split" />
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="joined_task" />
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="joined_task">
      <bpmn:conditionExpression>x</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="joined_task" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_bpmnlint_reports_a_fake_join(tmp_path):
    """The check can fail: a task with two incoming flows (no merge gateway) is a finding."""
    path = tmp_path / "fake_join.bpmn"
    path.write_text(FAKE_JOIN, encoding="utf-8")
    result = _lint(path)
    assert result.returncode != 0
    assert "fake-join" in result.stdout and "joined_task" in result.stdout
