"""The beheerder's oversight of process instances: metadata only, never case content.

Listing across teams with filters and keyset paging (fast at a million cases: every filter is an indexed
column or an EXISTS on the case's open rows, and a page continues after the last id instead of counting and
skipping), one instance's metadata, and the actions a beheerder takes with a required reason, each audited in
the same transaction: suspend and resume (a suspended case takes no completions and fires no timers),
terminate, reassign a task to a named user or another team, and retry parked (failed) timers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from . import audit, clock
from .errors import NotFoundError, ValidationError
from .models import AuditEvent, Case, CaseMilestone, CaseTask, CaseTimer, ProcessVersion
from .states import CaseStatus, CaseTaskState, TimerState
from .views import Actor, CaseMetadata

RUNNING, SUSPENDED, TERMINATED, COMPLETED = (CaseStatus.RUNNING, CaseStatus.SUSPENDED, CaseStatus.TERMINATED,
                                             CaseStatus.COMPLETED)
STATUSES = tuple(CaseStatus)
MAX_REASON = 500


class OversightError(ValidationError):
    """An action that does not fit the instance's state (e.g. resuming a running case)."""


@dataclass(frozen=True)
class InstanceFilter:
    process_id: str | None = None
    version: int | None = None
    status: str | None = None
    step: str | None = None  # element id of an open task
    overdue: bool = False
    team: str | None = None
    started_from: datetime | None = None
    started_until: datetime | None = None


@dataclass(frozen=True)
class InstanceRow(CaseMetadata):
    process_id: str
    version: int
    open_steps: list[str] = field(default_factory=list)
    overdue: bool = False


@dataclass(frozen=True)
class InstanceDetail:
    id: int
    process_id: str
    version: int
    team: str | None
    status: str
    status_reason: str | None
    legal_hold: str | None
    started_by: str
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    open_tasks: list[dict[str, Any]]
    waiting_timers: list[dict[str, Any]]
    failed_timers: list[dict[str, Any]]
    history: list[dict[str, Any]]  # who, when, which step: never the answers


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["a reason is required"]})
    if len(reason) > MAX_REASON:
        raise ValidationError({"reason": [f"at most {MAX_REASON} characters"]})
    return reason


