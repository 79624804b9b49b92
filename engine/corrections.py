"""Corrections: an addendum to a completed step. The step's own record (`CaseTask.data`) is never overwritten.

A correction names the fields it changes with their new values, the author, the time and a reason. It is made by
someone who may work on the step (its lane in the case's team, engine/access.py), and validated against the step's
form schema (engine/forms.py): the step's answers with every correction so far and this one applied must still
satisfy the form. The route is not run again: a correction documents, it does not steer (what changed in the
client's situation is a case event, e.g. `nieuwe_signalen`).

One transaction writes the `task_correction` row and its audit event (`task.correct`). Bad data changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from . import access, audit, clock, forms, text_input
from .errors import NotFoundError, TaskNotReadyError, ValidationError
from .handover import denials_audited
from .models import Case, CaseTask, ProcessVersion, TaskCorrection
from .states import CaseTaskState
from .views import Actor

MAX_REASON = 2000
REASON_FIELD = "reden"
CHANGES_FIELD = "(wijzigingen)"
NO_CHANGE = "Er is niets gewijzigd: pas minstens één antwoord aan."
REASON_REQUIRED = "Geef de reden van de correctie."


@dataclass(frozen=True)
class Correction:
    id: int
    task_id: int
    author: str
    created_at: datetime
    reason: str
    changes: dict[str, Any]  # field -> corrected value
    previous: dict[str, Any]  # field -> the value it corrects (the step's answer, or an earlier correction)


@dataclass(frozen=True)
class CorrectableStep:
    """A completed step as the correction form needs it: its form and its answers as they stand now."""

    task_id: int
    case_id: int
    client_ref: str
    name: str | None
    element_id: str
    lane: str | None
    completed_by: str | None
    completed_at: datetime | None
    form_schema: dict[str, Any]
    recorded: dict[str, Any]  # what the step recorded
    current: dict[str, Any]  # with the corrections applied
    corrections: list[Correction]


def step(sessions: sessionmaker[Session], task_id: int, actor: Actor) -> CorrectableStep:
    """A completed step for its correction form (only for who may correct it; read audited as `task.view`)."""
    with denials_audited(sessions, actor, "task.correct", task_id=task_id), sessions.begin() as session:
        row, case, decision = _load(session, task_id, actor)
        schema = _schema(session, case, row)
        found = _corrections(session, [row.id]).get(row.id, [])
        audit.record(session, actor.username, "task.view", case_id=case.id, task_id=row.id,
                     client_ref=case.client_ref, **decision.audit_details(), purpose="correction")
        return _step(row, case, schema, found)


def add(sessions: sessionmaker[Session], task_id: int, actor: Actor, changes: dict[str, Any], reason: str | None,
        *, max_text_length: int = text_input.DEFAULT_MAX_LENGTH) -> Correction:
    """Add a correction to a completed step. Raises ValidationError (field -> reasons, Dutch for the reason and
    for unchanged data) and changes nothing when the reason is missing, nothing changes, or the corrected answers
    break the step's form."""
    reason = (reason or "").strip()
    problems: dict[str, list[tuple[str | None, str]]] = {}
    if not reason:
        problems[REASON_FIELD] = [("text", REASON_REQUIRED)]
    elif reason_problems := text_input.text_problems(reason, MAX_REASON):
        problems[REASON_FIELD] = [("text", p) for p in reason_problems]
    if not isinstance(changes, dict):
        raise ValidationError({CHANGES_FIELD: ["changes must be an object"]})
    with denials_audited(sessions, actor, "task.correct", task_id=task_id), sessions.begin() as session:
        row, case, decision = _load(session, task_id, actor)
        schema = _schema(session, case, row)
        earlier = _corrections(session, [row.id]).get(row.id, [])
        current = _current(row.data or {}, earlier)
        changed = {name: value for name, value in changes.items() if current.get(name, _MISSING) != value}
        if not changed:
            problems[CHANGES_FIELD] = [("text", NO_CHANGE)]
        try:
            forms.validate(schema, {**current, **changed}, max_text_length)
        except ValidationError as exc:
            # Only what this correction touches: an old answer that a later form version would refuse is history.
            for name, found in exc.problems.items():
                if name.split(".", 1)[0] in changed or name == "(form)":
                    problems[name] = list(found)
        if problems:
            raise ValidationError({name: [reason for _, reason in found] for name, found in problems.items()},
                                  problems)
        now = clock.now()
        record = TaskCorrection(case_id=case.id, task_id=row.id, author=actor.username, created_at=now,
                                reason=reason, changes=dict(changed))
        session.add(record)
        session.flush()
        audit.record(session, actor.username, "task.correct", case_id=case.id, task_id=row.id,
                     client_ref=case.client_ref, **decision.audit_details(), element_id=row.element_id,
                     fields=sorted(changed), correction_id=record.id)
        return _view(record, {name: current.get(name) for name in changed})


