"""What the engine's use cases return: plain values, never SpiffWorkflow or ORM objects."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .states import CaseStatus


@dataclass(frozen=True)
class Actor:
    """Who acts: a user with roles (lanes) in a team, or the system (timers)."""

    username: str
    roles: frozenset[str] = frozenset()
    team: str | None = None

    def may_work_in(self, lane: str | None) -> bool:
        return lane is not None and lane in self.roles


SYSTEM = Actor("system")


@dataclass(frozen=True)
class TaskInfo:
    id: int
    case_id: int
    client_ref: str
    element_id: str
    name: str | None
    lane: str | None
    state: str
    due_at: datetime | None
    created_at: datetime
    claimed_by: str | None = None
    form_name: str | None = None
    form_schema: dict[str, Any] | None = None
    instructions: str | None = None
    documentation: str | None = None
    case_status: str = CaseStatus.RUNNING  # suspended: the beheerder paused the case (no completions, no timers)


@dataclass(frozen=True)
class CompletedStep:
    """A completed step of a case's history, as the dossier and a later task's context show it."""

    task_id: int
    element_id: str
    name: str | None
    lane: str | None
    completed_by: str | None
    completed_at: datetime | None


@dataclass(frozen=True)
class CaseMetadata:
    """What metadata access shows of a case (the beheerder's instance list): nothing that names the client."""

    id: int
    team: str | None
    status: str
    started_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CaseColumns(CaseMetadata):
    """The summary columns of a case, as every list of cases shows them (construct by keyword)."""

    client_ref: str
    started_by: str


@dataclass(frozen=True)
class CaseSummary(CaseColumns):
    process_id: str
    process_version: int


@dataclass(frozen=True)
class CaseInfo(CaseSummary):
    """A case file: the summary plus what happened and what is open."""

    milestones: list[str] = field(default_factory=list)
    open_tasks: list[TaskInfo] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    waiting_timers: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class DiagramView:
    process_id: str
    filename: str
    bpmn_xml: str  # "" when asked without the source (pages fetch it from its own address, lookups.process_diagram)
    completed_elements: list[str]
    active_elements: list[str]
    version: int = 0  # the process version the case runs on, and its content hash (names the source's address)
    content_hash: str = ""


@dataclass(frozen=True)
class Completion:
    """What completing a task changed: the case's status, milestones reached, tasks now open."""

    case_id: int
    status: str
    milestones: list[str]
    open_task_ids: list[int]
