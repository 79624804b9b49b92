"""Which reminders and escalations are due for which open tasks.

An open task with a due date gets, in working days of the organisation's calendar (Algemene termijnenwet):

| kind                                | when                                    | to                                        |
|-------------------------------------|-----------------------------------------|-------------------------------------------|
| `reminder_before`                   | `before` working days before the due time | the assignee, else the task's lane in the team |
| `reminder_due`                      | at the due time                         | the same                                  |
| `escalation_aandachtsfunctionaris`  | `escalate` working days after the due time | the team's aandachtsfunctionaris          |
| `escalation_leidinggevende`         | 2 x `escalate` working days after       | the team's leidinggevende                 |
| `returned` ("terug bij u")          | when a colleague's step brings the case back | the case's responsible professional (as the task's assignee) |

Pure domain logic: no Celery, no Flask, no user accounts. Who exactly receives a notification is decided by
the caller (the workers' directory); this module says what is due and stores nothing.
"""
from __future__ import annotations

import operator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import clock
from .models import Case, CaseTask, Notification
from .notifications import (
    ESCALATION_AANDACHTSFUNCTIONARIS,
    ESCALATION_LEIDINGGEVENDE,
    KINDS,
    REMINDER_BEFORE,
    REMINDER_DUE,
    RETURN_WINDOW,
    RETURNED,
    existing_kinds,
    returned_tasks,
)
from .states import CaseStatus, CaseTaskState
from .workdays import MAX_WORKDAYS, WorkdayCalendar

AANDACHTSFUNCTIONARIS = "aandachtsfunctionaris"
LEIDINGGEVENDE = "leidinggevende"
# A task created this close to the start of its advance window gets no advance reminder.
ADVANCE_SLACK = timedelta(minutes=1)
ESCALATION_ROLES: dict[str, str] = {ESCALATION_AANDACHTSFUNCTIONARIS: AANDACHTSFUNCTIONARIS,
                    ESCALATION_LEIDINGGEVENDE: LEIDINGGEVENDE}


@dataclass(frozen=True)
class ReminderPolicy:
    """How many working days before the due time to remind (0: not), and after how many working days overdue
    to escalate to the aandachtsfunctionaris (the leidinggevende follows after twice as many; 0: never)."""

    before_workdays: int = 1
    escalation_workdays: int = 1

    def __post_init__(self) -> None:
        for name in ("before_workdays", "escalation_workdays"):
            value = operator.index(getattr(self, name))
            if not 0 <= 2 * value <= MAX_WORKDAYS:
                raise ValueError(f"{name} must be between 0 and {MAX_WORKDAYS // 2}, got {value}")

    @property
    def kinds(self) -> tuple[str, ...]:
        kinds = [REMINDER_DUE]
        if self.before_workdays:
            kinds.insert(0, REMINDER_BEFORE)
        if self.escalation_workdays:
            kinds += [ESCALATION_AANDACHTSFUNCTIONARIS, ESCALATION_LEIDINGGEVENDE]
        return tuple(kinds)


@dataclass(frozen=True)
class Moment:
    kind: str
    at: datetime


@dataclass(frozen=True)
class DueReminder:
    """A notification that is due for an open task; `role` None means: the assignee, else the task's lane."""

    kind: str
    at: datetime
    task_id: int
    case_id: int
    client_ref: str
    team: str | None
    lane: str | None
    claimed_by: str | None
    task_name: str | None
    due_at: datetime | None  # None only for `returned` (a task without a deadline can come back too)

    @property
    def role(self) -> str | None:
        return ESCALATION_ROLES.get(self.kind)


def workdays_before(calendar: WorkdayCalendar, moment: datetime, n: int) -> datetime:
    """The same local clock time `n` working days before `moment` (the mirror of `add_workdays`)."""
    n = operator.index(n)
    if not 0 <= n <= MAX_WORKDAYS:
        raise ValueError(f"n must be between 0 and {MAX_WORKDAYS}, got {n}")
    local = moment.astimezone(calendar.tz)
    day, remaining = local.date(), n
    while remaining:
        day -= timedelta(days=1)
        if calendar.is_workday(day):
            remaining -= 1
    result = datetime.combine(day, local.timetz())
    return result.astimezone(calendar.tz)


