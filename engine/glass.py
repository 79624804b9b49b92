"""Break-the-glass: time-limited access to a case the policy (engine/access.py) would refuse.

A member of a team lane who must act on a case outside their reach (a colleague on leave, an emergency in another
team, a case on the internal route) states a reason and gets access at once, for a limited time
(MELDCODE_BREAK_GLASS_HOURS, default 4). The grant is audited with its reason, every read under it carries the
grant as its authorisation basis, and the aandachtsfunctionaris of the case's team reviews it afterwards. It
expires by itself: the policy only counts grants whose `expires_at` lies ahead.

Veilig Thuis (another organisation) and the beheerder (metadata only) cannot break the glass.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from . import access, audit, clock, text_input
from .errors import NotFoundError, ValidationError
from .models import AccessGrant, AuditEvent, Case
from .views import Actor

MIN_REASON, MAX_REASON = 20, 1000
DEFAULT_HOURS = 4.0


def grant_hours(env: Mapping[str, str] | None = None) -> float:
    """How long a grant lasts (a setting; hours, > 0)."""
    env = os.environ if env is None else env
    hours = float(env.get("MELDCODE_BREAK_GLASS_HOURS", DEFAULT_HOURS))
    if not hours > 0:
        raise ValueError("MELDCODE_BREAK_GLASS_HOURS must be positive")
    return hours


@dataclass(frozen=True)
class GrantView:
    id: int
    username: str
    user_team: str | None
    case_id: int
    client_ref: str
    team: str | None
    reason: str
    granted_at: datetime
    expires_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str | None
    # What the user did with the case during the grant: audited action -> how often (for the review).
    actions: dict[str, int] = field(default_factory=dict)

    def active(self, now: datetime) -> bool:
        return self.expires_at > now


class AlreadyAllowed(Exception):
    """The actor may read the case already; no grant is needed (none is made)."""


def request_access(sessions: sessionmaker[Session], actor: Actor, case_id: int, reason: str, *,
                   hours: float | None = None) -> GrantView:
    """Grant `actor` full access to case `case_id` for `hours` on `reason` (audited). Raises ValidationError for
    a missing or short reason, access.AccessDenied (audited) when the actor may not break the glass or the case
    does not exist, AlreadyAllowed when the actor has full access already."""
    reason = text_input.check_text((reason or "").strip(), "reason", MAX_REASON)
    if len(reason) < MIN_REASON:
        raise ValidationError({"reason": [f"give a reason of at least {MIN_REASON} characters"]})
    now = clock.now()
    hours = grant_hours() if hours is None else hours
    with sessions.begin() as session:
        case = session.get(Case, case_id)
        why_not = None
        if not actor.roles & access.GLASS_ROLES:
            why_not = "only the team lanes may break the glass"
        elif case is None:
            why_not = "no such case"
        if why_not is None:
            assert case is not None  # checked above
            decision = access.decide_case(actor, access.load_facts(session, case, actor, now))
            if decision.scope == access.FULL:
                raise AlreadyAllowed(decision.basis)
            grant = AccessGrant(username=actor.username, user_team=actor.team, case_id=case.id, team=case.team,
                                reason=reason, granted_at=now, expires_at=now + timedelta(hours=hours))
            session.add(grant)
            session.flush()
            audit.record(session, actor.username, "case.break_glass", case_id=case.id, client_ref=case.client_ref,
                         access=access.FULL, basis=f"break-the-glass #{grant.id}: {reason}", grant_id=grant.id,
                         expires_at=grant.expires_at.isoformat(), refused_because=decision.basis)
            return _view(grant, case.client_ref)
    _audit_refusal(sessions, actor, case_id, why_not)
    raise access.AccessDenied(f"{actor.username} may not break the glass on case {case_id}: {why_not}")


def grants_to_review(sessions: sessionmaker[Session], team: str | None, *, reviewed: bool = False,
                     limit: int = 200) -> list[GrantView]:
    """Grants on the cases of `team`, unreviewed (oldest first) or reviewed (newest first)."""
    with sessions() as session:
        query = select(AccessGrant, Case.client_ref).join(Case, Case.id == AccessGrant.case_id) \
            .where(AccessGrant.team == team)
        query = query.where(AccessGrant.reviewed_at.is_not(None)).order_by(AccessGrant.reviewed_at.desc()) \
            if reviewed else query.where(AccessGrant.reviewed_at.is_(None)).order_by(AccessGrant.granted_at)
        return [replace(_view(g, ref), actions=_actions_during(session, g))
                for g, ref in session.execute(query.limit(limit))]


def _actions_during(session: Session, grant: AccessGrant) -> dict[str, int]:
    rows = session.execute(select(AuditEvent.action, func.count()).where(
        AuditEvent.actor == grant.username, AuditEvent.case_id == grant.case_id,
        AuditEvent.at >= grant.granted_at, AuditEvent.at <= grant.expires_at, AuditEvent.outcome == "success")
        .group_by(AuditEvent.action).order_by(AuditEvent.action))
    return {action: count for action, count in rows}


def mark_reviewed(sessions: sessionmaker[Session], actor: Actor, grant_id: int, note: str = "") -> GrantView:
    """The aandachtsfunctionaris of the case's team marks a grant reviewed (audited). Raises NotFoundError for
    a grant that is not theirs to review (as for one that does not exist), ValidationError for a long note."""
    note = text_input.check_text((note or "").strip(), "note", MAX_REASON)
    with sessions.begin() as session:
        found = session.execute(select(AccessGrant, Case.client_ref).join(Case, Case.id == AccessGrant.case_id)
                                .where(AccessGrant.id == grant_id)).first()
        if found is None or "aandachtsfunctionaris" not in actor.roles or found[0].team != actor.team:
            raise NotFoundError(f"grant {grant_id} is not one {actor.username} reviews")
        grant, client_ref = found
        if grant.reviewed_at is None:
            grant.reviewed_by, grant.reviewed_at, grant.review_note = actor.username, clock.now(), note or None
            audit.record(session, actor.username, "case.break_glass.review", case_id=grant.case_id,
                         client_ref=client_ref, grant_id=grant.id, granted_to=grant.username)
        return _view(grant, client_ref)


def _audit_refusal(sessions: sessionmaker[Session], actor: Actor, case_id: int, reason: str) -> None:
    with sessions.begin() as session:
        client_ref = session.scalar(select(Case.client_ref).where(Case.id == case_id))
        audit.record(session, actor.username, "case.break_glass", outcome="denied", case_id=case_id,
                     client_ref=client_ref, reason=reason)


def _view(grant: AccessGrant, client_ref: str) -> GrantView:
    return GrantView(grant.id, grant.username, grant.user_team, grant.case_id, client_ref, grant.team, grant.reason,
                     grant.granted_at, grant.expires_at, grant.reviewed_by, grant.reviewed_at, grant.review_note)

