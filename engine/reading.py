"""Use cases that read: open tasks, a task with its form, a case file, case lists, the diagram of a case,
access decisions, progress and milestones."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, load_only

from . import access, audit, clock
from .case_store import DECISION, CaseStore, task_info
from .db import shared_read
from .errors import NotFoundError
from .lookups import TASK_SCOPE, TASK_SCOPE_COLUMNS, TaskScope
from .models import Case, CaseMilestone, CaseTask, CaseTimer, DeploymentFile, ProcessVersion
from .states import CaseTaskState, TimerState
from .views import Actor, CaseInfo, CaseSummary, DiagramView, TaskInfo

# What a list of tasks shows (the form schema, instructions and documentation are a task view's)
_TASK_COLUMNS = (CaseTask.id, CaseTask.case_id, Case.client_ref, CaseTask.element_id, CaseTask.name, CaseTask.lane,
                 CaseTask.state, CaseTask.due_at, CaseTask.created_at, CaseTask.claimed_by, CaseTask.form, Case.status)
SUMMARY_COLUMNS = (Case.client_ref, Case.team, Case.status, Case.started_by, Case.started_at, Case.updated_at)


def open_tasks(store: CaseStore, *, case_id: int | None = None, lanes: Iterable[str] | None = None,
               team: str | None = None, actor: Actor | None = None) -> list[TaskInfo]:
    """Open tasks; with `actor`, only those it may work on (engine/access.py)."""
    with store.sessions.reads() as session:
        params: dict[str, Any] = {"case_id": case_id, "lanes": sorted(lanes) if lanes is not None else None,
                                  "team": team}
        lane_filter = access.task_lane_filter(session, actor, clock.now()) if actor is not None else None
        key = (case_id is not None, lanes is not None, team is not None)
        query = access.shaped_statement(_open_task_queries, key, lane_filter,
                                        lambda f: _open_tasks_query(*key, f), params)
        # Unpacked in the order of _TASK_COLUMNS: reading a Row's fields by name cost three times as much for
        # a team's few hundred open tasks (docs/performance.md, a million cases).
        return [TaskInfo(id=id_, case_id=case_id_, client_ref=client_ref, element_id=element_id, name=name,
                         lane=lane, state=state, due_at=due_at, created_at=created_at, claimed_by=claimed_by,
                         form_name=form, case_status=status)
                for (id_, case_id_, client_ref, element_id, name, lane, state, due_at, created_at, claimed_by, form,
                     status) in session.execute(query, params)]


# Built once per shape (which filters, and the shape of the actor's access filter): building a statement costs
# more than running it.
_open_task_queries: dict[tuple[Any, ...], Any] = {}


def _open_tasks_query(by_case: bool, by_lanes: bool, by_team: bool, lane_filter: access.LaneFilter | None) -> Any:
    # Columns, not entities: a Case row carries the state blob and the variables, and building ORM objects
    # cost four times the query for a team's few hundred open tasks.
    query = (select(*_TASK_COLUMNS).join(Case, Case.id == CaseTask.case_id)
             .where(CaseTask.state == CaseTaskState.READY).order_by(CaseTask.due_at, CaseTask.id))
    if by_case:
        query = query.where(CaseTask.case_id == bindparam("case_id"))
    if by_lanes:
        query = query.where(CaseTask.lane.in_(bindparam("lanes", expanding=True)))
    if by_team:
        query = query.where(Case.team == bindparam("team"))
    if lane_filter is not None:
        query = query.where(lane_filter.condition(CaseTask.lane))
    return query


def task(store: CaseStore, task_id: int, actor: Actor, *, audit_read: bool = True) -> TaskInfo:
    """A task with its form and instructions, for the person who will work on it (audited)."""
    with store.denials_audited(actor, "task.view", task_id=task_id), store.sessions.begin() as session:
        row, case = store.task_row(session, task_id, actor, "task.view")
        if audit_read:
            audit.record(session, actor.username, "task.view", case_id=case.id, task_id=row.id,
                         client_ref=case.client_ref, **session.info[DECISION].audit_details())
        pv = case.process_version
        schema = pv.forms.get(row.form) if row.form else None
        instructions, documentation = _instructions(*store.specs(session, pv.id), row.element_id)
        return task_info(row, case, schema=schema, instructions=instructions, documentation=documentation)


def case(store: CaseStore, case_id: int, actor: Actor, *, audit_read: bool = True,
         present: Callable[[CaseInfo, access.Decision], Any] | None = None) -> Any:
    """A case file as far as `actor` may see it (engine/access.py), audited. With `present`, the result is
    `present(info, decision)`, called inside the audited transaction: a failing presentation (e.g. a page
    that cannot render) is audited as an error, not as a successful view. The reads `present` makes through the
    engine's sessions share that transaction (engine/db.py `shared_read`)."""
    try:
        # The reads `present` makes through the engine's sessions (the page's panels) join this transaction.
        with store.denials_audited(actor, "case.view", case_id=case_id), store.sessions.begin() as session, \
                shared_read(session):
            found = session.get(Case, case_id)
            if found is None:
                raise NotFoundError(f"case {case_id} does not exist")
            decision = access.check_case(session, actor, found, clock.now())
            info = access.restrict(case_info(session, found), decision, access.melding_task_ids(session, found.id))
            result = present(info, decision) if present is not None else info
            if audit_read:
                audit.record(session, actor.username, "case.view", case_id=found.id, client_ref=found.client_ref,
                             **decision.audit_details())
            return result
    except (access.AccessDenied, NotFoundError):
        raise
    except Exception as exc:
        if present is not None and audit_read:
            store.record_access(actor, "case.view", outcome="error", case_id=case_id,
                                reason=f"{type(exc).__name__}: {str(exc)[:200]}")
        raise


