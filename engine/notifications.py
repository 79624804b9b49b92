"""Notifications: reminders and escalations about open tasks, stored once per task, kind and recipient.

A stored row *is* the in-app notification (the inbox and the case file read it); its `status` tracks the
e-mail copy: `pending` (to be mailed), `sending` (claimed by a worker until `lease_until`), `sent`, `failed`
(given up after the last attempt or a permanent refusal) or `skipped` (in-app only: no e-mail configured, no
address, or the task was done before the mail went out). Rows never hold form data: only which task, which
kind and for whom; client reference, task name and due date are read from the case tables.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, exists, or_, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from . import access, clock
from .models import Case, CaseTask, Notification
from .states import CaseStatus, CaseTaskState, NotificationKind, NotificationStatus
from .views import Actor

# Kinds, in the order they fall due for one task (names kept here for callers; defined in states.py).
REMINDER_BEFORE = NotificationKind.REMINDER_BEFORE
REMINDER_DUE = NotificationKind.REMINDER_DUE
ESCALATION_AANDACHTSFUNCTIONARIS = NotificationKind.ESCALATION_AANDACHTSFUNCTIONARIS
ESCALATION_LEIDINGGEVENDE = NotificationKind.ESCALATION_LEIDINGGEVENDE
RETURNED = NotificationKind.RETURNED
KINDS = tuple(NotificationKind)

PENDING, SENDING, SENT, FAILED, SKIPPED = tuple(NotificationStatus)
NOBODY = ""  # recipient of a row that records "due, but nobody in the team holds the role"


@dataclass(frozen=True)
class NewNotification:
    case_id: int
    task_id: int
    kind: str
    recipient: str
    role: str | None = None


@dataclass(frozen=True)
class NotificationView:
    """A notification as the inbox, the case file and the mailer show it (no form data)."""

    id: int
    kind: str
    recipient: str
    role: str | None
    case_id: int
    task_id: int
    client_ref: str
    task_name: str | None
    due_at: datetime | None
    task_state: str
    created_at: datetime
    status: str
    attempts: int
    sent_at: datetime | None
    read_at: datetime | None
    last_error: str | None
    text: str
    level: str  # info | warning (the inbox's levels)


# -- creating ----------------------------------------------------------------------------------

def create(session: Session, items: Iterable[NewNotification], now: datetime, *, mail: bool) -> list[int]:
    """Store notifications that do not exist yet (unique per task, kind and recipient); ids of the new rows.

    Safe when several workers create the same notification at once: the database's unique constraint decides,
    the losers insert nothing (INSERT ... ON CONFLICT DO NOTHING).
    """
    rows = []
    for item in sorted(set(items), key=lambda i: (i.task_id, KINDS.index(i.kind), i.recipient)):
        if item.kind not in KINDS:
            raise ValueError(f"unknown notification kind {item.kind!r}")
        if item.recipient == NOBODY:
            status, error = SKIPPED, "niemand in het team heeft deze rol"
        elif mail:
            status, error = PENDING, None
        else:
            status, error = SKIPPED, "e-mail is niet ingesteld; alleen in de inbox"
        rows.append({"case_id": item.case_id, "task_id": item.task_id, "kind": item.kind,
                     "recipient": item.recipient, "role": item.role, "created_at": now, "status": status,
                     "attempts": 0, "next_attempt_at": now if status == PENDING else None, "last_error": error})
    if not rows:
        return []
    insert = _dialect_insert(session)
    statement = (insert(Notification).values(rows)
                 .on_conflict_do_nothing(index_elements=["task_id", "kind", "recipient"])
                 .returning(Notification.id))
    return sorted(session.scalars(statement))


def existing_kinds(session: Session, task_ids: Iterable[int]) -> dict[int, set[str]]:
    """Per task, the kinds already notified (to anyone)."""
    task_ids = list(task_ids)
    found: dict[int, set[str]] = {}
    for start in range(0, len(task_ids), 500):
        chunk = task_ids[start:start + 500]
        for task_id, kind in session.execute(select(Notification.task_id, Notification.kind)
                                             .where(Notification.task_id.in_(chunk)).distinct()):
            found.setdefault(task_id, set()).add(kind)
    return found


def _dialect_insert(session: Session) -> Any:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects import postgresql
        return postgresql.insert
    if name == "sqlite":
        from sqlalchemy.dialects import sqlite
        return sqlite.insert
    raise RuntimeError(f"notifications need PostgreSQL or SQLite, not {name}")  # pragma: no cover


# -- reading -----------------------------------------------------------------------------------

def for_user(session: Session, username: str, *, unread_only: bool = False, limit: int = 50,
             tz: str = "Europe/Amsterdam") -> list[NotificationView]:
    """The user's notifications, newest first (for the inbox)."""
    query = _view_query().where(Notification.recipient == username)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    query = query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    return [_view(*row, tz=tz) for row in session.execute(query)]


