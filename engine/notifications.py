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
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from .models import Case, CaseTask, Notification
from .states import NotificationKind, NotificationStatus

# Kinds, in the order they fall due for one task (names kept here for callers; defined in states.py).
REMINDER_BEFORE = NotificationKind.REMINDER_BEFORE
REMINDER_DUE = NotificationKind.REMINDER_DUE
ESCALATION_AANDACHTSFUNCTIONARIS = NotificationKind.ESCALATION_AANDACHTSFUNCTIONARIS
ESCALATION_LEIDINGGEVENDE = NotificationKind.ESCALATION_LEIDINGGEVENDE
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


def _dialect_insert(session: Session):
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only the two supported databases
        raise RuntimeError(f"notifications need PostgreSQL or SQLite, not {name}")
    return insert


# -- reading -----------------------------------------------------------------------------------

def for_user(session: Session, username: str, *, unread_only: bool = False, limit: int = 50,
             tz: str = "Europe/Amsterdam") -> list[NotificationView]:
    """The user's notifications, newest first (for the inbox)."""
    query = _view_query().where(Notification.recipient == username)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    query = query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    return [_view(n, c, t, tz) for n, c, t in session.execute(query)]


def for_case(session: Session, case_id: int, *, tz: str = "Europe/Amsterdam") -> list[NotificationView]:
    """Every notification about a case's tasks, oldest first (for the case file)."""
    query = _view_query().where(Notification.case_id == case_id).order_by(Notification.created_at, Notification.id)
    return [_view(n, c, t, tz) for n, c, t in session.execute(query)]


def get(session: Session, notification_id: int, *, tz: str = "Europe/Amsterdam") -> NotificationView | None:
    row = session.execute(_view_query().where(Notification.id == notification_id)).first()
    return None if row is None else _view(*row, tz)


def mark_read(session: Session, notification_id: int, username: str, now: datetime) -> bool:
    """Mark one of the user's own notifications read; False when it is not theirs (or already read)."""
    result = session.execute(update(Notification).where(Notification.id == notification_id,
                                                        Notification.recipient == username,
                                                        Notification.read_at.is_(None)).values(read_at=now))
    return result.rowcount == 1


def inbox_provider(sessions: sessionmaker, *, tz: str = "Europe/Amsterdam", limit: int = 20
                   ) -> Callable[[object], list[NotificationView]]:
    """`fn(user) -> unread notifications` for the inbox; `user` needs a `username` attribute."""

    def unread(user) -> list[NotificationView]:
        username = getattr(user, "username", None)
        if not username:
            return []
        with sessions() as session:
            return for_user(session, username, unread_only=True, limit=limit, tz=tz)

    return unread


def case_notifications(sessions: sessionmaker, case_id: int, *, tz: str = "Europe/Amsterdam"
                       ) -> list[NotificationView]:
    """Every notification of a case, for the case file."""
    with sessions() as session:
        return for_case(session, case_id, tz=tz)


def _view_query():
    return (select(Notification, Case, CaseTask).join(Case, Case.id == Notification.case_id)
            .join(CaseTask, CaseTask.id == Notification.task_id))


def _view(n: Notification, case: Case, task: CaseTask, tz: str) -> NotificationView:
    return NotificationView(
        id=n.id, kind=n.kind, recipient=n.recipient, role=n.role, case_id=n.case_id, task_id=n.task_id,
        client_ref=case.client_ref, task_name=task.name, due_at=task.due_at, task_state=task.state,
        created_at=n.created_at, status=n.status, attempts=n.attempts, sent_at=n.sent_at, read_at=n.read_at,
        last_error=n.last_error, text=describe(n.kind, case.client_ref, task.name, task.due_at, tz),
        level="info" if n.kind == REMINDER_BEFORE else "warning")


# -- wording -----------------------------------------------------------------------------------

_DAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
_MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
           "november", "december")

SUBJECTS = {
    REMINDER_BEFORE: "Herinnering: taak bijna verlopen",
    REMINDER_DUE: "Herinnering: termijn van taak verstreken",
    ESCALATION_AANDACHTSFUNCTIONARIS: "Escalatie: taak over de termijn",
    ESCALATION_LEIDINGGEVENDE: "Escalatie: taak ruim over de termijn",
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
        won = session.execute(update(Notification).where(Notification.id == candidate, due)
                              .values(status=SENDING, lease_until=now + lease,
                                      attempts=Notification.attempts + 1)).rowcount
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
