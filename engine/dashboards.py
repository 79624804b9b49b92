"""Dashboards for the aandachtsfunctionaris and the leidinggevende: counts over their own team's cases.

What a dashboard shows, for one team and a period of whole calendar months (in the organisation's time zone):

- open cases per step of the meldcode (Stap 0–6 as engine/progress.py assigns a task to a step; a task outside
  the steps by its name), with the overdue tasks;
  running cases without an open task (waiting for a term) have a row of their own;
- meldingen at Veilig Thuis (each `melding_veilig_thuis` milestone, contract.md) and adviezen asked of Veilig
  Thuis (its involvement for `advies`) per month;
- the time a step took (created → completed, of the tasks completed in the period): median and mean per step.

No client data leaves this module: only step names, months and numbers. Reading it is still an oversight read
of the team's cases and is audited (NEN 7513: who, when, which team and period; no client, as no client is
shown). Need-to-know: the team lanes that read every case of their team, the internal route included
(engine/access.py RESTRICTED_READERS), see their own team's figures; another team's cases are never counted,
not even those the actor opened by breaking the glass.

Every figure is one aggregate query grouped in SQL (fast at a million cases: filtered on indexed columns —
`cases.team`, the task's state and period — and grouped there). Tasks are grouped by their element; Python
maps each element to its step (engine/progress.py, in Python only) and folds the handful of groups per step.
Where a step's figure cannot be summed from its elements' (the cases open in a step, counted once; the median
duration), a group brings its values as one JSON array.
Months are grouped by a CASE over the month boundaries, computed here in the right time zone, so SQLite and
PostgreSQL group alike.
"""
from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, ColumnElement, and_, case, exists, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from . import audit, clock
from .access import RESTRICTED_READERS, AccessDenied
from .involvement import VEILIG_THUIS
from .models import Case, CaseInvolvement, CaseMilestone, CaseTask
from .progress import STEP_NAMES, step_of
from .states import CaseStatus, CaseTaskState
from .views import Actor

DASHBOARD_ROLES = RESTRICTED_READERS  # aandachtsfunctionaris, leidinggevende
MELDING = "melding_veilig_thuis"  # contract.md: reached each time the professional makes a melding
ADVIES = "advies"  # engine/involvement.py: Veilig Thuis was asked for advice
MAX_MONTHS = 36
DEFAULT_MONTHS = 12
WAITING = "Geen open taak (wacht op een termijn)"
DATASETS = ("stappen", "maanden", "doorlooptijd")
OPEN = (CaseStatus.RUNNING, CaseStatus.SUSPENDED)  # a case with open tasks (ix_cases_team_status_id)
_STEP = re.compile(r"^\s*Stap\s+([0-6])\b")


@dataclass(frozen=True)
class Period:
    """Whole calendar months: from the first day of `first` to the end of `last` (local time)."""

    first: date  # first day of the first month
    months: int
    tz: str

    @property
    def month_starts(self) -> list[date]:
        """The first day of every month of the period, and of the month after it."""
        out = []
        year, month = self.first.year, self.first.month
        for _ in range(self.months + 1):
            out.append(date(year, month, 1))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out

    @property
    def last(self) -> date:
        return self.month_starts[-2]

    def boundaries(self) -> list[datetime]:
        """The month starts as UTC instants."""
        zone = ZoneInfo(self.tz)
        return [datetime(d.year, d.month, 1, tzinfo=zone).astimezone(UTC) for d in self.month_starts]


