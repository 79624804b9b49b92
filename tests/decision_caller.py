"""One-task BPMN processes for tests: start, the task, end. `decision_caller` runs a DMN decision table through
SpiffWorkflow; tests/engine/test_sandbox.py builds a script task on the same frame."""

BPMN_NS = 'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'
SPIFF_NS = 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'


def one_task_process(process_id: str, task: str, task_id: str, name: str, body: str) -> str:
    """A process `process_id`: start -> <bpmn:`task` id=`task_id`> holding `body` -> end (element ids start,
    `task_id`, end)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {BPMN_NS} {SPIFF_NS} id="defs" targetNamespace="http://example.org/meldcode">
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:{task} id="{task_id}" name="{name}">{body}
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:{task}>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="{task_id}" />
    <bpmn:sequenceFlow id="f2" sourceRef="{task_id}" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""


def decision_caller(decision_id: str, process_id: str = "caller") -> str:
    return one_task_process(process_id, "businessRuleTask", "kader", "Regel", f"""
      <bpmn:extensionElements><spiffworkflow:calledDecisionId>{decision_id}</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>""")
