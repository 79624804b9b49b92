"""Drafts (concepten): a half-filled task form kept on the server for one user until the task is completed.

A draft is not part of the dossier: it is not in the case's variables, not in the timeline, and no one but its
author sees it. It holds what the form showed (raw text per field, or a list for checkboxes), so that even a
half-typed date comes back as typed. Only someone who may work on the task (engine/access.py, and not while
someone else has claimed it) may save one; its text is checked like any other text entering the engine
(engine/text_input.py: storable, no control characters, the field's length) but not against the form's required
fields. Saving, reading and discarding are audited as writes and reads of case data (NEN 7513).

When the task leaves the ready state (completed, or cancelled by the route) its drafts are deleted in the same
transaction: importing this module makes `drop_drafts_of_finished_tasks` run before every ORM flush, so the
completion in engine/cases.py needs no call of its own.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, event, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from . import access, audit, clock, text_input
from .concurrency import conflict, lost_race_as_conflict
from .errors import ValidationError
from .models import Case, CaseTask, ProcessVersion, TaskDraft
from .states import CaseTaskState
from .views import Actor
from .workable import ensure_workable

DraftValue = str | list[str]
MAX_FIELDS = 200  # a form has a few dozen fields at most; more is not a form
TOO_MANY = "Dit concept heeft te veel velden."
NOT_A_FIELD = "Dit veld hoort niet bij dit formulier."
BAD_SHAPE = "Dit antwoord heeft niet de juiste vorm."


@dataclass(frozen=True)
class Draft:
    """One user's draft of one task: the form's values as typed, and when they were saved."""

    task_id: int
    username: str
    data: dict[str, DraftValue]
    saved_at: datetime


def clean(data: Any, schema: Mapping[str, Any] | None,
          max_text_length: int = text_input.DEFAULT_MAX_LENGTH) -> dict[str, DraftValue]:
    """The draft's values, or ValidationError (Dutch, per field): only the form's fields (and the tick box of a
    date in the past, "<field>__bevestigd"), each a text or a list of texts, each text storable and not longer
    than its field allows. Required fields may be missing: a draft is unfinished by nature."""
    if not isinstance(data, Mapping):
        raise ValidationError({"(form)": [BAD_SHAPE]})
    if len(data) > MAX_FIELDS:
        raise ValidationError({"(form)": [TOO_MANY]})
    properties = (schema or {}).get("properties") or {}
    errors: dict[str, list[str]] = {}
    result: dict[str, DraftValue] = {}
    for name, value in data.items():
        if not isinstance(name, str):
            raise ValidationError({"(form)": [BAD_SHAPE]})
        base = name.removesuffix("__bevestigd")
        prop = properties.get(base)
        if not isinstance(prop, Mapping) or prop.get("readOnly"):
            errors[text_input.printable(name)] = [NOT_A_FIELD]
            continue
        limit = prop.get("maxLength") if isinstance(prop.get("maxLength"), int) else max_text_length
        texts = value if isinstance(value, list) else [value]
        if not all(isinstance(t, str) for t in texts) or (isinstance(value, list) and len(value) > MAX_FIELDS):
            errors[name] = [BAD_SHAPE]
            continue
        problems = [p for t in texts for p in text_input.text_problems(t, limit)]
        if problems:
            errors[name] = sorted(set(problems), key=problems.index)
            continue
        result[name] = list(value) if isinstance(value, list) else value
    if errors:
        raise ValidationError(errors)
    return result


def _workable_task(session: Session, task_id: int, actor: Actor) -> tuple[CaseTask, Case, access.Decision]:
    """The task and its case if `actor` may work on it now: open, on a running case, not claimed by another."""
    row, case, decision = access.task_with_access(session, actor, task_id, clock.now())
    ensure_workable(row, case, actor)  # drafts are kept for tasks that can still be completed
    return row, case, decision


def _schema(session: Session, case: Case, row: CaseTask) -> Mapping[str, Any] | None:
    forms = session.scalar(select(ProcessVersion.forms).where(ProcessVersion.id == case.process_version_id)) or {}
    schema = forms.get(row.form) if row.form else None
    return schema if isinstance(schema, Mapping) else None


def _audit_refusal(sessions: sessionmaker[Session], actor: Actor, action: str, task_id: int,
                   reason: str) -> None:
    with sessions.begin() as session:
        case = session.execute(select(Case.id, Case.client_ref).join(CaseTask, CaseTask.case_id == Case.id)
                               .where(CaseTask.id == task_id)).first()
        audit.record(session, actor.username, action, outcome="denied", task_id=task_id,
                     case_id=case[0] if case else None, client_ref=case[1] if case else None, reason=reason)


def save_draft(sessions: sessionmaker[Session], task_id: int, actor: Actor, data: Any,
               max_text_length: int = text_input.DEFAULT_MAX_LENGTH) -> Draft:
    """Keep `data` (the form's values as typed) as `actor`'s draft of the task, replacing an earlier one."""
    now = clock.now()
    try:
        with lost_race_as_conflict(), sessions.begin() as session:
            row, case, decision = _workable_task(session, task_id, actor)
            values = clean(data, _schema(session, case, row), max_text_length)
            draft = session.scalar(select(TaskDraft).where(TaskDraft.task_id == row.id,
                                                           TaskDraft.username == actor.username))
            if draft is None:
                draft = TaskDraft(task_id=row.id, username=actor.username, data=values, saved_at=now)
                session.add(draft)
            else:
                draft.data, draft.saved_at = values, now
            audit.record(session, actor.username, "task.draft.save", case_id=case.id, task_id=row.id,
                         client_ref=case.client_ref, element_id=row.element_id, fields=sorted(values),
                         **decision.audit_details())
            return Draft(row.id, actor.username, values, now)
    except IntegrityError:  # two saves of the same new draft at once: the other one won
        raise conflict() from None
    except access.AccessDenied as exc:
        _audit_refusal(sessions, actor, "task.draft.save", task_id, str(exc))
        raise


def load_draft(sessions: sessionmaker[Session], task_id: int, actor: Actor) -> Draft | None:
    """`actor`'s own draft of the task (None: none, or the task is no longer open). Reading one is audited."""
    try:
        with sessions.begin() as session:
            row, case, decision = access.task_with_access(session, actor, task_id, clock.now())
            draft = session.scalar(select(TaskDraft).where(TaskDraft.task_id == row.id,
                                                           TaskDraft.username == actor.username))
            if draft is None or row.state != CaseTaskState.READY:
                return None
            audit.record(session, actor.username, "task.draft.view", case_id=case.id, task_id=row.id,
                         client_ref=case.client_ref, **decision.audit_details())
            return Draft(row.id, actor.username, dict(draft.data or {}), draft.saved_at)
    except access.AccessDenied as exc:
        _audit_refusal(sessions, actor, "task.draft.view", task_id, str(exc))
        raise


def discard_draft(sessions: sessionmaker[Session], task_id: int, actor: Actor) -> bool:
    """Delete `actor`'s draft of the task; False when there was none. Audited when one was deleted."""
    try:
        with sessions.begin() as session:
            row, case, decision = access.task_with_access(session, actor, task_id, clock.now())
            draft = session.scalar(select(TaskDraft).where(TaskDraft.task_id == row.id,
                                                           TaskDraft.username == actor.username))
            if draft is None:
                return False
            session.delete(draft)
            audit.record(session, actor.username, "task.draft.discard", case_id=case.id, task_id=row.id,
                         client_ref=case.client_ref, **decision.audit_details())
            return True
    except access.AccessDenied as exc:
        _audit_refusal(sessions, actor, "task.draft.discard", task_id, str(exc))
        raise


def has_draft(sessions: sessionmaker[Session], task_id: int, username: str) -> bool:
    """Whether `username` keeps a draft of the task (no content: not audited)."""
    with sessions() as session:
        return session.scalar(select(TaskDraft.id).where(TaskDraft.task_id == task_id,
                                                         TaskDraft.username == username).limit(1)) is not None


# -- a finished task takes its drafts with it, in the same transaction ------------------------------------------
# Tasks that a use case read, in this transaction, together with the fact that they have no draft
# (engine/case_store.py): finishing them needs no DELETE. A draft saved by someone else between that read and
# the commit stays behind, as one saved between the DELETE and the commit always could; it is never shown (a
# draft is only read for a ready task) and retention removes it.
NO_DRAFTS = "meldcode.tasks_without_drafts"


def note_draftless(session: Session, task_ids: set[int]) -> None:
    """Note that the tasks `task_ids` had no draft when this transaction read them."""
    session.info[NO_DRAFTS] = (session.get_transaction(), task_ids)


def drop_drafts_of_finished_tasks(session: Session, _flush_context: object = None, _instances: object = None) -> None:
    """Before a flush: delete the drafts of every task whose state changes from ready to anything else."""
    noted = session.info.get(NO_DRAFTS)
    draftless = noted[1] if noted is not None and noted[0] is session.get_transaction() else set()
    finished = [obj.id for obj in session.dirty
                if isinstance(obj, CaseTask) and obj.id is not None and obj.state != CaseTaskState.READY
                and obj.id not in draftless and inspect(obj).attrs.state.history.has_changes()]
    if finished:
        session.execute(delete(TaskDraft).where(TaskDraft.task_id.in_(finished)))


# Every session: a task that leaves the ready state anywhere (a completion, the route cancelling it) drops its drafts.
if not event.contains(Session, "before_flush", drop_drafts_of_finished_tasks):
    event.listen(Session, "before_flush", drop_drafts_of_finished_tasks)


__all__ = ["NO_DRAFTS", "Draft", "clean", "discard_draft", "drop_drafts_of_finished_tasks", "has_draft",
           "load_draft", "note_draftless", "save_draft"]