def list_instances(session: Session, f: InstanceFilter, *, after_id: int | None = None, limit: int = 50,
                   now: datetime | None = None) -> tuple[list[InstanceRow], int | None]:
    """A page of instances, newest first, and the id to continue after (None: last page)."""
    now = now or clock.now()
    # Process versions are few: resolve them here, so the cases query needs no join (it walks the primary key
    # backwards and stops after one page)
    versions = {pv_id: (process_id, version) for pv_id, process_id, version in session.execute(
        select(ProcessVersion.id, ProcessVersion.process_id, ProcessVersion.version))}
    query = select(Case.id, Case.process_version_id, Case.team, Case.status, Case.started_at, Case.updated_at)
    if f.process_id or f.version:
        wanted = [pv_id for pv_id, (process_id, version) in versions.items()
                  if (not f.process_id or process_id == f.process_id) and (not f.version or version == f.version)]
        query = query.where(Case.process_version_id.in_(wanted or [-1]))
    if f.status:
        query = query.where(Case.status == f.status)
    if f.team:
        query = query.where(Case.team == f.team)
    if f.started_from:
        query = query.where(Case.started_at >= f.started_from)
    if f.started_until:
        query = query.where(Case.started_at < f.started_until)
    if f.step:
        query = query.where(exists().where(CaseTask.case_id == Case.id, CaseTask.state == CaseTaskState.READY,
                                           CaseTask.element_id == f.step))
    if f.overdue:
        query = query.where(exists().where(CaseTask.case_id == Case.id, CaseTask.state == CaseTaskState.READY,
                                           CaseTask.due_at < now))
    if after_id:
        query = query.where(Case.id < after_id)
    rows = session.execute(query.order_by(Case.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    ids = [r.id for r in rows]
    steps: dict[int, list[str]] = {}
    late: set[int] = set()
    if ids:
        for case_id, name, element_id, due_at in session.execute(
                select(CaseTask.case_id, CaseTask.name, CaseTask.element_id, CaseTask.due_at)
                .where(CaseTask.case_id.in_(ids), CaseTask.state == CaseTaskState.READY).order_by(CaseTask.id)):
            steps.setdefault(case_id, []).append(name or element_id)
            if due_at is not None and due_at < now:
                late.add(case_id)
    found = [InstanceRow(id=r.id, team=r.team, status=r.status, started_at=r.started_at, updated_at=r.updated_at,
                         process_id=versions[r.process_version_id][0], version=versions[r.process_version_id][1],
                         open_steps=steps.get(r.id, []), overdue=r.id in late) for r in rows]
    return found, (ids[-1] if more else None)


def filter_options(session: Session) -> dict[str, Any]:
    """Values for the filter form: processes with their versions, teams, and open steps."""
    versions = session.execute(select(ProcessVersion.process_id, ProcessVersion.version)
                               .order_by(ProcessVersion.process_id, ProcessVersion.version)).all()
    if session.get_bind().dialect.name == "postgresql":
        teams, steps = _distinct_teams_and_steps(session)
    else:
        teams = session.scalars(select(Case.team).where(Case.team.is_not(None)).distinct().order_by(Case.team)).all()  # type: ignore[assignment]
        steps = session.execute(select(CaseTask.element_id, func.min(CaseTask.name))  # type: ignore[assignment]
                                .where(CaseTask.state == CaseTaskState.READY)
                                .group_by(CaseTask.element_id).order_by(CaseTask.element_id)).all()
    return {"processes": sorted({p for p, _ in versions}), "versions": versions, "teams": list(teams),
            "steps": [(e, n or e) for e, n in steps], "statuses": STATUSES}


# PostgreSQL reads DISTINCT by visiting every index entry (a million cases: a second). These walk the index
# instead, one probe per distinct value ("loose index scan"): ix_cases_team and ix_case_task_open_step.
_TEAMS = text("""
    WITH RECURSIVE t(team) AS (
        (SELECT team FROM cases WHERE team IS NOT NULL ORDER BY team LIMIT 1)
        UNION ALL
        SELECT (SELECT team FROM cases WHERE team > t.team ORDER BY team LIMIT 1) FROM t WHERE t.team IS NOT NULL)
    SELECT team FROM t WHERE team IS NOT NULL""")
_STEPS = text("""
    WITH RECURSIVE s(element_id) AS (
        (SELECT element_id FROM case_task WHERE state = :ready ORDER BY element_id LIMIT 1)
        UNION ALL
        SELECT (SELECT element_id FROM case_task WHERE state = :ready AND element_id > s.element_id
                ORDER BY element_id LIMIT 1) FROM s WHERE s.element_id IS NOT NULL)
    SELECT s.element_id, (SELECT name FROM case_task WHERE state = :ready AND element_id = s.element_id
                          AND name IS NOT NULL LIMIT 1) FROM s WHERE s.element_id IS NOT NULL""")


def _distinct_teams_and_steps(session: Session) -> tuple[list[str], list[tuple[str, str | None]]]:
    teams = list(session.scalars(_TEAMS))
    steps = [(e, n) for e, n in session.execute(_STEPS, {"ready": CaseTaskState.READY.value})]
    return teams, steps


def instance(session: Session, case_id: int) -> InstanceDetail:
    found = session.execute(select(Case, ProcessVersion).join(ProcessVersion, ProcessVersion.id ==
                                                              Case.process_version_id).where(Case.id == case_id)).first()
    if found is None:
        raise NotFoundError(f"case {case_id} does not exist")
    case, pv = found
    tasks = session.scalars(select(CaseTask).where(CaseTask.case_id == case_id).order_by(CaseTask.id)).all()
    timers = session.scalars(select(CaseTimer).where(CaseTimer.case_id == case_id).order_by(CaseTimer.id)).all()
    milestones = session.scalars(select(CaseMilestone).where(CaseMilestone.case_id == case_id)
                                 .order_by(CaseMilestone.seq)).all()
    history = [{"at": t.ended_at, "who": t.completed_by, "step": t.name or t.element_id, "kind": "taak afgerond",
                "lane": t.lane} for t in tasks if t.state == CaseTaskState.COMPLETED]
    history += [{"at": m.reached_at, "who": None, "step": m.name, "kind": "mijlpaal", "lane": None}
                for m in milestones]
    history += [{"at": t.ended_at, "who": "systeem", "step": t.element_id, "kind": "timer afgegaan", "lane": None}
                for t in timers if t.state == TimerState.FIRED]
    oversight = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                         AuditEvent.action.like("oversight.%"),
                                                         AuditEvent.action != "oversight.view")
                                .order_by(AuditEvent.id)).all()
    history += [{"at": e.at, "who": e.actor, "step": e.action.removeprefix("oversight."), "kind": "beheer",
                 "lane": None, "reason": (e.details or {}).get("reason")} for e in oversight]
    history.sort(key=lambda h: (h["at"] is None, h["at"]))
    return InstanceDetail(
        id=case.id, process_id=pv.process_id, version=pv.version, team=case.team, status=case.status,
        status_reason=case.status_reason, legal_hold=case.legal_hold, started_by=case.started_by,
        started_at=case.started_at, updated_at=case.updated_at, ended_at=case.ended_at,
        open_tasks=[{"id": t.id, "step": t.name or t.element_id, "element_id": t.element_id, "lane": t.lane,
                     "due_at": t.due_at, "claimed_by": t.claimed_by, "created_at": t.created_at}
                    for t in tasks if t.state == CaseTaskState.READY],
        waiting_timers=[{"id": t.id, "element_id": t.element_id, "due_at": t.due_at}
                        for t in timers if t.state == TimerState.WAITING],
        failed_timers=[{"id": t.id, "element_id": t.element_id, "due_at": t.due_at, "failed_at": t.ended_at,
                        "error": t.last_error} for t in timers if t.state == TimerState.FAILED],
        history=history)


