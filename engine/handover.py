"""Handing over: a case (its responsibility) or an open task (its claim) to a named colleague, with a note.

Who may hand over:
- the case: its responsible professional (`Case.responsible`, the one who started it by default);
- an open task: whoever may work on it (its lane, engine/access.py) while it is unclaimed or claimed by them;
- both: the leidinggevende of the case's team, who reassigns within the team (a colleague's absence does not
  strand a case).

Who may receive: a colleague of the case's own team (not through break-the-glass) who holds the right role — a
professional for the case, the task's lane for a task — and who may read the case (the internal route is closed
to professionals). The engine does not read accounts: the caller passes the team's colleagues as `Actor`s.

Each handover is one transaction: the `case_handover` row, the change (`Case.responsible` or
`CaseTask.claimed_by`) and its audit event (`case.handover`, `task.handover`). A refusal changes nothing and is
a `HandoverError` with a `code` (the web words it) or a `ValidationError` for the note.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from . import access, audit, clock, text_input
from .concurrency import lost_race_as_conflict
from .errors import NotFoundError, ValidationError
from .models import Case, CaseHandover, CaseTask
from .states import CaseStatus, CaseTaskState
from .views import Actor

RESPONSIBLE_ROLES = frozenset({"professional"})  # who may be responsible for a case
LEIDINGGEVENDE = "leidinggevende"
MAX_NOTE = 2000
NOTE_FIELD = "notitie"
TARGET_FIELD = "aan"

# HandoverError codes
NOT_HOLDER = "not_holder"  # the actor neither holds the case/task nor leads the team
NOT_RUNNING = "not_running"  # the case is not running, or the task no longer open
UNKNOWN_COLLEAGUE = "unknown_colleague"  # not a colleague of the case's team
LACKS_ROLE = "lacks_role"  # a colleague without the right role
NO_ACCESS = "no_access"  # a colleague who may not read this case (e.g. the internal route)
ALREADY_HOLDS = "already_holds"  # the colleague is already responsible / holds the task


class HandoverError(ValidationError):
    """A handover that cannot be made; `code` says why (see the constants above). Nothing was changed."""

    def __init__(self, code: str, reason: str):
        self.code = code
        super().__init__({TARGET_FIELD: [reason]}, {TARGET_FIELD: [(code, reason)]})


@dataclass(frozen=True)
class HandoverRecord:
    """One handover in the case's history (who was responsible when)."""

    id: int
    task_id: int | None  # None: the case itself
    task_name: str | None
    from_user: str | None
    to_user: str
    note: str | None
    handed_by: str
    handed_at: datetime

    @property
    def reassigned(self) -> bool:
        """Handed over by someone else than the holder (the leidinggevende)."""
        return self.handed_by != self.from_user


@dataclass(frozen=True)
class TaskOption:
    """An open task the actor may hand over, with the colleagues who may take it."""

    task_id: int
    name: str | None
    lane: str | None
    claimed_by: str | None
    candidates: list[str]


@dataclass(frozen=True)
class HandoverOptions:
    case_id: int
    responsible: str | None
    may_hand_over_case: bool
    case_candidates: list[str]
    tasks: list[TaskOption]
    leads_team: bool  # the actor is the team's leidinggevende (reassigns)


@dataclass(frozen=True)
class Ownership:
    """What the case file shows: who is responsible and the handovers so far (oldest first)."""

    responsible: str | None
    history: list[HandoverRecord]


def leads_team(actor: Actor, team: str | None) -> bool:
    return LEIDINGGEVENDE in actor.roles and team is not None and actor.team == team


def ownership(sessions: sessionmaker[Session], case_id: int, actor: Actor) -> Ownership:
    """The responsible professional and the handover history, for someone with full access to the case. Part of
    the case file: its read is audited with the case file's (`case.view`)."""
    with sessions() as session:
        case = _case(session, case_id)
        _require_full(session, actor, case)
        return Ownership(case.responsible, _history(session, case.id))


def options(sessions: sessionmaker[Session], case_id: int, actor: Actor,
            colleagues: Iterable[Actor]) -> HandoverOptions:
    """What `actor` may hand over on this case, and to whom (from `colleagues`, the accounts of the team)."""
    people = list(colleagues)
    with sessions() as session:
        case = _case(session, case_id)
        _require_full(session, actor, case)
        now = clock.now()
        running = case.status == CaseStatus.RUNNING
        lead = leads_team(actor, case.team)
        may_case = running and (lead or (case.responsible is not None and case.responsible == actor.username))
        case_candidates = [p.username for p in people if _case_refusal(session, case, p, now) is None] \
            if may_case else []
        tasks = []
        if running:
            for row in session.scalars(select(CaseTask).where(CaseTask.case_id == case.id,
                                                              CaseTask.state == CaseTaskState.READY)
                                       .order_by(CaseTask.id)):
                if _may_hand_over_task(session, actor, case, row, now):
                    tasks.append(TaskOption(row.id, row.name, row.lane, row.claimed_by,
                                            [p.username for p in people
                                             if _task_refusal(session, case, row, p, now) is None]))
        return HandoverOptions(case.id, case.responsible, may_case, case_candidates, tasks, lead)


