"""The need-to-know filters of engine/access.py as proposed for a million cases (issue 14), measured by
bench/queries.py next to the current ones (the change itself is the owner's of engine/access.py to make).

Same policy, two changes in the SQL:
1. break-the-glass grants are few per user: their case ids are looked up first (one query on
   ix_access_grant_user_case) and become `cases.id IN (...)`, instead of an EXISTS under an OR, which keeps
   PostgreSQL from using any index on `cases.team` (every list then visits all running cases, the inbox all
   open tasks of its lane);
2. the task list adds `cases.status IN ('running', 'suspended')` (an open task exists only on a running or
   suspended case: completion ends them, termination cancels them), so a team's open cases are one range of
   ix_cases_team_status_id (revision 0010) instead of all the team's cases of twenty years (NOT IN would not
   be an index condition).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import and_, false, or_, select
from sqlalchemy.engine import Engine

from engine import access
from engine.access import GLASS_ROLES, TEAM_LANES, VEILIG_THUIS
from engine.models import AccessGrant, Case
from engine.states import CaseStatus
from engine.views import Actor

# The statuses a case with an open task can have (an IN list, so that (team, status) is one index range)
OPEN_CASE_STATUSES = (CaseStatus.RUNNING, CaseStatus.SUSPENDED)


def granted_case_ids(db: Engine, actor: Actor, now: datetime) -> list[int]:
    if not actor.roles & GLASS_ROLES:
        return []
    with db.connect() as conn:
        return list(conn.scalars(select(AccessGrant.case_id).where(AccessGrant.username == actor.username,
                                                                   AccessGrant.expires_at > now)))


def case_filter(actor: Actor, now: datetime, granted: Sequence[int]):
    roles = actor.roles
    if access.BEHEERDER in roles:
        return access.true()
    conditions = []
    lanes = roles & TEAM_LANES
    if lanes and actor.team is not None:
        conditions.append(access.own_team(actor))
    if lanes and granted:
        conditions.append(Case.id.in_(list(granted)))
    if VEILIG_THUIS in roles and actor.team is not None:
        conditions.append(access.veilig_thuis_involved(actor))
    return or_(*conditions) if conditions else false()


def task_lane_filter(actor: Actor, lane_column, now: datetime, granted: Sequence[int]):
    roles = actor.roles
    conditions = []
    lanes = roles & TEAM_LANES
    full_lanes = sorted(r for r in roles if actor.may_work_in(r))
    if lanes and actor.team is not None:
        conditions.append(and_(access.own_team(actor), lane_column.in_(full_lanes)))
    if lanes and granted:
        conditions.append(and_(lane_column.in_(full_lanes), Case.id.in_(list(granted))))
    if VEILIG_THUIS in roles and actor.team is not None:
        conditions.append(and_(access.veilig_thuis_involved(actor), lane_column == VEILIG_THUIS))
    if not conditions:
        return false()
    return and_(Case.status.in_(list(OPEN_CASE_STATUSES)), or_(*conditions))


@contextmanager
def proposed(db: Engine):
    """engine.access.case_filter and task_lane_filter replaced by the proposed ones while inside."""
    original: tuple[Callable, Callable] = (access.case_filter, access.task_lane_filter)
    access.case_filter = lambda actor, now: case_filter(actor, now, granted_case_ids(db, actor, now))
    access.task_lane_filter = lambda actor, column, now: task_lane_filter(actor, column, now,
                                                                          granted_case_ids(db, actor, now))
    try:
        yield
    finally:
        access.case_filter, access.task_lane_filter = original