class Oversight:
    """The beheerder's actions. Each is one transaction with its audit event (action `oversight.*`)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def _case(self, session: Session, case_id: int) -> Case:
        case = session.get(Case, case_id, with_for_update=session.get_bind().dialect.name == "postgresql")
        if case is None:
            raise NotFoundError(f"case {case_id} does not exist")
        return case

    def _audit(self, session: Session, actor: Actor, action: str, case: Case, reason: str | None,
               **details: Any) -> None:
        audit.record(session, actor.username, f"oversight.{action}", case_id=case.id, client_ref=case.client_ref,
                     reason=reason, **details)

    def suspend(self, case_id: int, actor: Actor, reason: str) -> None:
        self._pause(case_id, actor, reason, "suspend", RUNNING, SUSPENDED)

    def resume(self, case_id: int, actor: Actor, reason: str) -> None:
        self._pause(case_id, actor, reason, "resume", SUSPENDED, RUNNING)

    def _pause(self, case_id: int, actor: Actor, reason: str, action: str, before: CaseStatus,
               after: CaseStatus) -> None:
        """Suspend or resume: from `before` to `after`. The reason stays on the case while it is suspended."""
        reason = _reason(reason)
        with self.sessions.begin() as session:
            case = self._case(session, case_id)
            if case.status != before:
                raise OversightError({"status": [f"case {case_id} is {case.status}, not {before}"]})
            case.status, case.updated_at = after, clock.now()
            case.status_reason = reason if after == SUSPENDED else None
            self._audit(session, actor, action, case, reason)

    def terminate(self, case_id: int, actor: Actor, reason: str) -> None:
        """End the case for good: its open tasks and waiting timers are cancelled."""
        reason = _reason(reason)
        now = clock.now()
        with self.sessions.begin() as session:
            case = self._case(session, case_id)
            if case.status not in (RUNNING, SUSPENDED):
                raise OversightError({"status": [f"case {case_id} is already {case.status}"]})
            cancelled = 0
            for row in session.scalars(select(CaseTask).where(CaseTask.case_id == case_id, CaseTask.state == CaseTaskState.READY)):
                row.state, row.ended_at = CaseTaskState.CANCELLED, now
                cancelled += 1
            for timer in session.scalars(select(CaseTimer).where(CaseTimer.case_id == case_id,
                                                                 CaseTimer.state.in_((TimerState.WAITING, TimerState.FAILED)))):
                timer.state, timer.ended_at = TimerState.CANCELLED, now
            case.status, case.status_reason, case.ended_at, case.updated_at = TERMINATED, reason, now, now
            self._audit(session, actor, "terminate", case, reason, cancelled_tasks=cancelled)

    def reassign_task(self, task_id: int, actor: Actor, reason: str, *, user: str | None = None,
                      team: str | None = None) -> None:
        """To a named user (who must exist, be active, be in the case's team and have the task's lane), or to
        another team (the case moves there: need-to-know follows the team)."""
        reason = _reason(reason)
        if bool(user) == bool(team):
            raise ValidationError({"target": ["give either a user or a team"]})
        with self.sessions.begin() as session:
            row = session.get(CaseTask, task_id)
            if row is None:
                raise NotFoundError(f"task {task_id} does not exist")
            case = self._case(session, row.case_id)
            if row.state != CaseTaskState.READY:
                raise OversightError({"task": [f"task {task_id} is {row.state}"]})
            before = {"claimed_by": row.claimed_by, "team": case.team}
            if user:
                user = user.strip().lower()
                account = _account(session, user)
                if account is None:
                    raise ValidationError({"user": [f"no active user {user!r}"]})
                user_team, roles = account
                if user_team != case.team:
                    raise ValidationError({"user": [f"{user} is in team {user_team}, the case in {case.team}"]})
                if row.lane not in roles:
                    raise ValidationError({"user": [f"{user} lacks the role {row.lane!r} of this task"]})
                row.claimed_by = user
            else:
                assert team is not None  # either a user or a team, checked above
                team = team.strip()
                if not _team_exists(session, team):
                    raise ValidationError({"team": [f"no team {team!r}"]})
                case.team, row.claimed_by = team, None
            case.updated_at = clock.now()
            self._audit(session, actor, "reassign", case, reason, task_id=task_id, before=before,
                        after={"claimed_by": row.claimed_by, "team": case.team})

    def retry_timers(self, case_id: int, actor: Actor, reason: str) -> int:
        """Put parked (failed) timers back to waiting; the next sweep fires them. Returns how many."""
        reason = _reason(reason)
        with self.sessions.begin() as session:
            case = self._case(session, case_id)
            if case.status not in (RUNNING, SUSPENDED):
                raise OversightError({"status": [f"case {case_id} is {case.status}"]})
            timers = session.scalars(select(CaseTimer).where(CaseTimer.case_id == case_id,
                                                             CaseTimer.state == TimerState.FAILED)).all()
            if not timers:
                raise OversightError({"timers": [f"case {case_id} has no parked timers"]})
            for timer in timers:
                timer.state, timer.ended_at = TimerState.WAITING, None
            self._audit(session, actor, "retry_timers", case, reason,
                        timers=[t.element_id for t in timers], errors=[t.last_error for t in timers])
            return len(timers)

    def set_legal_hold(self, case_id: int, actor: Actor, reason: str | None) -> None:
        """A legal hold (reason) keeps the case from retention; None lifts it."""
        with self.sessions.begin() as session:
            case = self._case(session, case_id)
            if reason is None:
                case.legal_hold = None
                self._audit(session, actor, "legal_hold_lifted", case, "opgeheven")
            else:
                case.legal_hold = _reason(reason)
                self._audit(session, actor, "legal_hold", case, case.legal_hold)


def _account(session: Session, username: str) -> tuple[str, set[str]] | None:
    """(team, roles) of an active account. Accounts are the web app's tables in the same database."""
    row = session.execute(text("SELECT u.id, t.name FROM app_user u JOIN team t ON t.id = u.team_id "
                               "WHERE u.username = :u AND u.active"), {"u": username}).first()
    if row is None:
        return None
    roles = set(session.scalars(text("SELECT role FROM app_user_role WHERE user_id = :i"), {"i": row[0]}))
    return row[1], roles


def _team_exists(session: Session, team: str) -> bool:
    return session.execute(text("SELECT 1 FROM team WHERE name = :t"), {"t": team}).first() is not None
