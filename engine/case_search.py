"""Find cases: search by client reference, filter, sort and page through the cases an actor may read.

Built to stay fast at a million cases: it reads only summary columns of `cases` (never the workflow state, never
a process version's forms), filters with the indexed columns (`client_ref`, `status`, `started_at`,
`responsible`, `team`; open tasks by `case_task (state, element_id, case_id)` and `(case_id, state)`), and
decorates only the rows of one page (next deadline, progress). Which cases an actor may list is the access
policy's SQL condition (`engine.access.case_filter`), the same one `CaseEngine.list_cases` uses. The caller audits
the list (the web's `audit_list`): a list of clients is a read too.
"""
from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, not_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from . import access, clock
from .models import Case, CaseMilestone, CaseTask, CaseTimer
from .paging import capped_count, page_total
from .progress import ELEMENT_STEPS, LAST_STEP, SUFFIX_STEPS, Progress, step_of
from .states import ENDED_CASE_STATUSES, CaseTaskState, TimerState
from .views import Actor, CaseColumns

MAX_QUERY_LENGTH = 100  # as long as a client reference can be
MAX_PER_PAGE = 100
COUNT_CAP = 1000  # counting stops here ("meer dan 1000"): a count over a million rows is not worth its cost


class CaseSort(StrEnum):
    """How the list is ordered."""

    STARTED_DESC = "gestart_nieuw"  # newest first (default)
    STARTED_ASC = "gestart_oud"
    CLIENT_REF = "client"
    DEADLINE = "termijn"  # soonest next deadline first, cases without one last


@dataclass(frozen=True)
class CaseQuery:
    """What to find. Every field is optional; `q` matches part of the client reference, ignoring case."""

    q: str = ""
    status: str | None = None  # a CaseStatus; None: every status
    step: int | None = None  # the meldcode step 0–6 the case is in (engine/progress.py)
    overdue: bool = False  # an open task is past its deadline
    responsible: str | None = None  # username of the responsible professional
    started_from: datetime | None = None  # inclusive
    started_before: datetime | None = None  # exclusive
    sort: CaseSort = CaseSort.STARTED_DESC
    page: int = 1
    per_page: int = 25

    def __post_init__(self) -> None:
        if len(self.q) > MAX_QUERY_LENGTH:
            raise ValueError(f"q is longer than {MAX_QUERY_LENGTH} characters")
        if self.step is not None and not 0 <= self.step <= LAST_STEP:
            raise ValueError(f"step must be between 0 and {LAST_STEP}")
        if self.page < 1 or not 1 <= self.per_page <= MAX_PER_PAGE:
            raise ValueError(f"page must be 1 or more and per_page between 1 and {MAX_PER_PAGE}")
        for moment in (self.started_from, self.started_before):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("started_from and started_before must be timezone-aware")


@dataclass(frozen=True)
class CaseRow(CaseColumns):
    """One case in a list: summary columns, its next deadline and where it stands."""

    responsible: str | None
    next_due: datetime | None
    overdue: bool
    progress: Progress


@dataclass(frozen=True)
class CasePage:
    """One page of a search: its rows, and how many cases match (counted up to `COUNT_CAP`)."""

    rows: list[CaseRow]
    page: int
    per_page: int
    total: int
    total_capped: bool  # True: at least `total` match, counting stopped there

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class CaseOverview:
    """What a list of tasks shows of their cases (the inbox): who is responsible and where the case stands."""

    case_id: int
    responsible: str | None
    progress: Progress


def search_cases(sessions: sessionmaker[Session], actor: Actor, query: CaseQuery,
                 now: datetime | None = None) -> CasePage:
    """The page of cases matching `query` that `actor` may read (engine/access.py). Not audited here: the
    caller audits the list it shows."""
    now = now or clock.now()
    with sessions() as session:
        condition = and_(access.case_filter(session, actor, now), *_conditions(session, query, now))
        next_due = _next_due_column()
        columns = select(Case.id, Case.client_ref, Case.team, Case.status, Case.started_by, Case.started_at,
                         Case.updated_at, Case.responsible, next_due.label("next_due"))
        offset = (query.page - 1) * query.per_page
        if query.sort == CaseSort.DEADLINE:
            found = _by_deadline(session, columns, condition, next_due, offset, query.per_page)
        else:
            found = list(session.execute(columns.where(condition).order_by(*_order(query.sort))
                                         .limit(query.per_page).offset(offset)))
        total = page_total(len(found), query.page, query.per_page,
                           lambda: capped_count(session, select(Case.id).where(condition), COUNT_CAP))
        progress = _progress(session, [(row.id, row.status) for row in found])
        rows = [CaseRow(id=row.id, client_ref=row.client_ref, team=row.team, status=row.status,
                        started_by=row.started_by, started_at=row.started_at, updated_at=row.updated_at,
                        responsible=row.responsible, next_due=row.next_due,
                        overdue=row.next_due is not None and row.next_due < now, progress=progress[row.id])
                for row in found]
    return CasePage(rows=rows, page=query.page, per_page=query.per_page, total=min(total, COUNT_CAP),
                    total_capped=total > COUNT_CAP)


