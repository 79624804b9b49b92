"""The need-to-know filters of engine/access.py as they were before issue 14, for bench/queries.py's baseline
columns in the same run.

They named break-the-glass grants with an EXISTS on access_grant under the OR of the team condition, which keeps
PostgreSQL from using any index on `cases.team` (every list visited all running cases, the inbox all open tasks
of its lane), and the task list had no `cases.status IN ('running', 'suspended')` (so a team's open cases were
not one range of ix_cases_team_status_id). engine/access.py now looks the actor's grants up first and names them
by id, and restricts task lists to open cases. The audit search counted every match (seconds for a broad search
at millions of events); it now stops counting at 10,000.
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, false, func, or_, select

from engine import access, audit_search
from engine.access import TEAM_LANES, VEILIG_THUIS
from engine.models import AccessGrant, AuditEvent, Case
from engine.views import Actor


def _grant_exists(actor: Actor, now: datetime):
    return exists().where(AccessGrant.case_id == Case.id, AccessGrant.username == actor.username,
                          AccessGrant.expires_at > now)


def case_filter(session: Any, actor: Actor, now: datetime):
    roles = actor.roles
    if access.BEHEERDER in roles:
        return access.true()
    conditions = []
    lanes = roles & TEAM_LANES
    if lanes and actor.team is not None:
        conditions.append(access.own_team(actor))
    if lanes:
        conditions.append(_grant_exists(actor, now))
    if VEILIG_THUIS in roles and actor.team is not None:
        conditions.append(access.veilig_thuis_involved(actor))
    return or_(*conditions) if conditions else false()


def task_lane_filter(session: Any, actor: Actor, now: datetime) -> access.LaneFilter:
    """As before issue 14, with the actor's values in the condition (so never cached by shape)."""
    return access.LaneFilter(None, {}, lambda lane_column: _task_lane_condition(actor, lane_column, now))


def _task_lane_condition(actor: Actor, lane_column, now: datetime):
    roles = actor.roles
    conditions = []
    lanes = roles & TEAM_LANES
    full_lanes = sorted(r for r in roles if actor.may_work_in(r))
    if lanes and actor.team is not None:
        conditions.append(and_(access.own_team(actor), lane_column.in_(full_lanes)))
    if lanes:
        conditions.append(and_(lane_column.in_(full_lanes), _grant_exists(actor, now)))
    if VEILIG_THUIS in roles and actor.team is not None:
        conditions.append(and_(access.veilig_thuis_involved(actor), lane_column == VEILIG_THUIS))
    return or_(*conditions) if conditions else false()


_CAPPED_PAGE = audit_search.search_page  # the product's, kept before earlier_filters() replaces it


def exact_page(session: Any, q: audit_search.AuditQuery, *, page: int = 1,
               per_page: int = 50) -> audit_search.AuditPage:
    """The audit search before issue 14: it counted every match exactly (a scan of all matches)."""
    found = _CAPPED_PAGE(session, q, page=page, per_page=per_page)
    dialect = session.get_bind().dialect.name
    total = session.scalar(audit_search._where(select(func.count()).select_from(AuditEvent), q, dialect))
    return audit_search.AuditPage(found.events, total, False)


@contextmanager
def earlier_filters():
    """engine.access.case_filter and task_lane_filter, and the audit search's count, as before issue 14 while
    inside."""
    original: tuple[Callable, Callable, Callable] = (access.case_filter, access.task_lane_filter,
                                                     audit_search.search_page)
    access.case_filter, access.task_lane_filter, audit_search.search_page = case_filter, task_lane_filter, exact_page
    try:
        yield
    finally:
        access.case_filter, access.task_lane_filter, audit_search.search_page = original