def case_access(store: CaseStore, case_id: int, actor: Actor) -> access.Decision | None:
    """Whether and how much `actor` may see of a case (None: no such case). Not audited: a decision."""
    with store.sessions.reads() as session:
        facts = access.load_facts(session, case_id, actor, clock.now())
        return None if facts is None else access.decide_case(actor, facts)


def task_with_access(store: CaseStore, task_id: int, actor: Actor) -> tuple[TaskScope, access.Decision] | None:
    """Where a task belongs and whether `actor` may work on it, in one statement — None: no such task. Not
    audited: a decision."""
    with store.sessions.reads() as session:
        found = session.execute(access.built_with_facts("task scope", lambda: TASK_SCOPE, actor),
                                access.facts_params(actor, clock.now(), task_id=task_id)).first()
        if found is None:
            return None
        scope = TaskScope(*found[:len(TASK_SCOPE_COLUMNS)])
        return scope, access.decide_task(actor, access.facts_of(found, scope.case_id, scope.team), scope.lane)


def list_cases(store: CaseStore, *, team: str | None = None, status: str | None = None, limit: int = 200,
               actor: Actor | None = None) -> list[CaseSummary]:
    """Cases (newest first) without their state; for overviews. With `actor`: those it may read."""
    with store.sessions.reads() as session:
        # The summary columns only: not the state blob and variables of each case, nor the forms of its version.
        query = (select(Case, ProcessVersion).join(ProcessVersion)
                 .options(load_only(*SUMMARY_COLUMNS), load_only(ProcessVersion.process_id, ProcessVersion.version))
                 .order_by(Case.id.desc()).limit(limit))
        if actor is not None:
            query = query.where(access.case_filter(session, actor, clock.now()))
        if team is not None:
            query = query.where(Case.team == team)
        if status is not None:
            query = query.where(Case.status == status)
        return [CaseSummary(id=c.id, process_id=pv.process_id, process_version=pv.version, client_ref=c.client_ref,
                            team=c.team, status=c.status, started_by=c.started_by, started_at=c.started_at,
                            updated_at=c.updated_at) for c, pv in session.execute(query)]


def case_team(store: CaseStore, case_id: int) -> str | None:
    """The team owning a case, for access decisions (raises NotFoundError)."""
    with store.sessions.reads() as session:
        team = session.execute(select(Case.team).where(Case.id == case_id)).first()
        if team is None:
            raise NotFoundError(f"case {case_id} does not exist")
        return team[0]