def schedule(due_at: datetime, policy: ReminderPolicy, calendar: WorkdayCalendar) -> list[Moment]:
    """When each kind of notification falls due for a task due at `due_at`, in order."""
    moments = []
    if policy.before_workdays:
        moments.append(Moment(REMINDER_BEFORE, workdays_before(calendar, due_at, policy.before_workdays)))
    moments.append(Moment(REMINDER_DUE, due_at))
    if policy.escalation_workdays:
        n = policy.escalation_workdays
        moments.append(Moment(ESCALATION_AANDACHTSFUNCTIONARIS, calendar.add_workdays(due_at, n)))
        moments.append(Moment(ESCALATION_LEIDINGGEVENDE, calendar.add_workdays(due_at, 2 * n)))
    return moments


def due_for_task(created_at: datetime, due_at: datetime, now: datetime, policy: ReminderPolicy,
                 calendar: WorkdayCalendar, done: AbstractSet[str] = frozenset()) -> list[Moment]:
    """The moments of one task that have passed at `now` and were not notified yet.

    An advance reminder is left out when the task was created inside its window, or within a minute of its
    start (it would arrive together with the task), or when the due time itself has passed (after downtime:
    the due reminder says it all).
    """
    result = []
    for moment in schedule(due_at, policy, calendar):
        if moment.kind in done or moment.at > now:
            continue
        if moment.kind == REMINDER_BEFORE and (moment.at <= created_at + ADVANCE_SLACK or due_at <= now):
            continue
        result.append(moment)
    return result


def due_reminders(session: Session, policy: ReminderPolicy, calendar: WorkdayCalendar,
                  now: datetime | None = None) -> list[DueReminder]:
    """Every reminder and escalation due at `now` (default: the engine clock) for open tasks of running cases,
    leaving out the kinds already notified for a task."""
    now = now or clock.now()
    # No task can need anything before its advance moment; look that far ahead (plus a day for the edges).
    horizon = calendar.add_workdays(now, policy.before_workdays) + timedelta(days=1)
    query = (select(CaseTask, Case.client_ref, Case.team).join(Case, Case.id == CaseTask.case_id)
             .where(CaseTask.state == CaseTaskState.READY, Case.status == CaseStatus.RUNNING, CaseTask.due_at.is_not(None),
                    CaseTask.due_at <= horizon,
                    # Tasks whose last notification exists are finished with (keeps the sweep cheap).
                    ~select(Notification.id).where(Notification.task_id == CaseTask.id,
                                                   Notification.kind == policy.kinds[-1]).exists())
             .order_by(CaseTask.due_at, CaseTask.id))
    rows = session.execute(query).all()
    done = existing_kinds(session, [task.id for task, _, _ in rows])
    due = []
    for task, client_ref, team in rows:
        assert task.due_at is not None  # the query asks for tasks with a due date
        for moment in due_for_task(task.created_at, task.due_at, now, policy, calendar, done.get(task.id, set())):
            due.append(DueReminder(kind=moment.kind, at=moment.at, task_id=task.id, case_id=task.case_id,
                                   client_ref=client_ref, team=team, lane=task.lane, claimed_by=task.claimed_by,
                                   task_name=task.name, due_at=task.due_at))
    due.extend(returned_reminders(session, now))
    due.sort(key=lambda d: (d.task_id, KINDS.index(d.kind)))
    return due


def returned_reminders(session: Session, now: datetime) -> list[DueReminder]:
    """"Terug bij u" for tasks created in the last `RETURN_WINDOW` (engine/notifications.py explains when a case
    comes back). The responsible professional is put as the assignee (`claimed_by`), so the workers' directory
    sends it to them (and, when they are no longer active, to the task's lane in the team)."""
    return [DueReminder(kind=RETURNED, at=r.created_at, task_id=r.task_id, case_id=r.case_id,
                        client_ref=r.client_ref, team=r.team, lane=r.lane, claimed_by=r.responsible,
                        task_name=r.task_name, due_at=r.due_at)
            for r in returned_tasks(session, since=now - RETURN_WINDOW, now=now)]