def last_months(months: int = DEFAULT_MONTHS, *, tz: str, now: datetime | None = None) -> Period:
    """The current month and the `months - 1` before it (1 to MAX_MONTHS)."""
    months = max(1, min(MAX_MONTHS, months))
    today = (now or clock.now()).astimezone(ZoneInfo(tz)).date()
    index = today.year * 12 + today.month - 1 - (months - 1)
    return Period(date(index // 12, index % 12 + 1, 1), months, tz)


@dataclass(frozen=True)
class StepRow:
    step: str
    open_cases: int
    overdue_tasks: int = 0  # a step that waits (a timer, Veilig Thuis) has no task to be late with


@dataclass(frozen=True)
class MonthRow:
    month: date  # first day of the month
    meldingen: int
    adviezen: int


@dataclass(frozen=True)
class DurationRow:
    step: str
    tasks: int
    median_seconds: float
    mean_seconds: float


@dataclass(frozen=True)
class Dashboard:
    team: str
    period: Period
    generated_at: datetime
    steps: list[StepRow]
    months: list[MonthRow]
    durations: list[DurationRow]

    @property
    def open_cases(self) -> int:
        return sum(r.open_cases for r in self.steps)

    @property
    def overdue_tasks(self) -> int:
        return sum(r.overdue_tasks for r in self.steps)


def step_label(element_id: str, name: str | None) -> str:
    """The meldcode step a task belongs to ("Stap 2 · Collegiale consultatie en advies", engine/progress.py), or,
    for a task whose id names no step, the step its name starts with, else the task's own name."""
    step = step_of([element_id], []).step
    if step is None:
        match = _STEP.match(name or "")
        step = int(match.group(1)) if match else None
    if step is not None:
        return f"Stap {step} · {STEP_NAMES[step]}"
    return (name or element_id).strip() or element_id


def _step_order(label: str) -> tuple[int, str]:
    match = _STEP.match(label)
    if match:
        return int(match.group(1)), ""
    return (99 if label == WAITING else 10), label


def _check(actor: Actor) -> str:
    if not actor.roles & DASHBOARD_ROLES or actor.team is None:
        raise AccessDenied(f"{actor.username} may not see a team dashboard: needs one of the roles "
                           f"{sorted(DASHBOARD_ROLES)} in a team")
    return actor.team


def _values(session: Session, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """All values of a group as one JSON array, for Python to fold the groups of a step together."""
    aggregate = func.json_agg if session.get_bind().dialect.name == "postgresql" else func.json_group_array
    return aggregate(column, type_=JSON)


def _per_step(found: Sequence[Any]) -> dict[str, list[Any]]:
    """Rows (element id, its task name, a JSON array, ...) merged per step label: the arrays joined, the rest
    summed."""
    steps: dict[str, list[Any]] = {}
    for element_id, name, values, *counts in found:
        merged = steps.setdefault(step_label(element_id, name), [[], *[0] * len(counts)])
        merged[0].extend(values)
        for i, count in enumerate(counts, 1):
            merged[i] += int(count or 0)
    return steps


def open_steps(session: Session, team: str, now: datetime) -> list[StepRow]:
    """Open cases per step (a case counts once per step in which it has an open task) and overdue tasks."""
    in_team = and_(CaseTask.state == CaseTaskState.READY, Case.team == team, Case.status.in_(OPEN))
    overdue = func.sum(case((CaseTask.due_at < now, 1), else_=0))
    found = session.execute(
        select(CaseTask.element_id, func.max(CaseTask.name), _values(session, CaseTask.case_id.distinct()), overdue)
        .join(Case, Case.id == CaseTask.case_id).where(in_team).group_by(CaseTask.element_id)).all()
    rows = [StepRow(step, len(set(case_ids)), late) for step, (case_ids, late) in _per_step(found).items()]
    waiting = session.scalar(select(func.count()).select_from(Case).where(
        Case.team == team, Case.status.in_(OPEN),
        ~exists().where(CaseTask.case_id == Case.id, CaseTask.state == CaseTaskState.READY))) or 0
    if waiting:
        rows.append(StepRow(WAITING, int(waiting)))
    return sorted(rows, key=lambda r: _step_order(r.step))


def _active_since(start: datetime) -> ColumnElement[bool]:
    """A case that can have had a step or milestone since `start`: still open, or ended since. Narrows the team's
    cases of twenty years to those of the period before their tasks and milestones are looked up."""
    return or_(Case.status.in_(OPEN), Case.ended_at >= start)


def _month_bucket(column: InstrumentedAttribute[datetime], bounds: list[datetime]) -> ColumnElement[int]:
    return case(*[(column < bounds[i + 1], i) for i in range(len(bounds) - 1)], else_=-1)


def per_month(session: Session, team: str, period: Period) -> list[MonthRow]:
    """Meldingen (each melding milestone) and adviezen (Veilig Thuis asked for advice) per month."""
    bounds = period.boundaries()
    start, end = bounds[0], bounds[-1]
    bucket = _month_bucket(CaseMilestone.reached_at, bounds).label("month")
    meldingen = dict(session.execute(
        select(bucket, func.count()).select_from(CaseMilestone).join(Case, Case.id == CaseMilestone.case_id)
        .where(Case.team == team, _active_since(start), CaseMilestone.name == MELDING, CaseMilestone.reached_at >= start,
               CaseMilestone.reached_at < end).group_by(bucket)).all())
    # An involvement carries its case's team (revision 0014): the team's range of ix_case_involvement_party_team,
    # without the cases. Joined to them, a generic plan (a statement prepared after five runs) took 9-15 ms.
    bucket = _month_bucket(CaseInvolvement.since, bounds).label("month")
    adviezen = dict(session.execute(
        select(bucket, func.count()).select_from(CaseInvolvement)
        .where(CaseInvolvement.party == VEILIG_THUIS, CaseInvolvement.team == team, CaseInvolvement.reason == ADVIES,
               CaseInvolvement.since >= start, CaseInvolvement.since < end).group_by(bucket)).all())
    return [MonthRow(month, int(meldingen.get(i, 0)), int(adviezen.get(i, 0)))
            for i, month in enumerate(period.month_starts[:-1])]


def _seconds(session: Session) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", CaseTask.ended_at - CaseTask.created_at)
    return (func.julianday(CaseTask.ended_at) - func.julianday(CaseTask.created_at)) * 86400.0


def durations(session: Session, team: str, period: Period) -> list[DurationRow]:
    """Per step, of the tasks completed in the period: how many, and the median and mean time from created to
    completed. A step's median is of the durations of all its elements together, so each element's come back."""
    bounds = period.boundaries()
    done = and_(CaseTask.state == CaseTaskState.COMPLETED, Case.team == team, _active_since(bounds[0]),
                CaseTask.ended_at >= bounds[0], CaseTask.ended_at < bounds[-1])
    found = session.execute(
        select(CaseTask.element_id, func.max(CaseTask.name), _values(session, _seconds(session)))
        .join(Case, Case.id == CaseTask.case_id).where(done).group_by(CaseTask.element_id)).all()
    rows = [DurationRow(step, len(seconds), statistics.median(map(float, seconds)),
                        statistics.fmean(map(float, seconds))) for step, (seconds,) in _per_step(found).items()]
    return sorted(rows, key=lambda r: _step_order(r.step))


def team_dashboard(sessions: sessionmaker[Session], actor: Actor, period: Period, *, dataset: str | None = None,
                   now: datetime | None = None) -> Dashboard:
    """The dashboard of the actor's team, audited as a read (`dashboard.view`, or `dashboard.export` of one
    dataset); refused (AccessDenied, audited as denied) for anyone but the aandachtsfunctionaris and the
    leidinggevende of a team."""
    now = now or clock.now()
    action = "dashboard.export" if dataset else "dashboard.view"
    details: dict[str, Any] = {"period_from": period.first.isoformat(), "months": period.months, "dataset": dataset}
    try:
        team = _check(actor)
    except AccessDenied as exc:
        with sessions.begin() as session:
            audit.record(session, actor.username, action, outcome="denied", reason=str(exc), **details)
        raise
    with sessions.begin() as session:
        board = Dashboard(team=team, period=period, generated_at=now, steps=open_steps(session, team, now),
                          months=per_month(session, team, period), durations=durations(session, team, period))
        audit.record(session, actor.username, action, team=team, **details)
    return board
