"""Claim, release and complete a task for a request: the engine call and its refusals classified once.

The task pages (web/tasks/views.py) and the JSON API (web/api/views.py) share this; each only words the outcome
(a Dutch page or flash, a JSON problem)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import abort
from flask_login import current_user

from engine import lookups
from engine.access import AccessDenied
from engine.errors import (
    CaseFailure,
    CaseNotRunningError,
    ConflictError,
    EngineError,
    NotAllowedError,
    NotFoundError,
    TaskNotReadyError,
    ValidationError,
)
from engine.views import Completion

from ..access import deny, require_task
from ..services import services

# Refusal kind (the API's error code) and HTTP status per engine error; the first matching class wins.
_REFUSALS: tuple[tuple[type[EngineError], str, int], ...] = (
    (ValidationError, "validation", 422),
    (TaskNotReadyError, "task_not_ready", 409),
    (CaseNotRunningError, "case_not_running", 409),
    (ConflictError, "conflict", 409),
    (NotAllowedError, "claimed", 409),  # the task is claimed by someone else
    (CaseFailure, "case_failure", 500),
)
_CLAIM_REFUSALS = (NotAllowedError, TaskNotReadyError)
_COMPLETE_REFUSALS = tuple(cls for cls, _, _ in _REFUSALS)


@dataclass(frozen=True)
class Refusal:
    """Why the engine refused, with the task as it stands now (who claimed or completed it)."""

    kind: str
    status: int
    error: EngineError
    scope: lookups.TaskScope | None


def refusal(task_id: int, error: EngineError) -> Refusal:
    kind, status = next((k, s) for cls, k, s in _REFUSALS if isinstance(error, cls))
    return Refusal(kind, status, error, lookups.task_scope(services().sessions, task_id))


def claim(task_id: int, *, release: bool) -> Refusal | None:
    """Claim the task for the current user, or release it; None when done."""
    require_task(task_id, "task.release" if release else "task.claim")
    try:
        services().cases.claim_task(task_id, current_user.actor, release=release)
    except _CLAIM_REFUSALS as exc:
        return refusal(task_id, exc)
    return None


def complete(task_id: int, data: dict) -> Completion | Refusal:
    """Complete the task with `data` as the current user (access already checked by the caller)."""
    try:
        return services().cases.complete_task(task_id, current_user.actor, data)
    except _COMPLETE_REFUSALS as exc:
        return refusal(task_id, exc)


def complete_deciding_access(task_id: int, data: dict) -> Completion | Refusal:
    """Complete the task with `data` as the current user, leaving the access decision to the engine: it decides
    on the row the completion reads anyway (one statement less than `require_task` first) and audits a refusal
    itself. A refusal is the same 403 as `require_task` gives, whether the task exists or not."""
    try:
        return services().cases.complete_task(task_id, current_user.actor, data)
    except AccessDenied:  # before its base class NotAllowedError, a claim by someone else
        abort(403)  # audited as denied by the engine (engine/completing.py)
    except NotFoundError:
        deny("task.complete", task_id=task_id, reason="no such task")
        raise  # not reached: deny() aborts
    except _COMPLETE_REFUSALS as exc:
        return refusal(task_id, exc)
