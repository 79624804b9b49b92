"""The one rule for working on an open task (completing it, keeping a draft of it), after access was granted."""
from __future__ import annotations

from .errors import CaseNotRunningError, NotAllowedError, TaskNotReadyError
from .models import Case, CaseTask
from .states import CaseStatus, CaseTaskState
from .views import Actor


def ensure_workable(row: CaseTask, case: Case, actor: Actor) -> None:
    """Refuse unless the task is open, its case runs and no one else claimed it (the first that fails)."""
    if row.state != CaseTaskState.READY:
        raise TaskNotReadyError(f"task {row.id} ({row.name}) is already {row.state}")
    if case.status != CaseStatus.RUNNING:
        raise CaseNotRunningError(f"case {case.id} is {case.status}")
    if row.claimed_by and row.claimed_by != actor.username:
        raise NotAllowedError(f"task {row.id} is claimed by {row.claimed_by}")
