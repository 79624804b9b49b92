"""Read-only look-ups for the web app and the workers that the use cases (engine/cases.py) do not offer.

They read the engine's tables without changing them and without auditing: they decide *whether* a user may
see something (the view that follows is audited by the engine), label fields, count for monitoring, or find
timers to schedule. Nothing here returns client data beyond what the caller is already allowed to see, and
everything returns plain values or view dataclasses, never ORM objects: `web/` and `workers/` do not import
`engine.models` (tests/test_layers.py).
"""
from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, select

from .db import Sessions
from .diagrams import element_names
from .models import Case, CaseTask, CaseTimer, DeploymentFile, ProcessVersion
from .states import CaseStatus, CaseTaskState, TimerState
from .views import DiagramView


@dataclass(frozen=True)
class TaskScope:
    """Where a task belongs, for the access decision: its case, team and lane, and whether it is still open."""

    task_id: int
    case_id: int
    team: str | None
    lane: str | None
    name: str | None
    state: str
    claimed_by: str | None
    completed_by: str | None
    ended_at: datetime | None


@dataclass(frozen=True)
class MonitoringCounts:
    """Counts for the metrics endpoint: no client data."""

    cases_by_status: dict[str, int]
    overdue_tasks: int
    oldest_due_timer: datetime | None  # the longest-waiting timer that is due and has not fired
    parked_timers: int


# -- tasks and cases ---------------------------------------------------------------------------
# TaskScope's fields, in order
TASK_SCOPE_COLUMNS = (CaseTask.id, CaseTask.case_id, Case.team, CaseTask.lane, CaseTask.name, CaseTask.state,
                      CaseTask.claimed_by, CaseTask.completed_by, CaseTask.ended_at)
# Where a task belongs, by the parameter `task_id`: built once (also the base of the access check's statement,
# engine/reading.py `task_with_access`).
TASK_SCOPE = select(*TASK_SCOPE_COLUMNS).join(Case, Case.id == CaseTask.case_id).where(
    CaseTask.id == bindparam("task_id"))


def task_scope(sessions: Sessions, task_id: int) -> TaskScope | None:
    with sessions.reads() as session:
        row = session.execute(TASK_SCOPE, {"task_id": task_id}).first()
        return TaskScope(*row) if row is not None else None


def task_case_id(sessions: Sessions, task_id: int) -> int | None:
    """The case a task belongs to (None: no such task)."""
    with sessions.reads() as session:
        return session.scalar(select(CaseTask.case_id).where(CaseTask.id == task_id))


def case_client_ref(sessions: Sessions, case_id: int) -> str | None:
    """The client reference of a case, for a page heading the user may already see (None: no such case)."""
    with sessions.reads() as session:
        return session.scalar(select(Case.client_ref).where(Case.id == case_id))


def field_labels(sessions: Sessions, case_id: int,
                 task_ids: Collection[int] | None = None) -> dict[int, dict[str, dict[str, Any]]]:
    """Per task of a case: its form's words for each field, {"title": ..., "options": {value: label}}, so the
    timeline reads like the form did."""
    with sessions.reads() as session:
        forms = session.scalar(select(ProcessVersion.forms).join(Case, Case.process_version_id == ProcessVersion.id)
                               .where(Case.id == case_id)) or {}
        labels = {}
        rows = select(CaseTask.id, CaseTask.form).where(CaseTask.case_id == case_id)
        if task_ids is not None:  # only the tasks a page shows
            rows = rows.where(CaseTask.id.in_(task_ids))
        for task_id, form in session.execute(rows):
            schema = forms.get(form) if form else None
            labels[task_id] = {name: {"title": prop.get("title") or name, "options": _options(prop)}
                               for name, prop in ((schema or {}).get("properties") or {}).items()
                               if isinstance(prop, dict)}
        return labels


def _options(prop: dict[str, Any]) -> dict[str, str]:
    source = prop.get("items") if prop.get("type") == "array" and isinstance(prop.get("items"), dict) else prop
    assert isinstance(source, dict)
    values, names = source.get("enum") or [], source.get("x-enumLabels") or []
    return {str(v): str(names[i]) for i, v in enumerate(values) if i < len(names)}


def deployed_processes(sessions: Sessions) -> list[str]:
    with sessions.reads() as session:
        return sorted(set(session.scalars(select(ProcessVersion.process_id))))


