"""Need-to-know: may this actor read this case, act on this task, and how much of the case may it see?

One policy for the engine's use cases and the web layer (which asks it again as a second line):

- `full`: the lanes of the team (professional, aandachtsfunctionaris, leidinggevende) read their own team's
  cases, except a case on the internal route (violence by a colleague), which only the leidinggevende and the
  aandachtsfunctionaris of the team read. The professional who reported it hands it over and keeps no access:
  what follows concerns a colleague's conduct, a matter for the leidinggevende. A team lane without access may
  break the glass (engine/glass.py): time-limited full access on a stated reason, reviewed afterwards.
- `veilig_thuis`: Veilig Thuis is another organisation. It sees a case of its team only once it is involved
  (asked for advice, a melding made, a transfer) and then only its own lane's tasks and what they need: its
  tasks with their answers and the task that carried the melding (the melding's facts). No other answers, no
  case variables.
- `metadata`: the beheerder (technical administration, any team) sees status, process and version, dates, the
  steps with who and when, never answers or variables.

`case_filter` is the same policy as a SQL condition, for lists; tests hold the two to each other.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, overload

from sqlalchemy import ColumnElement, Row, Select, and_, bindparam, exists, false, literal, null, or_, select, true
from sqlalchemy.orm import Session

from .db import SHARED_READ
from .errors import NotAllowedError, NotFoundError
from .involvement import MELDING_MILESTONES, TRANSFER_MILESTONES, VEILIG_THUIS
from .models import AccessGrant, Case, CaseInvolvement, CaseRestriction, CaseTask
from .states import CaseStatus
from .views import Actor, CaseInfo

FULL, VT_LIMITED, METADATA = "full", "veilig_thuis", "metadata"
BEHEERDER = "beheerder"
TEAM_LANES = frozenset({"professional", "aandachtsfunctionaris", "leidinggevende"})
RESTRICTED_READERS = frozenset({"aandachtsfunctionaris", "leidinggevende"})
# Who may break the glass: the team lanes (not Veilig Thuis, another organisation; not the beheerder).
GLASS_ROLES = TEAM_LANES
VT_MILESTONES = MELDING_MILESTONES | TRANSFER_MILESTONES


class AccessDenied(NotAllowedError):
    """The actor may not read this case or act on this task (audited as denied)."""


class Grant(NamedTuple):
    """The actor's active break-the-glass grant: its columns as `with_facts` selects them."""

    id: int
    reason: str
    expires_at: datetime


@dataclass(frozen=True)
class CaseFacts:
    """What the decision needs to know about one case, for one actor."""

    case_id: int
    team: str | None
    restricted: str | None = None  # e.g. interne_route
    vt_involved: bool = False
    grant: Grant | None = None  # the actor's active break-the-glass grant


@dataclass(frozen=True)
class Decision:
    scope: str | None  # full | veilig_thuis | metadata; None: no access
    basis: str  # the authorisation basis (audit), or why not

    @property
    def allowed(self) -> bool:
        return self.scope is not None

    def audit_details(self) -> dict[str, Any]:
        return {"access": self.scope, "basis": self.basis}


def decide_case(actor: Actor, facts: CaseFacts) -> Decision:
    roles = actor.roles
    why_not = "role may not read case files"
    lanes = roles & TEAM_LANES
    if lanes:
        if facts.team is not None and facts.team == actor.team:
            if not facts.restricted:
                return Decision(FULL, f"role {_first(lanes)} in team {facts.team}")
            if roles & RESTRICTED_READERS:
                return Decision(FULL, f"role {_first(roles & RESTRICTED_READERS)} in team {facts.team} "
                                      f"({facts.restricted})")
            why_not = f"{facts.restricted}: only the leidinggevende and the aandachtsfunctionaris"
        else:
            why_not = "case belongs to another team"
        if facts.grant is not None:
            return Decision(FULL, f"break-the-glass #{facts.grant.id}: {facts.grant.reason}")
    if VEILIG_THUIS in roles:
        if facts.team is not None and facts.team == actor.team and facts.vt_involved:
            return Decision(VT_LIMITED, f"role veilig_thuis, involved in a case of team {facts.team}")
        if not lanes:
            why_not = "Veilig Thuis is not involved in this case" if facts.team == actor.team \
                else "case belongs to another team"
    if BEHEERDER in roles:
        return Decision(METADATA, "role beheerder (metadata only)")
    return Decision(None, why_not)