def case_overviews(sessions: sessionmaker[Session], case_ids: Sequence[int]) -> dict[int, CaseOverview]:
    """Responsible professional and progress of the given cases (for the inbox's rows; the caller listed only
    cases the actor may work on). Reads summary columns only."""
    ids = sorted(set(case_ids))
    if not ids:
        return {}
    with sessions() as session:
        rows = session.execute(select(Case.id, Case.responsible, Case.status).where(Case.id.in_(ids))).all()
        progress = _progress(session, [(row.id, row.status) for row in rows])
        return {row.id: CaseOverview(row.id, row.responsible, progress[row.id]) for row in rows}


# -- filters -----------------------------------------------------------------------------------

def like_pattern(text: str) -> str:
    """`%text%` with LIKE's wildcards in `text` taken literally (escape character backslash)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def client_ref_contains(session: Session, text: str) -> ColumnElement[bool]:
    """The client reference contains `text`, ignoring case.

    On PostgreSQL the trigram index is searched for the part of `text` after the prefix that every client
    reference shares (`CL-0…`): those trigrams are in every row, their posting lists are as long as the table,
    and they made a search for a whole reference cost 20 ms at a million cases and 60–140 ms at ten million
    (docs/performance.md). Any part of `text` finds every row that contains `text` and more; the whole pattern is
    then checked on the rows found, so no match is lost and none is added."""
    whole = Case.client_ref.ilike(like_pattern(text), escape="\\")
    if session.get_bind().dialect.name != "postgresql":
        return whole
    lowest, highest = session.execute(_REFERENCE_RANGE).one()
    shared = os.path.commonprefix([(lowest or "").lower(), (highest or "").lower()])
    lowered = text.lower()
    rest = lowered[len(shared):]
    if not shared or not lowered.startswith(shared) or not _TRIGRAM_WORD.search(rest):
        return whole  # without three letters or digits in a row the index has nothing to look up: all of it
    # `|| ''` keeps the whole pattern out of the index condition: a filter on the rows the rest found
    return and_(Case.client_ref.ilike(like_pattern(rest), escape="\\"),
                (Case.client_ref + "").ilike(like_pattern(text), escape="\\"))


# The lowest and highest reference (two probes of ix_cases_client_ref): in code-point order their common prefix
# is one that all share; in a linguistic collation nearly always, and only the speed depends on it.
_REFERENCE_RANGE = select(func.min(Case.client_ref), func.max(Case.client_ref))
_TRIGRAM_WORD = re.compile(r"[^\W_]{3}")


def _conditions(session: Session, query: CaseQuery, now: datetime) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    text = query.q.strip()
    if text:
        conditions.append(client_ref_contains(session, text))
    if query.status is not None:
        conditions.append(Case.status == query.status)
    if query.responsible is not None:
        conditions.append(Case.responsible == query.responsible)
    if query.started_from is not None:
        conditions.append(Case.started_at >= query.started_from)
    if query.started_before is not None:
        conditions.append(Case.started_at < query.started_before)
    if query.overdue:
        conditions.append(exists().where(CaseTask.case_id == Case.id, CaseTask.state == CaseTaskState.READY,
                                         CaseTask.due_at < now))
    if query.step is not None:
        conditions.append(step_condition(query.step))
    return conditions


def _open_task_in(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(CaseTask.case_id == Case.id, CaseTask.state == CaseTaskState.READY, condition)


def element_in_step(column: Any, step: int) -> ColumnElement[bool]:
    """SQL for `engine.progress.element_step(column) == step` (same rules: `stapN_` prefix, named elements,
    `__suffix` of the melding a feedback task follows)."""
    no_suffix = not_(column.like("%\\_\\_%", escape="\\"))
    parts: list[ColumnElement[bool]] = [
        and_(no_suffix, or_(column == f"stap{step}", column.like(f"stap{step}\\_%", escape="\\")))]
    bases = sorted(name for name, s in ELEMENT_STEPS.items() if s == step)
    if bases:
        parts.append(and_(no_suffix, column.in_(bases)))
    for suffix, s in SUFFIX_STEPS.items():
        if s == step:
            parts.append(or_(column.like(f"%\\_\\_{suffix}", escape="\\"),
                             column.like(f"%\\_\\_{suffix}\\_%", escape="\\")))
    return or_(*parts)


def _any_step(column: Any, steps: range) -> ColumnElement[bool]:
    return or_(*(element_in_step(column, s) for s in steps)) if len(steps) else false()


def step_condition(step: int) -> ColumnElement[bool]:
    """The case is in `step`: an open task of that step and none of a later one (the furthest step wins, as in
    `engine.progress.step_of`). Stap 6 also holds a case that waits for an evaluation date with nothing open."""
    later = _open_task_in(_any_step(CaseTask.element_id, range(step + 1, LAST_STEP + 1)))
    in_step = and_(_open_task_in(element_in_step(CaseTask.element_id, step)), not_(later))
    if step != LAST_STEP:
        return in_step
    waiting = and_(not_(exists().where(CaseTask.case_id == Case.id, CaseTask.state == CaseTaskState.READY)),
                   exists().where(CaseTimer.case_id == Case.id, CaseTimer.state == TimerState.WAITING,
                                  element_in_step(CaseTimer.element_id, step)))
    return or_(in_step, waiting)


# -- sorting and decoration ---------------------------------------------------------------------

def _next_due_column() -> Any:
    return (select(func.min(CaseTask.due_at))
            .where(CaseTask.case_id == Case.id, CaseTask.state == CaseTaskState.READY)
            .correlate(Case).scalar_subquery())


def _order(sort: CaseSort) -> list[Any]:
    if sort == CaseSort.STARTED_ASC:
        return [Case.started_at.asc(), Case.id.asc()]
    if sort == CaseSort.CLIENT_REF:
        return [Case.client_ref.asc(), Case.id.asc()]
    return [Case.started_at.desc(), Case.id.desc()]


def _by_deadline(session: Session, columns: Any, condition: ColumnElement[bool], next_due: Any, offset: int,
                 limit: int) -> list[Any]:
    """A page in deadline order: the cases with a next deadline, soonest first, then the others by id.

    Two ranges read one after the other, not one ORDER BY over both: only an open case has a deadline, and
    ordering by a subquery made PostgreSQL compute it for every case that matched (all of a team's cases of
    twenty years when every status is listed: 90–130 ms at a million cases). The first range is the team's
    open cases; the second is read in id order by index and stops at the end of the page."""
    dated = and_(Case.status.in_(access.OPEN_CASE_STATUSES), next_due.is_not(None))
    first = list(session.execute(columns.where(condition, dated).order_by(next_due, Case.id)
                                 .limit(limit).offset(offset)))
    if len(first) == limit:
        return first
    # how many cases with a deadline come before the second range
    before = offset + len(first) if first else \
        session.scalar(select(func.count()).select_from(Case).where(condition, dated)) or 0
    undated = or_(Case.status.not_in(access.OPEN_CASE_STATUSES), next_due.is_(None))
    rest = session.execute(columns.where(condition, undated).order_by(Case.id)
                           .limit(limit - len(first)).offset(max(0, offset - before))).all()
    return [*first, *rest]


def _progress(session: Session, cases: Sequence[tuple[int, str]]) -> dict[int, Progress]:
    """Progress of a page of cases: three small indexed queries for the whole page."""
    ids = [case_id for case_id, _ in cases]
    if not ids:
        return {}
    open_elements: dict[int, list[str]] = defaultdict(list)
    for case_id, element_id in session.execute(select(CaseTask.case_id, CaseTask.element_id)
                                               .where(CaseTask.case_id.in_(ids),
                                                      CaseTask.state == CaseTaskState.READY)):
        open_elements[case_id].append(element_id)
    waiting: dict[int, list[str]] = defaultdict(list)
    for case_id, element_id in session.execute(select(CaseTimer.case_id, CaseTimer.element_id)
                                               .where(CaseTimer.case_id.in_(ids),
                                                      CaseTimer.state == TimerState.WAITING)):
        waiting[case_id].append(element_id)
    milestones: dict[int, list[str]] = defaultdict(list)
    for case_id, name in session.execute(select(CaseMilestone.case_id, CaseMilestone.name)
                                         .where(CaseMilestone.case_id.in_(ids))
                                         .order_by(CaseMilestone.case_id, CaseMilestone.seq)):
        milestones[case_id].append(name)
    return {case_id: step_of(open_elements[case_id] or waiting[case_id], milestones[case_id],
                             ended=status in ENDED_CASE_STATUSES)
            for case_id, status in cases}