def task_form(sessions: Sessions, task_id: int) -> dict[str, Any] | None:
    """The JSON Schema of a task's form as deployed with its process version (no client data: not audited)."""
    with sessions.reads() as session:
        row = session.execute(
            select(CaseTask.form, ProcessVersion.forms).join(Case, Case.id == CaseTask.case_id)
            .join(ProcessVersion, ProcessVersion.id == Case.process_version_id).where(CaseTask.id == task_id)).first()
        if row is None or not row[0]:
            return None
        schema: dict[str, Any] | None = (row[1] or {}).get(row[0])
        return schema


def case_variables(sessions: Sessions, case_id: int, names: Iterable[str]) -> dict[str, Any]:
    """Some of a case's current variables (to prefill a form the user is already allowed to see)."""
    with sessions.reads() as session:
        variables = session.scalar(select(Case.variables).where(Case.id == case_id)) or {}
        return {name: variables[name] for name in names if name in variables}


# -- monitoring --------------------------------------------------------------------------------
def monitoring_counts(sessions: Sessions, now: datetime) -> MonitoringCounts:
    """One small query each, all on indexed columns (read at every metrics scrape)."""
    with sessions.reads() as session:
        by_status = session.execute(select(Case.status, func.count()).group_by(Case.status)).all()
        overdue = session.scalar(select(func.count()).select_from(CaseTask).where(
            CaseTask.state == CaseTaskState.READY, CaseTask.due_at < now))
        oldest_due = session.scalar(select(func.min(CaseTimer.due_at)).where(
            CaseTimer.state == TimerState.WAITING, CaseTimer.due_at <= now))
        parked = session.scalar(select(func.count()).select_from(CaseTimer).where(
            CaseTimer.state == TimerState.FAILED))
    return MonitoringCounts({status: count for status, count in by_status}, overdue or 0, oldest_due, parked or 0)


# -- timers, for the workers' scheduling --------------------------------------------------------
def upcoming_timers(sessions: Sessions, until: datetime) -> list[tuple[int, datetime]]:
    """(case id, due time) of every waiting timer of a running case due at or before `until`."""
    with sessions.reads() as session:
        query = (select(CaseTimer.case_id, CaseTimer.due_at).join(Case, Case.id == CaseTimer.case_id)
                 .where(CaseTimer.state == TimerState.WAITING, Case.status == CaseStatus.RUNNING,
                        CaseTimer.due_at <= until)
                 .order_by(CaseTimer.due_at))
        return [(case_id, due_at) for case_id, due_at in session.execute(query)]


def has_due_timer(sessions: Sessions, case_id: int, now: datetime) -> bool:
    """Whether a case has a waiting timer due at `now`."""
    with sessions.reads() as session:
        return session.scalar(select(CaseTimer.id).where(
            CaseTimer.case_id == case_id, CaseTimer.state == TimerState.WAITING,
            CaseTimer.due_at <= now).limit(1)) is not None


@dataclass(frozen=True)
class ProcessDiagram:
    """The BPMN source of a deployed process version: the organisation's procedure, no client data."""

    filename: str
    content_hash: str
    bpmn_xml: str


def process_diagram(sessions: Sessions, process_id: str, version: int) -> ProcessDiagram | None:
    """A process version's diagram (None: no such version). Versions are immutable, so a browser may keep it."""
    with sessions.reads() as session:
        row = session.execute(
            select(ProcessVersion.source_file, ProcessVersion.content_hash, DeploymentFile.content)
            .join(DeploymentFile, and_(DeploymentFile.deployment_id == ProcessVersion.deployment_id,
                                       DeploymentFile.filename == ProcessVersion.source_file))
            .where(ProcessVersion.process_id == process_id, ProcessVersion.version == version)).first()
        return ProcessDiagram(*row) if row is not None else None


# Element names per process version and content: a version never changes, and every case file page read and
# parsed the meldcode's diagram (187 KB) for the names of the case's timers.
_ELEMENT_NAMES: dict[tuple[str, int, str], dict[str, str]] = {}


def diagram_names(sessions: Sessions, diagram: DiagramView) -> dict[str, str]:
    """Readable names of the elements of the process version a DiagramView names (engine/diagrams.py)."""
    key = (diagram.process_id, diagram.version, diagram.content_hash)
    names = _ELEMENT_NAMES.get(key)
    if names is None:
        found = process_diagram(sessions, diagram.process_id, diagram.version)
        if found is None or found.content_hash != diagram.content_hash:
            return {}
        names = _ELEMENT_NAMES[key] = element_names(found.bpmn_xml, found.filename)
    return names