def decide_task(actor: Actor, facts: CaseFacts, lane: str | None) -> Decision:
    """Acting on (or opening) a task: full access to its case, or Veilig Thuis on its own lane; and the lane."""
    decision = decide_case(actor, facts)
    if decision.scope == METADATA or decision.scope is None:
        return Decision(None, decision.basis if decision.scope is None else "metadata access only")
    if decision.scope == VT_LIMITED and lane != VEILIG_THUIS:
        return Decision(None, f"Veilig Thuis works only on its own lane, not {lane!r}")
    if not actor.may_work_in(lane):
        return Decision(None, f"task of lane {lane!r}, which {actor.username} lacks")
    return decision


FACT_COLUMNS = 5  # what `with_facts` adds: restriction, Veilig Thuis involved, grant id, reason, expires at


AnySelect = Select[*tuple[Any, ...]]


def with_facts(query: AnySelect, actor: Actor) -> AnySelect:
    """`query` (one case: it selects from `Case`) with `actor`'s access facts as its last FACT_COLUMNS columns,
    so that a task or case and the facts its decision needs are one statement: the restriction by its primary
    key, Veilig Thuis's involvement as EXISTS, and the newest active grant by a LEFT JOIN on its id.
    Who and when are parameters (`facts_params`), so that one statement serves every actor with these roles."""
    vt = exists().where(CaseInvolvement.case_id == Case.id, CaseInvolvement.party == VEILIG_THUIS) \
        if VEILIG_THUIS in actor.roles else literal(False)
    query = query.outerjoin(CaseRestriction, CaseRestriction.case_id == Case.id).add_columns(CaseRestriction.kind, vt)
    if not actor.roles & GLASS_ROLES:  # only the team lanes may break the glass
        return query.add_columns(null(), null(), null())
    # Joined by the id of the newest active grant, so the join adds no rows (`query` may return several).
    newest = (select(AccessGrant.id).where(AccessGrant.case_id == Case.id,
                                           AccessGrant.username == bindparam("facts_user"),
                                           AccessGrant.expires_at > bindparam("facts_now"))
              .order_by(AccessGrant.expires_at.desc(), AccessGrant.id.desc()).limit(1).correlate(Case)
              .scalar_subquery())
    return (query.outerjoin(AccessGrant, AccessGrant.id == newest)
            .add_columns(AccessGrant.id, AccessGrant.reason, AccessGrant.expires_at))


def facts_params(actor: Actor, now: datetime, **more: Any) -> dict[str, Any]:
    """The parameters of a `with_facts` statement (and `more` of the caller's)."""
    return {"facts_user": actor.username, "facts_now": now, **more}


_built: dict[tuple[str, bool, bool], AnySelect] = {}


def built_with_facts(kind: str, base: Callable[[], AnySelect], actor: Actor) -> AnySelect:
    """`with_facts(base(), actor)`, built once per kind and per the roles that change its shape: building a
    statement costs more than running it. `base` selects one case (by parameters of its own)."""
    key = (kind, VEILIG_THUIS in actor.roles, bool(actor.roles & GLASS_ROLES))
    statement = _built.get(key)
    if statement is None:
        statement = _built[key] = with_facts(base(), actor)
    return statement


def _case_team() -> AnySelect:
    return select(Case.team).where(Case.id == bindparam("case_id"))


def _task_and_case() -> AnySelect:
    return select(CaseTask, Case).join(Case, Case.id == CaseTask.case_id).where(CaseTask.id == bindparam("task_id"))


def facts_of(row: Row[*tuple[Any, ...]], case_id: int, team: str | None) -> CaseFacts:
    """The facts in the last FACT_COLUMNS columns of a row of a `with_facts` query."""
    restricted, vt, *grant = row[-FACT_COLUMNS:]
    return CaseFacts(case_id, team, restricted, bool(vt), Grant(*grant) if grant[0] is not None else None)


@overload
def load_facts(session: Session, case: Case, actor: Actor, now: datetime) -> CaseFacts: ...
@overload
def load_facts(session: Session, case: int, actor: Actor, now: datetime) -> CaseFacts | None: ...


def load_facts(session: Session, case: Case | int, actor: Actor, now: datetime) -> CaseFacts | None:
    """The facts of a case (by row or id) for `actor`, in one statement; None when the case does not exist."""
    case_id = case if isinstance(case, int) else case.id
    known = session.info.get(SHARED_READ)  # one read of several use cases decides once per case and actor
    if known is not None and (case_id, actor) in known:
        return known[(case_id, actor)]  # type: ignore[no-any-return]
    row = session.execute(built_with_facts("case", _case_team, actor), facts_params(actor, now, case_id=case_id)).first()
    facts = None if row is None else facts_of(row, case_id, row[0])
    if known is not None:
        known[(case_id, actor)] = facts
    return facts