def for_case(session: Session, case_id: int, *, tz: str = "Europe/Amsterdam") -> list[NotificationView]:
    """Every notification about a case's tasks, oldest first (for the case file)."""
    query = _view_query().where(Notification.case_id == case_id).order_by(Notification.created_at, Notification.id)
    return [_view(*row, tz=tz) for row in session.execute(query)]


def get(session: Session, notification_id: int, *, tz: str = "Europe/Amsterdam") -> NotificationView | None:
    row = session.execute(_view_query().where(Notification.id == notification_id)).first()
    return None if row is None else _view(*row, tz=tz)


def mark_read(session: Session, notification_id: int, username: str, now: datetime) -> bool:
    """Mark one of the user's own notifications read; False when it is not theirs (or already read)."""
    result = session.execute(update(Notification).where(Notification.id == notification_id,
                                                        Notification.recipient == username,
                                                        Notification.read_at.is_(None)).values(read_at=now))
    return _rowcount(result) == 1


def _rowcount(result: Any) -> int:
    """Rows an UPDATE changed (a CursorResult's rowcount; `Session.execute` is typed as the generic Result)."""
    return int(result.rowcount)


def inbox_provider(sessions: sessionmaker[Session], *, tz: str = "Europe/Amsterdam", limit: int = 20
                   ) -> Callable[[object], list[NotificationView]]:
    """`fn(user) -> unread notifications` for the inbox; `user` needs a `username` attribute."""

    def unread(user: object) -> list[NotificationView]:
        username = getattr(user, "username", None)
        if not username:
            return []
        with sessions() as session:
            return for_user(session, username, unread_only=True, limit=limit, tz=tz)

    return unread


def case_notifications(sessions: sessionmaker[Session], case_id: int, *, tz: str = "Europe/Amsterdam"
                       ) -> list[NotificationView]:
    """Every notification of a case, for the case file."""
    with sessions() as session:
        return for_case(session, case_id, tz=tz)


def _view_query() -> Select[Notification, str, str | None, datetime | None, str]:
    # The case's and task's columns, not their rows: a case row carries its workflow state and variables, a task
    # row its answers, and the inbox asks on every page.
    return (select(Notification, Case.client_ref, CaseTask.name, CaseTask.due_at, CaseTask.state)
            .join(Case, Case.id == Notification.case_id).join(CaseTask, CaseTask.id == Notification.task_id))


def _view(n: Notification, client_ref: str, task_name: str | None, due_at: datetime | None, task_state: str, *,
          tz: str) -> NotificationView:
    return NotificationView(
        id=n.id, kind=n.kind, recipient=n.recipient, role=n.role, case_id=n.case_id, task_id=n.task_id,
        client_ref=client_ref, task_name=task_name, due_at=due_at, task_state=task_state,
        created_at=n.created_at, status=n.status, attempts=n.attempts, sent_at=n.sent_at, read_at=n.read_at,
        last_error=n.last_error, text=describe(n.kind, client_ref, task_name, due_at, tz),
        level="info" if n.kind in (REMINDER_BEFORE, RETURNED) else "warning")


# -- wording -----------------------------------------------------------------------------------

_DAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
_MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
           "november", "december")

SUBJECTS = {
    REMINDER_BEFORE: "Herinnering: taak bijna verlopen",
    REMINDER_DUE: "Herinnering: termijn van taak verstreken",
    ESCALATION_AANDACHTSFUNCTIONARIS: "Escalatie: taak over de termijn",
    ESCALATION_LEIDINGGEVENDE: "Escalatie: taak ruim over de termijn",
    RETURNED: "Zaak terug bij u",
}
# What the inbox calls each kind (a short heading before the sentence).
TITLES = {
    REMINDER_BEFORE: "Termijn nadert",
    REMINDER_DUE: "Termijn verstreken",
    ESCALATION_AANDACHTSFUNCTIONARIS: "Escalatie",
    ESCALATION_LEIDINGGEVENDE: "Escalatie",
    RETURNED: "Terug bij u",
}


def format_moment(moment: datetime | None, tz: str = "Europe/Amsterdam") -> str:
    """'woensdag 8 april 2026 09:00' in the organisation's time zone (no locale needed)."""
    if moment is None:
        return "geen termijn"
    local = moment.astimezone(ZoneInfo(tz))
    return f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} {local.year} {local:%H:%M}"