def case_diagram(store: CaseStore, case_id: int, actor: Actor | None = None, *, source: bool = True) -> DiagramView:
    """The BPMN source a case runs on, with the elements it completed and where it is now. With `actor`, only
    for someone who may read the case (engine/access.py; a refusal is audited). Without `source`, the view names
    the process version but leaves its BPMN out (a page lets the browser fetch and keep it)."""
    with store.denials_audited(actor, "case.diagram", case_id=case_id), store.sessions.reads() as session:
        found = session.get(Case, case_id)
        if found is None:
            raise NotFoundError(f"case {case_id} does not exist")
        if actor is not None:
            access.check_case(session, actor, found, clock.now())
        pv = found.process_version
        # Only the diagram's own file: a deployment also holds its forms and decision tables (meldcode: 44
        # files, 264 KB, read on every case file page before).
        xml = session.scalar(select(DeploymentFile.content).where(
            DeploymentFile.deployment_id == pv.deployment_id, DeploymentFile.filename == pv.source_file)) \
            if source else None
        done = set(session.scalars(select(CaseTask.element_id).where(CaseTask.case_id == found.id,
                                                                   CaseTask.state == CaseTaskState.COMPLETED)))
        done |= set(session.scalars(select(CaseMilestone.element_id).where(CaseMilestone.case_id == found.id)))
        done |= set(session.scalars(select(CaseTimer.element_id).where(CaseTimer.case_id == found.id,
                                                                     CaseTimer.state == TimerState.FIRED)))
        active: set[str] = set()
        if found.state:  # retention's anonymisation wipes the workflow state; the rows above remain
            runtime = store.load(found)
            done |= runtime.completed_elements()
            active = ({t.element_id for t in runtime.ready_tasks()}
                      | {t.element_id for t in runtime.waiting_timers()})
        return DiagramView(pv.process_id, pv.source_file, xml or "", sorted(done - active), sorted(active),
                           pv.version, pv.content_hash)


def case_progress(store: CaseStore, case_id: int) -> tuple[str, datetime | None]:
    """(status, next waiting timer's due time) — cheap, for drivers such as the scenario runner."""
    with store.sessions.reads() as session:
        found = session.execute(_PROGRESS, {"case_id": case_id}).first()
        if found is None:
            raise NotFoundError(f"case {case_id} does not exist")
        return found.status, found.due


# One statement, built once: the scenario runner asks after every step.
_PROGRESS = select(Case.status, select(func.min(CaseTimer.due_at)).where(
    CaseTimer.case_id == Case.id, CaseTimer.state == TimerState.WAITING).scalar_subquery().label("due")).where(
    Case.id == bindparam("case_id"))


def milestones(store: CaseStore, case_id: int) -> list[str]:
    with store.sessions.reads() as session:
        return list(session.scalars(select(CaseMilestone.name).where(CaseMilestone.case_id == case_id)
                                    .order_by(CaseMilestone.seq)))


# What the case file shows of its tasks (`task_info` reads the open ones' columns by these names)
_CASE_FILE_TASK_COLUMNS = (CaseTask.id, CaseTask.element_id, CaseTask.name, CaseTask.lane, CaseTask.form,
                           CaseTask.state, CaseTask.created_at, CaseTask.due_at, CaseTask.ended_at,
                           CaseTask.completed_by, CaseTask.claimed_by, CaseTask.data)


def case_info(session: Session, case: Case) -> CaseInfo:
    """The case file of a case row: milestones, open tasks, history, variables, waiting timers."""
    reached = list(session.scalars(select(CaseMilestone.name).where(CaseMilestone.case_id == case.id)
                                   .order_by(CaseMilestone.seq)))
    # Columns, not entities: a case monitored for years has hundreds of task rows, and building an ORM entity of
    # each cost more than reading it (docs/performance.md, "A long case file").
    rows = session.execute(select(*_CASE_FILE_TASK_COLUMNS).where(CaseTask.case_id == case.id)
                           .order_by(CaseTask.id)).all()
    timers = session.scalars(select(CaseTimer).where(CaseTimer.case_id == case.id,
                                                     CaseTimer.state == TimerState.WAITING)
                             .order_by(CaseTimer.due_at)).all()
    return CaseInfo(
        id=case.id, process_id=case.process_version.process_id, process_version=case.process_version.version,
        client_ref=case.client_ref, team=case.team, status=case.status, started_by=case.started_by,
        started_at=case.started_at, updated_at=case.updated_at, milestones=reached,
        open_tasks=[task_info(r, case) for r in rows if r.state == CaseTaskState.READY],
        history=[{"task_id": r.id, "element_id": r.element_id, "name": r.name, "lane": r.lane,
                  "completed_by": r.completed_by, "completed_at": r.ended_at, "data": r.data}
                 for r in rows if r.state == CaseTaskState.COMPLETED],
        variables=dict(case.variables or {}),
        waiting_timers=[{"element_id": t.element_id, "due_at": t.due_at} for t in timers],
    )


def _instructions(spec: Any, subs: dict[str, Any], element_id: str) -> tuple[str | None, str | None]:
    for s in [spec, *subs.values()]:
        for task_spec in s.task_specs.values():
            if getattr(task_spec, "bpmn_id", None) == element_id:
                ext = getattr(task_spec, "extensions", None) or {}
                return ext.get("instructionsForEndUser"), task_spec.documentation
    return None, None
