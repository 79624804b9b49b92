"""One case's workflow in memory: run, complete, fire timers, compact loops.

This module holds everything that touches SpiffWorkflow task trees; the
persistence layer (`cases.py`) sees only the plain views returned here.
"""
from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from .contract import milestone_name
from .errors import CaseFailure
from .sandbox_guards import ScriptError

# What a diagram can make the library or the sandbox raise. Script errors inside a task arrive wrapped in
# WorkflowTaskException (a SpiffWorkflowException); anything else (TypeError, AttributeError, ...) is a bug
# of ours or of the library and propagates as itself, never disguised as a diagram failure.
DIAGRAM_ERRORS = (SpiffWorkflowException, ScriptError)

MAX_PASSES = 10_000
ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass(frozen=True)
class ReadyTask:
    spiff_task_id: str
    element_id: str
    name: str | None
    lane: str | None
    form: str | None
    instructions: str | None
    documentation: str | None
    due_at: datetime | None


class WaitingTimer(NamedTuple):
    """A timer event waiting now (read on every save of a case: a plain tuple is the cheapest to make)."""

    spiff_task_id: str
    element_id: str
    due_at: datetime


@dataclass(frozen=True)
class WaitingMessage:
    """A message catch event that waits now (e.g. a boundary event for a case event)."""

    name: str
    element_id: str
    lane: str | None
    spiff_task_id: str = ""
    title: str | None = None  # the catch event's name in the diagram


@dataclass
class StepResult:
    milestones: list[tuple[str, str]] = field(default_factory=list)  # (name, element id), in order
    compactions: int = 0


def _lane_of(task: Any) -> str | None:
    """The lane of a catch event; an event without one belongs to the lane of what contains it."""
    node = task
    while node is not None:
        if getattr(node.task_spec, "lane", None):
            return node.task_spec.lane  # type: ignore[no-any-return]
        parent = node.parent
        if parent is None and node.workflow is not node.workflow.top_workflow:
            parent = node.workflow.top_workflow.get_task_from_id(node.workflow.parent_task_id)
        node = parent
    return None


def describe_failure(exc: Exception) -> str:
    notes = getattr(exc, "notes", None) or []
    task = getattr(exc, "task", None)
    where = f" at {task.task_spec.bpmn_id}" if task is not None and task.task_spec.bpmn_id else ""
    return f"{exc}{where}" + ("" if not notes else " (" + "; ".join(notes) + ")")