def describe(kind: str, client_ref: str, task_name: str | None, due_at: datetime | None,
             tz: str = "Europe/Amsterdam") -> str:
    """One sentence about a notification: only the pseudonymous reference, the task name and the due date."""
    task = f"'{task_name or 'taak'}' voor {client_ref}"
    due = format_moment(due_at, tz)
    if kind == REMINDER_BEFORE:
        return f"De taak {task} moet uiterlijk {due} zijn afgerond."
    if kind == REMINDER_DUE:
        return f"De termijn van de taak {task} is verstreken ({due})."
    if kind == ESCALATION_AANDACHTSFUNCTIONARIS:
        return f"Escalatie aan de aandachtsfunctionaris: de taak {task} is over de termijn ({due})."
    if kind == ESCALATION_LEIDINGGEVENDE:
        return f"Escalatie aan de leidinggevende: de taak {task} is ruim over de termijn ({due})."
    if kind == RETURNED:
        deadline = f", uiterlijk {due}" if due_at is not None else ""
        return f"De zaak {client_ref} is terug bij u: de taak '{task_name or 'taak'}' staat voor u klaar{deadline}."
    raise ValueError(f"unknown notification kind {kind!r}")


# -- e-mail delivery bookkeeping ---------------------------------------------------------------

def claim_for_mail(session: Session, now: datetime, lease: timedelta) -> Notification | None:
    """Claim the next notification whose e-mail is due (or whose previous claim expired), for `lease`.

    The claim is a conditional UPDATE, so of two workers (or processes on SQLite) only one wins a row; on
    PostgreSQL the candidate is also picked with SKIP LOCKED so workers do not queue behind each other.
    Commit right after, send outside the transaction, then record the outcome with `mark_sent`/`mark_failed`.
    """
    due = or_((Notification.status == PENDING) & (Notification.next_attempt_at <= now),
              (Notification.status == SENDING) & (Notification.lease_until < now))
    query = select(Notification.id).where(due).order_by(Notification.next_attempt_at, Notification.id).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    for _ in range(20):  # a lost race moves on to the next candidate
        candidate = session.scalars(query).first()
        if candidate is None:
            return None
        won = _rowcount(session.execute(update(Notification).where(Notification.id == candidate, due)
                                        .values(status=SENDING, lease_until=now + lease,
                                                attempts=Notification.attempts + 1)))
        if won == 1:
            session.expire_all()
            return session.get(Notification, candidate)
    return None


def mark_sent(session: Session, notification_id: int, now: datetime) -> None:
    session.execute(update(Notification).where(Notification.id == notification_id)
                    .values(status=SENT, sent_at=now, lease_until=None, next_attempt_at=None, last_error=None))


def mark_failed(session: Session, notification_id: int, error: str, retry_at: datetime | None) -> None:
    """Record a failed attempt: try again at `retry_at`, or give up (status failed) when None."""
    session.execute(update(Notification).where(Notification.id == notification_id)
                    .values(status=PENDING if retry_at else FAILED, next_attempt_at=retry_at, lease_until=None,
                            last_error=error[:500]))


def mark_skipped(session: Session, notification_id: int, reason: str) -> None:
    session.execute(update(Notification).where(Notification.id == notification_id)
                    .values(status=SKIPPED, lease_until=None, next_attempt_at=None, last_error=reason[:500]))


# -- "terug bij u": a case comes back to its responsible professional ------------------------------------------
#
# A case "comes back" to its responsible professional when it has an open task in a lane of theirs, not claimed
# by someone else, and the step completed just before that task was created was completed by someone else (the
# aandachtsfunctionaris after a consultation, Veilig Thuis after an advice, a colleague).
#
# Found by a query over the task rows rather than written by the completion itself, for three reasons: the
# completion (engine/completing.py via engine/cases.py) is not ours to change and stays one use case with one
# job; the facts are all in the rows the completion already writes (who completed what, when, in which lane), so
# nothing new has to be kept in step; and the same query serves both places that need it:
# - the reminder sweep (`engine.reminders.due_reminders`, every few seconds in the workers) stores one
#   notification per task for the responsible professional, through the same path as the reminders, so it is
#   mailed when e-mail is configured and can be marked read;
# - the inbox asks it at read time for the user who is looking, so the notification is there at once, before
#   the sweep has run (or when no sweep runs, as in tests); a row the sweep stored takes its place.
# Both are bounded: the sweep looks at tasks created in the last `RETURN_WINDOW`, the inbox at the cases of
# which the user is responsible (`cases.responsible` is indexed).