def case_corrections(sessions: sessionmaker[Session], case_id: int, actor: Actor,
                     task_ids: list[int]) -> dict[int, list[Correction]]:
    """`for_case` for someone who may read the case; `task_ids` are the steps the case file shows them."""
    with sessions() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise NotFoundError(f"case {case_id} does not exist")
        decision = access.check_case(session, actor, case, clock.now())
        if decision.scope == access.METADATA or not task_ids:
            return {}
        return _corrections(session, task_ids, case_id)


def may_correct(sessions: sessionmaker[Session], case_id: int, actor: Actor) -> set[int]:
    """The completed steps of a case that `actor` may correct (the buttons on the timeline)."""
    with sessions() as session:
        case = session.get(Case, case_id)
        if case is None:
            return set()
        facts = access.load_facts(session, case, actor, clock.now())
        if facts is None:
            return set()
        lanes = session.execute(select(CaseTask.id, CaseTask.lane).where(
            CaseTask.case_id == case_id, CaseTask.state == CaseTaskState.COMPLETED)).all()
        return {task_id for task_id, lane in lanes if access.decide_task(actor, facts, lane).allowed}


# -- internals ------------------------------------------------------------------------------------------------
_MISSING = object()


def _load(session: Session, task_id: int, actor: Actor) -> tuple[CaseTask, Case, access.Decision]:
    row, case, decision = access.task_with_access(session, actor, task_id, clock.now())
    if row.state != CaseTaskState.COMPLETED:
        raise TaskNotReadyError(f"task {row.id} is {row.state}: only a completed step can be corrected")
    return row, case, decision


def _schema(session: Session, case: Case, row: CaseTask) -> dict[str, Any]:
    forms_of_version = session.scalar(select(ProcessVersion.forms).where(ProcessVersion.id == case.process_version_id))
    schema = (forms_of_version or {}).get(row.form) if row.form else None
    return schema if isinstance(schema, dict) else {"type": "object"}


def _corrections(session: Session, task_ids: list[int], case_id: int | None = None) -> dict[int, list[Correction]]:
    query = select(TaskCorrection).where(TaskCorrection.task_id.in_(task_ids)).order_by(TaskCorrection.id)
    if case_id is not None:
        query = query.where(TaskCorrection.case_id == case_id)
    rows = list(session.scalars(query))
    if not rows:
        return {}
    recorded: dict[int, Any] = {task_id: data for task_id, data in session.execute(
        select(CaseTask.id, CaseTask.data).where(CaseTask.id.in_({r.task_id for r in rows})))}
    result: dict[int, list[Correction]] = {}
    for row in rows:
        earlier = result.setdefault(row.task_id, [])
        current = _current(recorded.get(row.task_id) or {}, earlier)
        earlier.append(_view(row, {name: current.get(name) for name in row.changes or {}}))
    return result


def _current(data: dict[str, Any], corrections: list[Correction]) -> dict[str, Any]:
    current = dict(data) if isinstance(data, dict) else {}
    for correction in corrections:
        current.update(correction.changes)
    return current


def _view(row: TaskCorrection, previous: dict[str, Any]) -> Correction:
    return Correction(row.id, row.task_id, row.author, row.created_at, row.reason, dict(row.changes or {}), previous)


def _step(row: CaseTask, case: Case, schema: dict[str, Any], found: list[Correction]) -> CorrectableStep:
    recorded = dict(row.data) if isinstance(row.data, dict) else {}
    return CorrectableStep(row.id, case.id, case.client_ref, row.name, row.element_id, row.lane, row.completed_by,
                           row.ended_at, schema, recorded, _current(recorded, found), found)