def hand_over_case(sessions: sessionmaker[Session], case_id: int, actor: Actor, to: Actor | None,
                   note: str | None) -> HandoverRecord:
    """Make `to` the case's responsible professional. `to` is the colleague's account as the caller knows it
    (None: no such colleague)."""
    note = _note(note)
    now = clock.now()
    with (lost_race_as_conflict(), denials_audited(sessions, actor, "case.handover", case_id=case_id),
          sessions.begin() as session):
        case = _case(session, case_id, lock=True)
        decision = _require_full(session, actor, case)
        if case.status != CaseStatus.RUNNING:
            raise HandoverError(NOT_RUNNING, f"case {case.id} is {case.status}")
        lead = leads_team(actor, case.team)
        if not lead and (case.responsible is None or case.responsible != actor.username):
            raise HandoverError(NOT_HOLDER, f"{actor.username} is not responsible for case {case.id} and does "
                                            f"not lead its team")
        if to is None:
            raise HandoverError(UNKNOWN_COLLEAGUE, "no such colleague")
        refusal = _case_refusal(session, case, to, now)
        if refusal is not None:
            raise refusal
        previous = case.responsible
        case.responsible = to.username
        case.updated_at = now
        record = CaseHandover(case_id=case.id, task_id=None, from_user=previous, to_user=to.username, note=note,
                              handed_by=actor.username, handed_at=now)
        session.add(record)
        session.flush()
        audit.record(session, actor.username, "case.handover", case_id=case.id, client_ref=case.client_ref,
                     **decision.audit_details(), from_user=previous, to_user=to.username,
                     reassigned=previous != actor.username, with_note=note is not None)
        return _view(record, None)


def hand_over_task(sessions: sessionmaker[Session], task_id: int, actor: Actor, to: Actor | None,
                   note: str | None) -> HandoverRecord:
    """Give an open task (its claim) to `to`, a colleague who may work in its lane."""
    note = _note(note)
    now = clock.now()
    with (lost_race_as_conflict(), denials_audited(sessions, actor, "task.handover", task_id=task_id),
          sessions.begin() as session):
        found = session.execute(select(CaseTask, Case).join(Case, Case.id == CaseTask.case_id)
                                .where(CaseTask.id == task_id)).first()
        if found is None:
            raise NotFoundError(f"task {task_id} does not exist")
        row, case = found
        decision = _require_full(session, actor, case)
        if case.status != CaseStatus.RUNNING or row.state != CaseTaskState.READY:
            raise HandoverError(NOT_RUNNING, f"task {row.id} is {row.state} in a {case.status} case")
        if not _may_hand_over_task(session, actor, case, row, now):
            raise HandoverError(NOT_HOLDER, f"{actor.username} may not hand over task {row.id}")
        if to is None:
            raise HandoverError(UNKNOWN_COLLEAGUE, "no such colleague")
        refusal = _task_refusal(session, case, row, to, now)
        if refusal is not None:
            raise refusal
        previous = row.claimed_by
        row.claimed_by = to.username
        case.updated_at = now  # the case row's version moves: a concurrent handover or completion loses
        record = CaseHandover(case_id=case.id, task_id=row.id, from_user=previous, to_user=to.username,
                              note=note, handed_by=actor.username, handed_at=now)
        session.add(record)
        session.flush()
        audit.record(session, actor.username, "task.handover", case_id=case.id, task_id=row.id,
                     client_ref=case.client_ref, **decision.audit_details(), from_user=previous,
                     to_user=to.username, reassigned=previous != actor.username, with_note=note is not None)
        return _view(record, row.name)


