"""Use cases: complete a task with its form data; claim or release a task."""
from __future__ import annotations

from typing import Any, cast

from . import audit, clock, forms
from .case_store import DECISION, OPEN_ROWS, CaseStore
from .concurrency import lost_race_as_conflict
from .errors import CaseNotRunningError, NotAllowedError, TaskNotReadyError
from .states import CaseStatus, CaseTaskState
from .views import Actor, Completion
from .workable import ensure_workable


def complete_task(store: CaseStore, task_id: int, actor: Actor, data: dict[str, Any]) -> Completion:
    now = clock.now()
    try:
        with lost_race_as_conflict(), store.sessions.begin() as session:
            row, case = store.task_row(session, task_id, actor, "task.complete", open_rows=True)
            if case.status != CaseStatus.RUNNING:  # before the task's state: an ended case is named as such
                raise CaseNotRunningError(f"case {case.id} is {case.status}; its tasks can no longer be completed")
            ensure_workable(row, case, actor)
            schema = store.forms(session, case.process_version_id).get(row.form) if row.form \
                else {"type": "object"}
            forms.validate(cast(dict[str, Any], schema), data, store.settings.max_text_length)
            runtime = store.load(case)
            result = runtime.complete(row.spiff_task_id, data)
            row.state, row.ended_at, row.completed_by, row.data = (CaseTaskState.COMPLETED, now, actor.username,
                                                                   dict(data))
            store.save(session, case, runtime, result, now)
            audit.record(session, actor.username, "task.complete", case_id=case.id, task_id=row.id,
                         client_ref=case.client_ref, element_id=row.element_id,
                         **session.info[DECISION].audit_details(),
                         fields=sorted(data), milestones=[m for m, _ in result.milestones])
            return Completion(case.id, case.status, [m for m, _ in result.milestones],
                              sorted(r.id for r in session.info.pop(OPEN_ROWS)))
    except NotAllowedError as exc:
        store.audit_denied(actor, "task.complete", task_id, str(exc))
        raise


def claim_task(store: CaseStore, task_id: int, actor: Actor, release: bool = False) -> None:
    action = "task.release" if release else "task.claim"
    with store.denials_audited(actor, action, task_id=task_id), store.sessions.begin() as session:
        row, case = store.task_row(session, task_id, actor, "task.claim")
        if row.state != CaseTaskState.READY:
            raise TaskNotReadyError(f"task {row.id} is {row.state}")
        if release:
            if row.claimed_by not in (None, actor.username):
                raise NotAllowedError(f"task {row.id} is claimed by {row.claimed_by}")
            row.claimed_by = None
        else:
            if row.claimed_by not in (None, actor.username):
                raise NotAllowedError(f"task {row.id} is already claimed by {row.claimed_by}")
            row.claimed_by = actor.username
        audit.record(session, actor.username, action, case_id=case.id, task_id=row.id, client_ref=case.client_ref)