RETURN_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class ReturnedTask:
    """An open task with which a case came back to its responsible professional."""

    case_id: int
    task_id: int
    client_ref: str
    team: str | None
    lane: str | None
    responsible: str
    task_name: str | None
    due_at: datetime | None
    created_at: datetime
    completed_before_by: str  # who completed the step before


def returned_tasks(session: Session, *, responsible: str | None = None, lanes: Iterable[str] | None = None,
                   since: datetime | None = None, actor: Actor | None = None, now: datetime | None = None,
                   limit: int = 500) -> list[ReturnedTask]:
    """Open tasks with which a case came back to its responsible professional and that were not notified yet.

    `responsible` limits to one user's cases; `lanes` are that user's lanes (without them: lanes in which the
    responsible professional completed a step of the case); `actor` + `now` add the access policy's task filter
    (the inbox); `since`: only tasks created from then on (the sweep).
    """
    params: dict[str, Any] = {"responsible": responsible, "lanes": sorted(set(lanes)) if lanes is not None else None,
                              "since": since, "limit": limit}
    lane_filter = access.task_lane_filter(session, actor, now or clock.now()) if actor is not None else None
    key = (responsible is not None, lanes is not None, since is not None)
    query = access.shaped_statement(_returned_queries, key, lane_filter, lambda f: _returned_query(*key, f), params)
    return [ReturnedTask(case_id=task.case_id, task_id=task.id, client_ref=client_ref, team=team, lane=task.lane,
                         responsible=owner, task_name=task.name, due_at=task.due_at, created_at=task.created_at,
                         completed_before_by=by)
            for task, client_ref, team, owner, by in session.execute(query, params)]


# Built once per shape (which filters, and the shape of the actor's access filter), as engine/reading.py's open
# tasks: building this statement cost more CPU than running it, on every inbox page.
_returned_queries: dict[tuple[Any, ...], Any] = {}


def _returned_query(by_responsible: bool, by_lanes: bool, by_since: bool,
                    lane_filter: access.LaneFilter | None) -> Any:
    before = aliased(CaseTask)
    completed_before_by = (select(before.completed_by)
                           .where(before.case_id == CaseTask.case_id, before.state == CaseTaskState.COMPLETED,
                                  before.ended_at <= CaseTask.created_at)
                           .order_by(before.ended_at.desc(), before.id.desc()).limit(1)
                           .correlate(CaseTask).scalar_subquery())
    query = (select(CaseTask, Case.client_ref, Case.team, Case.responsible, completed_before_by.label("by"))
             .join(Case, Case.id == CaseTask.case_id)
             .where(CaseTask.state == CaseTaskState.READY, Case.status == CaseStatus.RUNNING,
                    Case.responsible.is_not(None), completed_before_by != Case.responsible,
                    or_(CaseTask.claimed_by.is_(None), CaseTask.claimed_by == Case.responsible),
                    ~exists().where(Notification.task_id == CaseTask.id, Notification.kind == RETURNED,
                                    Notification.recipient == Case.responsible))
             .order_by(CaseTask.created_at, CaseTask.id).limit(bindparam("limit")))
    if by_responsible:
        query = query.where(Case.responsible == bindparam("responsible"))
    if by_lanes:
        query = query.where(CaseTask.lane.in_(bindparam("lanes", expanding=True)))
    else:
        own = aliased(CaseTask)
        query = query.where(exists().where(own.case_id == CaseTask.case_id, own.state == CaseTaskState.COMPLETED,
                                           own.completed_by == Case.responsible, own.lane == CaseTask.lane))
    if by_since:
        query = query.where(CaseTask.created_at >= bindparam("since"))
    if lane_filter is not None:
        query = query.where(lane_filter.condition(CaseTask.lane))
    return query


def returned_for_user(sessions: sessionmaker[Session], actor: Actor, now: datetime, *,
                      tz: str = "Europe/Amsterdam") -> list[NotificationView]:
    """The "terug bij u" notifications of `actor` that the sweep has not stored yet, derived now (id 0: not
    stored, so not to be marked read; the stored row replaces it within one sweep)."""
    lanes = [role for role in actor.roles if actor.may_work_in(role)]
    if not lanes:
        return []
    with sessions() as session:
        found = returned_tasks(session, responsible=actor.username, lanes=lanes, actor=actor, now=now)
    return [NotificationView(
        id=0, kind=RETURNED, recipient=actor.username, role=None, case_id=r.case_id, task_id=r.task_id,
        client_ref=r.client_ref, task_name=r.task_name, due_at=r.due_at, task_state=CaseTaskState.READY,
        created_at=r.created_at, status="derived", attempts=0, sent_at=None, read_at=None, last_error=None,
        text=describe(RETURNED, r.client_ref, r.task_name, r.due_at, tz), level="info") for r in found]