def check_case(session: Session, actor: Actor, case: Case, now: datetime) -> Decision:
    decision = decide_case(actor, load_facts(session, case, actor, now))
    if not decision.allowed:
        raise AccessDenied(f"{actor.username} may not read case {case.id}: {decision.basis}")
    return decision


def check_task(session: Session, actor: Actor, case: Case, lane: str | None, task_id: int, now: datetime,
               facts: CaseFacts | None = None) -> Decision:
    """`facts`: when the caller read them with the task (`task_with_facts`)."""
    decision = decide_task(actor, facts or load_facts(session, case, actor, now), lane)
    if not decision.allowed:
        raise AccessDenied(f"{actor.username} may not work on task {task_id}: {decision.basis}")
    return decision


def own_team(actor: Actor, team: Any = None) -> ColumnElement[bool]:
    """The cases of the actor's team it may read as a team member (a restricted case only for its readers).
    `team`: the team as a bound parameter, for a statement built once for many actors (default: actor.team)."""
    own = Case.team == (actor.team if team is None else team)
    if not actor.roles & RESTRICTED_READERS:
        own = and_(own, ~exists().where(CaseRestriction.case_id == Case.id))
    return own


def veilig_thuis_involved(actor: Actor, team: Any = None) -> ColumnElement[bool]:
    """The cases of the actor's (Veilig Thuis) region in which Veilig Thuis is involved (`team` as in
    `own_team`). The involvement carries its case's team: the team's involvements are one range of
    ix_case_involvement_party_team, not all of the installation's (revision 0014)."""
    team = actor.team if team is None else team
    return and_(Case.team == team, exists().where(CaseInvolvement.case_id == Case.id,
                                                  CaseInvolvement.party == VEILIG_THUIS, CaseInvolvement.team == team))


def granted_case_ids(session: Session, actor: Actor, now: datetime) -> list[int]:
    """The cases `actor` holds an active break-the-glass grant on (few: each needs a reason, lasts 4 hours)."""
    if not actor.roles & GLASS_ROLES:
        return []
    memo = session.info.get(SHARED_READ)  # one read of several lists (a page) looks them up once
    if memo is not None and ("grants", actor.username) in memo:
        return memo[("grants", actor.username)]  # type: ignore[no-any-return]
    found = list(session.scalars(_GRANTED, {"username": actor.username, "now": now}))
    if memo is not None:
        memo[("grants", actor.username)] = found
    return found


_GRANTED = select(AccessGrant.case_id).where(AccessGrant.username == bindparam("username"),
                                             AccessGrant.expires_at > bindparam("now"))


def case_filter(session: Session, actor: Actor, now: datetime) -> ColumnElement[bool]:
    """`decide_case(...).allowed` as a condition on `Case`, for lists.

    Grants are looked up first and named by id: an EXISTS on access_grant under the OR kept PostgreSQL from using
    any index on the team, so every list visited all cases (docs/performance.md, a million cases)."""
    roles = actor.roles
    if BEHEERDER in roles:
        return true()
    conditions = []
    lanes = roles & TEAM_LANES
    if lanes and actor.team is not None:
        conditions.append(own_team(actor))
    granted = granted_case_ids(session, actor, now) if lanes else []
    if granted:
        conditions.append(Case.id.in_(granted))
    if VEILIG_THUIS in roles and actor.team is not None:
        conditions.append(veilig_thuis_involved(actor))
    return or_(*conditions) if conditions else false()


OPEN_CASE_STATUSES = (CaseStatus.RUNNING, CaseStatus.SUSPENDED)


def task_with_access(session: Session, actor: Actor, task_id: int, now: datetime) -> tuple[CaseTask, Case, Decision]:
    """A task, its case and `actor`'s access to it (for the use cases about one task: drafts, context,
    corrections). NotFoundError for an unknown task; AccessDenied when the policy refuses."""
    row, case, facts = task_with_facts(session, actor, task_id, now)
    return row, case, check_task(session, actor, case, row.lane, row.id, now, facts)


def task_with_facts(session: Session, actor: Actor, task_id: int, now: datetime) -> tuple[CaseTask, Case, CaseFacts]:
    """A task, its case and `actor`'s access facts, in one statement (NotFoundError for an unknown task)."""
    found = session.execute(built_with_facts("task", _task_and_case, actor),
                            facts_params(actor, now, task_id=task_id)).first()
    if found is None:
        raise NotFoundError(f"task {task_id} does not exist")
    row, case = found[0], found[1]
    return row, case, facts_of(found, case.id, case.team)