class CaseRuntime:
    def __init__(self, workflow: BpmnWorkflow, script_engine: Any) -> None:
        self.workflow = workflow
        workflow.script_engine = script_engine  # never restored by deserialization

    @classmethod
    def start(cls, spec: Any, subprocess_specs: dict[str, Any], script_engine: Any,
              data: dict[str, Any] | None = None) -> tuple[CaseRuntime, StepResult]:
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
        runtime = cls(workflow, script_engine)
        workflow.get_tasks(state=TaskState.READY)[0].data.update(data or {})
        return runtime, runtime._advance()

    # -- queries ---------------------------------------------------------------------------
    @property
    def completed(self) -> bool:
        return bool(self.workflow.is_completed())

    def ready_tasks(self) -> list[ReadyTask]:
        views = []
        for task in self.workflow.get_tasks(state=TaskState.READY, manual=True):
            spec = task.task_spec
            ext = getattr(spec, "extensions", None) or {}
            props = ext.get("properties", {})
            views.append(ReadyTask(
                spiff_task_id=str(task.id), element_id=spec.bpmn_id or spec.name, name=spec.bpmn_name,
                lane=spec.lane, form=props.get("formJsonSchemaFilename"),
                instructions=ext.get("instructionsForEndUser"), documentation=spec.documentation,
                due_at=self._due_date(task, props.get("dueDateExpression")),
            ))
        return views

    def waiting_timers(self) -> list[WaitingTimer]:
        timers = []
        for task in self.workflow.event_manager.tasks.values():
            definition = task.task_spec.event_definition
            if not isinstance(definition, TimerEventDefinition) or not task.has_state(TaskState.WAITING):
                continue
            value = definition.details(task).value
            if isinstance(value, dict):  # cycle timer: next occurrence
                value = value.get("next")
            due = TimerEventDefinition.parse_time_or_duration(value) if isinstance(value, str) else None
            if isinstance(due, datetime):
                timers.append(WaitingTimer(str(task.id), task.task_spec.bpmn_id or task.task_spec.name, due))
        return timers

    def waiting_messages(self) -> list[WaitingMessage]:
        """Message catch events waiting now, first per name (a name is caught wherever it waits)."""
        found: dict[str, WaitingMessage] = {}
        for task in self._message_catches():
            spec = task.task_spec
            name = spec.event_definition.name
            if name not in found:
                found[name] = WaitingMessage(name, spec.bpmn_id or spec.name, _lane_of(task), str(task.id),
                                             spec.bpmn_name)
        return list(found.values())

    def completed_elements(self) -> set[str]:
        """BPMN ids of elements completed in the current tree (earlier loop passes live in our tables)."""
        return {t.task_spec.bpmn_id for t in self.workflow.get_tasks(state=TaskState.COMPLETED)
                if t.task_spec.bpmn_id}

    def data(self) -> dict[str, Any]:
        """The case variables as the next step (or, when ended, the last step) sees them."""
        if self.workflow.is_completed():
            return dict(self.workflow.data)
        ready = self.workflow.get_tasks(state=TaskState.READY, manual=True)
        last = ready[0] if ready else self.workflow.last_task
        return dict(last.data) if last is not None else {}

    def task_data(self, spiff_task_id: str) -> dict[str, Any]:
        return dict(self.workflow.get_task_from_id(uuid.UUID(spiff_task_id)).data)

    # -- changes ---------------------------------------------------------------------------
    def complete(self, spiff_task_id: str, form_data: dict[str, Any]) -> StepResult:
        task = self.workflow.get_task_from_id(uuid.UUID(spiff_task_id))
        if task.state != TaskState.READY or not task.task_spec.manual:
            raise CaseFailure(f"task {task.task_spec.bpmn_id} is not ready")
        task.data.update(form_data)
        return self._guarded(task.run)

    def send_message(self, name: str, data: dict[str, Any]) -> StepResult:
        """Deliver message `name` to the catch events waiting for it, with `data` merged into the case data
        the flow after the catch sees (messages in our diagrams carry no payload variable)."""
        catches = [t for t in self._message_catches() if t.task_spec.event_definition.name == name]
        if not catches:
            raise CaseFailure(f"the case is not waiting for {name!r}")
        current = self.data()
        for task in catches:
            # The catch's own data dates from when it started waiting; bring it up to date first.
            task.data.update(copy.deepcopy(current))
            task.data.update(copy.deepcopy(data))
        # Reuse the catch's own definition: events match by exact class (spiff vs bpmn parser family).
        event = BpmnEvent(catches[0].task_spec.event_definition)
        return self._guarded(lambda: self.workflow.send_event(event))

    def fire_timers(self) -> StepResult:
        """Fire every timer due by the engine clock, then run what follows."""
        return self._guarded(self.workflow.refresh_timers)

    def _guarded(self, action: Callable[[], object]) -> StepResult:
        try:
            action()
            return self._advance()
        except DIAGRAM_ERRORS as exc:
            raise CaseFailure(describe_failure(exc)) from exc

    def _advance(self) -> StepResult:
        result = StepResult()

        def record(task: Any) -> None:
            name = milestone_name(task.task_spec.bpmn_id)
            if name:
                result.milestones.append((name, task.task_spec.bpmn_id))

        try:
            # Timers fired by refresh_timers() at the end of a pass run in the next pass.
            for _ in range(MAX_PASSES):
                self.workflow.do_engine_steps(did_complete_task=record)
                if not self.workflow.get_tasks(state=TaskState.READY, manual=False):
                    if not self._compact():
                        break
                    result.compactions += 1
            else:
                raise CaseFailure(f"the diagram did not settle after {MAX_PASSES} engine passes")
        except DIAGRAM_ERRORS as exc:
            raise CaseFailure(describe_failure(exc)) from exc
        return result

    def _message_catches(self) -> Iterator[Any]:
        for task in self.workflow.event_manager.tasks.values():
            if isinstance(task.task_spec.event_definition, MessageEventDefinition) \
                    and task.has_state(TaskState.WAITING):
                yield task

    def _due_date(self, task: Any, expression: str | None) -> datetime | None:
        if not expression:
            return None
        value = self.workflow.script_engine.evaluate(task, expression)
        return TimerEventDefinition.get_datetime(value) if isinstance(value, str) else None

    # -- history compaction ----------------------------------------------------------------
    def _compact(self) -> bool:
        """Cut a loop's finished passes out of the task tree.

        SpiffWorkflow keeps every pass of a loop in the tree, so cost and size grow
        with history and, past ~1000 levels, tasks silently drop out of sight. When
        a waiting point (a ready user task or a waiting event) re-enters an element
        that an ancestor already ran, we reset the tree to that first instance with
        the current data. Our own tables keep the history; nothing active is lost
        because we only do it when every active task under the first instance is
        the waiting point itself or below it.
        """
        workflows = [self.workflow, *self.workflow.subprocesses.values()]
        for wf in workflows:
            for point in wf.get_tasks(state=TaskState.READY | TaskState.WAITING):
                first = self._first_instance(point)
                if first is None or not self._only_active_below(first, point):
                    continue
                data = copy.deepcopy(point.data)
                self.workflow.reset_from_task_id(first.id, data=copy.deepcopy(data))
                first.data = data  # the reset merges the first pass's parent data over it; undo that
                self._forget_removed_waits()
                return True
        return False

    def _forget_removed_waits(self) -> None:
        """A reset drops tasks from the tree but not from the event manager; a dropped timer
        left there would be refreshed later with no parent."""
        manager = self.workflow.event_manager
        for task_id, task in list(manager.tasks.items()):
            if task.workflow.tasks.get(task_id) is not task:
                manager.remove_task(task)

    @staticmethod
    def _first_instance(task: Any) -> Any:
        found, node = None, task.parent
        while node is not None:
            if node.task_spec is task.task_spec:
                found = node
            node = node.parent
        return found

    @staticmethod
    def _only_active_below(first: Any, point: Any) -> bool:
        for task in first:
            if task.state & ACTIVE and task is not point and task is not first and not task.is_descendant_of(point):
                return False
        return True