@contextlib.contextmanager
def denials_audited(sessions: sessionmaker[Session], actor: Actor, action: str, *, case_id: int | None = None,
                    task_id: int | None = None) -> Iterator[None]:
    """An access refusal (engine/access.py) is audited as denied, in its own transaction, and passed on."""
    try:
        yield
    except access.AccessDenied as exc:
        with sessions.begin() as session:
            client_ref = None
            if task_id is not None and case_id is None:
                case_id = session.scalar(select(CaseTask.case_id).where(CaseTask.id == task_id))
            if case_id is not None:
                client_ref = session.scalar(select(Case.client_ref).where(Case.id == case_id))
            audit.record(session, actor.username, action, outcome="denied", case_id=case_id, task_id=task_id,
                         client_ref=client_ref, reason=str(exc))
        raise


# -- internals ------------------------------------------------------------------------------------------------
def _case(session: Session, case_id: int, *, lock: bool = False) -> Case:
    case = session.get(Case, case_id, with_for_update=lock and session.get_bind().dialect.name == "postgresql")
    if case is None:
        raise NotFoundError(f"case {case_id} does not exist")
    return case


def _require_full(session: Session, actor: Actor, case: Case) -> access.Decision:
    decision = access.check_case(session, actor, case, clock.now())
    if decision.scope != access.FULL:
        raise access.AccessDenied(f"{actor.username} may not hand over in case {case.id}: {decision.basis}")
    return decision


def _own_team_reader(session: Session, case: Case, person: Actor, now: datetime) -> bool:
    """`person` reads the case as a member of its team (not through a break-the-glass grant)."""
    if person.team is None or person.team != case.team:
        return False
    decision = access.decide_case(person, _facts(session, case, person, now))
    return decision.scope == access.FULL and not decision.basis.startswith("break-the-glass")


def _case_refusal(session: Session, case: Case, to: Actor, now: datetime) -> HandoverError | None:
    roles = "/".join(sorted(RESPONSIBLE_ROLES))
    responsible = to.username == case.responsible
    return _refusal(session, case, to, now,
                    lacks_role=None if to.roles & RESPONSIBLE_ROLES else f"{to.username} is not a {roles}",
                    holds=f"{to.username} is already responsible for case {case.id}" if responsible else None)


def _task_refusal(session: Session, case: Case, row: CaseTask, to: Actor, now: datetime) -> HandoverError | None:
    return _refusal(session, case, to, now,
                    lacks_role=None if to.may_work_in(row.lane) else f"{to.username} does not work in lane {row.lane}",
                    holds=f"{to.username} already holds task {row.id}" if to.username == row.claimed_by else None)


def _refusal(session: Session, case: Case, to: Actor, now: datetime, *, lacks_role: str | None,
             holds: str | None) -> HandoverError | None:
    """The first reason `to` cannot receive: not in the case's team, `lacks_role` (the reason, or None when `to`
    has the role), may not read the case, `holds` (the reason, or None when `to` does not hold it yet)."""
    if to.team is None or to.team != case.team:
        return HandoverError(UNKNOWN_COLLEAGUE, f"{to.username} is not in team {case.team}")
    if lacks_role is not None:
        return HandoverError(LACKS_ROLE, lacks_role)
    if not _own_team_reader(session, case, to, now):
        return HandoverError(NO_ACCESS, f"{to.username} may not read case {case.id}")
    if holds is not None:
        return HandoverError(ALREADY_HOLDS, holds)
    return None


def _may_hand_over_task(session: Session, actor: Actor, case: Case, row: CaseTask, now: datetime) -> bool:
    if leads_team(actor, case.team):
        return True
    if actor.team is None or actor.team != case.team:
        return False  # break-the-glass lets one read and act, not hand the team's work around
    if row.claimed_by not in (None, actor.username):
        return False
    return access.decide_task(actor, _facts(session, case, actor, now), row.lane).allowed


def _facts(session: Session, case: Case, person: Actor, now: datetime) -> access.CaseFacts:
    facts = access.load_facts(session, case, person, now)
    assert facts is not None  # loaded from the case row itself
    return facts


def _note(note: str | None) -> str | None:
    note = (note or "").strip()
    if not note:
        return None
    problems = text_input.text_problems(note, MAX_NOTE)
    if problems:
        raise ValidationError({NOTE_FIELD: problems}, {NOTE_FIELD: [("text", p) for p in problems]})
    return note


def _history(session: Session, case_id: int) -> list[HandoverRecord]:
    rows = session.execute(select(CaseHandover, CaseTask.name).outerjoin(CaseTask, CaseTask.id == CaseHandover.task_id)
                           .where(CaseHandover.case_id == case_id).order_by(CaseHandover.id)).all()
    return [_view(h, name) for h, name in rows]


def _view(row: CaseHandover, task_name: str | None) -> HandoverRecord:
    return HandoverRecord(row.id, row.task_id, task_name, row.from_user, row.to_user, row.note, row.handed_by,
                          row.handed_at)