@dataclass(frozen=True)
class LaneFilter:
    """Which open tasks an actor may work on (`task_lane_filter`), as a condition with bound parameters: its
    `shape` says which conditions it has, so a statement built once per shape serves every actor of that shape
    (building a statement costs more than running it); `params` are this actor's values."""
    shape: tuple[bool, ...] | None  # None: not to be cached (a condition with the actor's values in it)
    params: dict[str, Any] = dataclasses.field(compare=False)
    condition: Callable[[Any], ColumnElement[bool]] = dataclasses.field(compare=False)  # of the lane column


def task_lane_filter(session: Session, actor: Actor, now: datetime) -> LaneFilter:
    """For task lists: tasks of the actor's lanes on cases it may read; Veilig Thuis only its own lane (grants
    by id, as in `case_filter`)."""
    roles = actor.roles
    lanes = roles & TEAM_LANES
    granted = granted_case_ids(session, actor, now) if lanes else []
    shape = (bool(lanes) and actor.team is not None, not roles & RESTRICTED_READERS, bool(granted),
             VEILIG_THUIS in roles and actor.team is not None)
    params = {"lane_team": actor.team, "lane_full": sorted(r for r in roles if actor.may_work_in(r)),
              "lane_granted": granted}
    return LaneFilter(shape, params, lambda lane_column: _lane_condition(actor, shape, lane_column))


def _lane_condition(actor: Actor, shape: tuple[bool, ...], lane_column: Any) -> ColumnElement[bool]:
    """The condition for every actor of this shape (the roles `own_team` reads are part of the shape)."""
    team_lanes, _, granted, veilig_thuis = shape
    team: Any = bindparam("lane_team")
    full_lanes = lane_column.in_(bindparam("lane_full", expanding=True))
    conditions = []
    if team_lanes:
        conditions.append(and_(own_team(actor, team), full_lanes))
    if granted:
        conditions.append(and_(full_lanes, Case.id.in_(bindparam("lane_granted", expanding=True))))
    if veilig_thuis:
        conditions.append(and_(veilig_thuis_involved(actor, team), lane_column == VEILIG_THUIS))
    if not conditions:
        return false()
    # An open task exists only on a running or suspended case; as an IN list this makes a team's open cases one
    # range of ix_cases_team_status_id instead of all its cases of twenty years (docs/performance.md).
    return and_(Case.status.in_(OPEN_CASE_STATUSES), or_(*conditions))


def shaped_statement(cache: dict[tuple[Any, ...], Any], key: tuple[Any, ...], lane_filter: LaneFilter | None,
                     build: Callable[[LaneFilter | None], Any], params: dict[str, Any]) -> Any:
    """The statement for `key` and the shape of `lane_filter`, built once and kept in `cache` (building a statement
    costs more than running it); the filter's values are added to `params`. A filter without a shape (one with
    the actor's values in its condition) gets a statement of its own each time."""
    if lane_filter is not None:
        params.update(lane_filter.params)
    shape = lane_filter.shape if lane_filter is not None else ()
    if shape is None:
        return build(lane_filter)
    query = cache.get((*key, shape))
    if query is None:
        query = cache[(*key, shape)] = build(lane_filter)
    return query


def restrict(info: CaseInfo, decision: Decision, melding_task_ids: Iterable[int] = ()) -> CaseInfo:
    """The case file as far as `decision` allows."""
    if decision.scope == FULL:
        return info
    if decision.scope == METADATA:
        return dataclasses.replace(info, variables={}, history=[{**h, "data": None} for h in info.history])
    if decision.scope == VT_LIMITED:
        shown = set(melding_task_ids)
        return dataclasses.replace(
            info, variables={}, waiting_timers=[],
            milestones=[m for m in info.milestones if m in VT_MILESTONES],
            open_tasks=[t for t in info.open_tasks if t.lane == VEILIG_THUIS],
            history=[h for h in info.history if h["lane"] == VEILIG_THUIS or h["task_id"] in shown])
    raise ValueError(f"no access: {decision.basis}")


def melding_task_ids(session: Session, case_id: int) -> list[int]:
    """Tasks that carried a melding or transfer to Veilig Thuis (their answers are the melding's facts)."""
    return [t for t in session.scalars(select(CaseInvolvement.task_id).where(  # type: ignore[misc]  # IS NOT NULL
        CaseInvolvement.case_id == case_id, CaseInvolvement.party == VEILIG_THUIS,
        CaseInvolvement.task_id.is_not(None)))]


def _first(roles: Iterable[str]) -> str:
    return min(roles)
