"""The engine's use cases: start a case, list and complete tasks, fire due timers, read a case.

Each use case is one transaction that writes the workflow state, the task rows,
timers, milestones and its audit event together. Concurrent changes to the same
case are caught by the case row's version column (optimistic locking).
"""
from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, object_session, sessionmaker

from . import access, audit, clock, deploy, forms, involvement
from .concurrency import RACE_ERRORS, conflict, is_lost_race
from .diagrams import read_directory
from .errors import CaseFailure, CaseNotRunningError, NotAllowedError, NotFoundError, TaskNotReadyError
from .models import Case, CaseMilestone, CaseTask, CaseTimer, DeploymentFile, ProcessVersion
from .runtime import CaseRuntime, StepResult
from .sandbox import make_script_engine
from .script_helpers import make_helpers
from .settings import Settings
from .spiff_state import dump_state, load_specs, load_state
from .states import CaseStatus, CaseTaskState, TimerState
from .text_input import check_start
from .views import SYSTEM, Actor, CaseInfo, CaseSummary, Completion, DiagramView, TaskInfo
from .workdays import calendar_from_settings

_TICK = timedelta(microseconds=1)
_NEW_TIMERS = "meldcode.new_timers"
_OPEN_ROWS = "meldcode.open_rows"
_DECISION = "meldcode.access_decision"
log = logging.getLogger(__name__)


class CaseEngine:
    def __init__(self, sessions: sessionmaker, settings: Settings | None = None):
        self.sessions = sessions
        self.settings = settings or Settings.from_env()
        calendar = calendar_from_settings(self.settings.extra_holidays, self.settings.extra_workdays,
                                          tz=self.settings.timezone)
        self._spec_cache: dict[int, tuple] = {}
        self._forms_cache: dict[int, dict] = {}
        # Called with (case_id, due_at) for every new waiting timer, only after its transaction committed
        # (e.g. to schedule an exact-time Celery task). A failing listener never undoes the change.
        self.timer_listeners: list[Callable[[int, datetime], None]] = []
        event.listen(sessions, "after_commit", self._announce_timers)
        event.listen(sessions, "after_soft_rollback", lambda session, _tx: session.info.pop(_NEW_TIMERS, None))
        self.script_engine = make_script_engine(make_helpers(calendar, self.settings.timezone),
                                                time_limit=self.settings.script_time_limit,
                                                memory_limit_mb=self.settings.script_memory_limit_mb)

    # -- deploy ----------------------------------------------------------------------------
    def deploy_directory(self, directory: Path, deployed_by: str, scenarios=()):
        return self.deploy_files(read_directory(directory), deployed_by, scenarios)

    def deploy_files(self, files: dict[str, bytes], deployed_by: str, scenarios=(), comment: str | None = None):
        """Deploy diagrams + forms. With `scenarios` ([(name, scenario dict)]), a change is deployed only
        if every scenario passes against it in a throwaway database (contract.md); they are stored with the
        deployment, so the studio runs them against every later change (engine/studio/versions.py)."""
        verify = None
        if scenarios:
            from .scenarios import verify_files  # the runner itself drives a CaseEngine

            verify = functools.partial(verify_files, scenarios=scenarios, settings=self.settings)
        with self.sessions.begin() as session:
            results = deploy.deploy_files(session, files, deployed_by, self.settings.max_diagram_bytes, verify,
                                          max_text_length=self.settings.max_text_length)
            from .studio.versions import attach

            attach(session, results, dict(scenarios), comment)
            return results

    # -- start -----------------------------------------------------------------------------
    def start_case(self, process_id: str, client_ref: str, actor: Actor, *, team: str | None = None,
                   data: dict | None = None, version: int | None = None) -> int:
        # Required, encodable, no control characters, within length limits.
        check_start(client_ref, team, data, self.settings.max_text_length)
        now = clock.now()
        with self.sessions.begin() as session:
            query = select(ProcessVersion).where(ProcessVersion.process_id == process_id)
            query = query.where(ProcessVersion.version == version) if version else \
                query.order_by(ProcessVersion.version.desc())
            pv = session.scalars(query.limit(1)).first()
            if pv is None:
                raise NotFoundError(f"process {process_id!r}" + (f" version {version}" if version else "")
                                    + " is not deployed")
            spec, subs = self._specs(session, pv.id)
            runtime, result = CaseRuntime.start(spec, subs, self.script_engine, data)
            case = Case(process_version=pv, client_ref=client_ref.strip(), team=team or actor.team,
                        started_by=actor.username, responsible=actor.username, started_at=now, updated_at=now,
                        status=CaseStatus.RUNNING,
                        state=b"", variables={}, compactions=0)
            session.add(case)
            session.flush()
            self._save(session, case, runtime, result, now)
            audit.record(session, actor.username, "case.start", case_id=case.id, client_ref=case.client_ref,
                         process_id=process_id, version=pv.version)
            return case.id

    # -- tasks -----------------------------------------------------------------------------
    def open_tasks(self, *, case_id: int | None = None, lanes=None, team: str | None = None,
                   actor: Actor | None = None) -> list[TaskInfo]:
        """Open tasks; with `actor`, only those it may work on (engine/access.py)."""
        with self.sessions() as session:
            query = (select(CaseTask, Case).join(Case, Case.id == CaseTask.case_id)
                     .where(CaseTask.state == CaseTaskState.READY).order_by(CaseTask.due_at, CaseTask.id))
            if case_id is not None:
                query = query.where(CaseTask.case_id == case_id)
            if lanes is not None:
                query = query.where(CaseTask.lane.in_(list(lanes)))
            if team is not None:
                query = query.where(Case.team == team)
            if actor is not None:
                query = query.where(access.task_lane_filter(actor, CaseTask.lane, clock.now()))
            return [_task_info(t, c) for t, c in session.execute(query)]

    def task(self, task_id: int, actor: Actor, *, audit_read: bool = True) -> TaskInfo:
        """A task with its form and instructions, for the person who will work on it (audited)."""
        with self._denials_audited(actor, "task.view", task_id=task_id), self.sessions.begin() as session:
            row, case = self._task_row(session, task_id, actor, "task.view")
            if audit_read:
                audit.record(session, actor.username, "task.view", case_id=case.id, task_id=row.id,
                             client_ref=case.client_ref, **session.info[_DECISION].audit_details())
            pv = case.process_version
            schema = pv.forms.get(row.form) if row.form else None
            instructions, documentation = _instructions(*self._specs(session, pv.id), row.element_id)
            return _task_info(row, case, schema=schema, instructions=instructions, documentation=documentation)

    def complete_task(self, task_id: int, actor: Actor, data: dict) -> Completion:
        now = clock.now()
        try:
            with self.sessions.begin() as session:
                row, case = self._task_row(session, task_id, actor, "task.complete")
                if case.status != CaseStatus.RUNNING:
                    raise CaseNotRunningError(f"case {case.id} is {case.status}; its tasks can no longer be completed")
                if row.state != CaseTaskState.READY:
                    raise TaskNotReadyError(f"task {row.id} ({row.name}) is already {row.state}")
                if row.claimed_by and row.claimed_by != actor.username:
                    raise NotAllowedError(f"task {row.id} is claimed by {row.claimed_by}")
                schema = self._forms(session, case.process_version_id).get(row.form) if row.form \
                    else {"type": "object"}
                forms.validate(schema, data, self.settings.max_text_length)
                runtime = self._load(case)
                result = runtime.complete(row.spiff_task_id, data)
                row.state, row.ended_at, row.completed_by, row.data = CaseTaskState.COMPLETED, now, actor.username, dict(data)
                self._save(session, case, runtime, result, now)
                audit.record(session, actor.username, "task.complete", case_id=case.id, task_id=row.id,
                             client_ref=case.client_ref, element_id=row.element_id,
                             **session.info[_DECISION].audit_details(),
                             fields=sorted(data), milestones=[m for m, _ in result.milestones])
                return Completion(case.id, case.status, [m for m, _ in result.milestones],
                                  sorted(r.id for r in session.info.pop(_OPEN_ROWS)))
        except RACE_ERRORS as exc:
            if not is_lost_race(exc):
                raise
            raise conflict() from None
        except NotAllowedError as exc:
            self._audit_denied(actor, "task.complete", task_id, str(exc))
            raise

    def claim_task(self, task_id: int, actor: Actor, release: bool = False) -> None:
        action = "task.release" if release else "task.claim"
        with self._denials_audited(actor, action, task_id=task_id), self.sessions.begin() as session:
            row, case = self._task_row(session, task_id, actor, "task.claim")
            if row.state != CaseTaskState.READY:
                raise TaskNotReadyError(f"task {row.id} is {row.state}")
            if release:
                if row.claimed_by not in (None, actor.username):
                    raise NotAllowedError(f"task {row.id} is claimed by {row.claimed_by}")
                row.claimed_by = None
            else:
                if row.claimed_by not in (None, actor.username):
                    raise NotAllowedError(f"task {row.id} is already claimed by {row.claimed_by}")
                row.claimed_by = actor.username
            audit.record(session, actor.username, "task.release" if release else "task.claim",
                         case_id=case.id, task_id=row.id, client_ref=case.client_ref)

    # -- case events (engine/events.py) ------------------------------------------------------
    def available_events(self, case_id: int, actor: Actor | None = None):
        """Events the case can take now (with `actor`: those the actor may raise) — for the buttons."""
        from . import events

        return events.available_events(self, case_id, actor)

    def event_lanes(self, case_id: int) -> dict[str, str | None]:
        """Every event the case's diagram can catch (waiting or not) -> the lane that may raise it."""
        from . import events

        return events.event_lanes(self, case_id)

    def raise_event(self, case_id: int, event: str, actor: Actor, data: dict) -> Completion:
        """Raise a case event (nieuwe_signalen, hulp_geweigerd, verhuisd, ...); raises EventNotAvailable."""
        from . import events

        return events.raise_event(self, case_id, event, actor, data)

    # -- timers ----------------------------------------------------------------------------
    def due_timer_cases(self, now: datetime, limit: int = 500) -> list[int]:
        with self.sessions() as session:
            query = (select(CaseTimer.case_id).where(CaseTimer.state == TimerState.WAITING, CaseTimer.due_at <= now)
                     .group_by(CaseTimer.case_id).limit(limit))
            return list(session.scalars(query))

    def next_timer_due(self) -> datetime | None:
        with self.sessions() as session:
            return session.scalars(select(CaseTimer.due_at).where(CaseTimer.state == TimerState.WAITING)
                                   .order_by(CaseTimer.due_at).limit(1)).first()

    def fire_due_timers(self, now: datetime | None = None, *, limit: int | None = None) -> int:
        """Fire every timer due at `now` (default: the engine clock), one case per transaction.

        Safe to run in several workers at once: on PostgreSQL each claims its case with
        `SELECT ... FOR UPDATE SKIP LOCKED`, so a case is fired by exactly one of them; and
        firing is idempotent, because a fired timer is no longer waiting.
        """
        now = now or clock.now()
        fired, passed = 0, set()
        while limit is None or fired < limit:
            case_id, count = self._fire_one(now, None, passed)
            if case_id is None:
                break
            fired += count
        return fired

    def fire_case_timers(self, case_id: int, now: datetime | None = None) -> int:
        """Fire the due timers of one case (e.g. at its exact due time); 0 if another worker holds it."""
        return self._fire_one(now or clock.now(), case_id, set())[1]

    def _fire_one(self, now: datetime, case_id: int | None, passed: set[int]) -> tuple[int | None, int]:
        due_cases = select(CaseTimer.case_id).where(CaseTimer.state == TimerState.WAITING, CaseTimer.due_at <= now)
        query = select(Case).where(Case.status == CaseStatus.RUNNING, Case.id.in_(due_cases)).order_by(Case.id).limit(1)
        if case_id is not None:
            query = query.where(Case.id == case_id)
        if passed:
            query = query.where(Case.id.not_in(passed))
        claimed = None
        try:
            # SpiffWorkflow fires a timer only when strictly past due; we promise "due <= now".
            with clock.frozen_at(now + _TICK), self.sessions.begin() as session:
                if session.get_bind().dialect.name == "postgresql":
                    query = query.with_for_update(skip_locked=True)
                case = session.scalars(query).first()
                if case is None:
                    return None, 0
                claimed = case.id
                passed.add(claimed)  # whatever happens, this sweep does not take it twice
                # The lock may have waited for another worker that fired these timers meanwhile.
                still_due = session.scalar(select(func.count()).select_from(CaseTimer).where(
                    CaseTimer.case_id == claimed, CaseTimer.state == TimerState.WAITING, CaseTimer.due_at <= now))
                if not still_due:
                    return claimed, 0
                runtime = self._load(case)
                result = runtime.fire_timers()
                fired = self._save(session, case, runtime, result, now)
                audit.record(session, SYSTEM.username, "timer.fire", case_id=case.id, client_ref=case.client_ref,
                             timers=fired, milestones=[m for m, _ in result.milestones])
                return case.id, len(fired)
        except RACE_ERRORS as exc:
            if not is_lost_race(exc):
                raise
            # Someone else moved the case meanwhile; its timers are taken by the next sweep.
            return claimed, 0
        except CaseFailure as exc:
            self._timer_failed(claimed, now, str(exc))
            return claimed, 0

    # -- read ------------------------------------------------------------------------------
    def case(self, case_id: int, actor: Actor, *, audit_read: bool = True, present: Callable | None = None):
        """A case file as far as `actor` may see it (engine/access.py), audited. With `present`, the result is
        `present(info, decision)`, called inside the audited transaction: a failing presentation (e.g. a page
        that cannot render) is audited as an error, not as a successful view."""
        try:
            with self._denials_audited(actor, "case.view", case_id=case_id), self.sessions.begin() as session:
                case = session.get(Case, case_id)
                if case is None:
                    raise NotFoundError(f"case {case_id} does not exist")
                decision = access.check_case(session, actor, case, clock.now())
                info = access.restrict(self._case_info(session, case), decision,
                                       access.melding_task_ids(session, case.id))
                result = present(info, decision) if present is not None else info
                if audit_read:
                    audit.record(session, actor.username, "case.view", case_id=case.id, client_ref=case.client_ref,
                                 **decision.audit_details())
                return result
        except (access.AccessDenied, NotFoundError):
            raise
        except Exception as exc:
            if present is not None and audit_read:
                self.record_access(actor, "case.view", outcome="error", case_id=case_id,
                                   reason=f"{type(exc).__name__}: {str(exc)[:200]}")
            raise

    def case_access(self, case_id: int, actor: Actor) -> access.Decision | None:
        """Whether and how much `actor` may see of a case (None: no such case). Not audited: a decision."""
        with self.sessions() as session:
            facts = access.load_facts(session, case_id, actor, clock.now())
            return None if facts is None else access.decide_case(actor, facts)

    def task_access(self, task_id: int, actor: Actor) -> tuple[int, access.Decision] | None:
        """(case id, whether `actor` may work on the task) — None: no such task. Not audited: a decision."""
        with self.sessions() as session:
            found = session.execute(select(CaseTask.lane, Case).join(Case, Case.id == CaseTask.case_id)
                                    .where(CaseTask.id == task_id)).first()
            if found is None:
                return None
            lane, case = found
            return case.id, access.decide_task(actor, access.load_facts(session, case, actor, clock.now()), lane)

    def list_cases(self, *, team: str | None = None, status: str | None = None, limit: int = 200,
                   actor: Actor | None = None) -> list[CaseSummary]:
        """Cases (newest first) without their state; for overviews. With `actor`: those it may read."""
        with self.sessions() as session:
            query = select(Case, ProcessVersion).join(ProcessVersion).order_by(Case.id.desc()).limit(limit)
            if actor is not None:
                query = query.where(access.case_filter(actor, clock.now()))
            if team is not None:
                query = query.where(Case.team == team)
            if status is not None:
                query = query.where(Case.status == status)
            return [CaseSummary(c.id, pv.process_id, pv.version, c.client_ref, c.team, c.status, c.started_by,
                                c.started_at, c.updated_at) for c, pv in session.execute(query)]

    def case_team(self, case_id: int) -> str | None:
        """The team owning a case, for access decisions (raises NotFoundError)."""
        with self.sessions() as session:
            team = session.execute(select(Case.team).where(Case.id == case_id)).first()
            if team is None:
                raise NotFoundError(f"case {case_id} does not exist")
            return team[0]

    def case_diagram(self, case_id: int, actor: Actor | None = None) -> DiagramView:
        """The BPMN source a case runs on, with the elements it completed and where it is now. With `actor`, only
        for someone who may read the case (engine/access.py; a refusal is audited)."""
        with self._denials_audited(actor, "case.diagram", case_id=case_id), self.sessions() as session:
            case = session.get(Case, case_id)
            if case is None:
                raise NotFoundError(f"case {case_id} does not exist")
            if actor is not None:
                access.check_case(session, actor, case, clock.now())
            pv = case.process_version
            files = {f.filename: f.content for f in session.scalars(
                select(DeploymentFile).where(DeploymentFile.deployment_id == pv.deployment_id))}
            done = set(session.scalars(select(CaseTask.element_id).where(CaseTask.case_id == case.id,
                                                                       CaseTask.state == CaseTaskState.COMPLETED)))
            done |= set(session.scalars(select(CaseMilestone.element_id).where(CaseMilestone.case_id == case.id)))
            done |= set(session.scalars(select(CaseTimer.element_id).where(CaseTimer.case_id == case.id,
                                                                         CaseTimer.state == TimerState.FIRED)))
            active = set()
            if case.state:  # retention's anonymisation wipes the workflow state; the rows above remain
                runtime = self._load(case)
                done |= runtime.completed_elements()
                active = ({t.element_id for t in runtime.ready_tasks()}
                          | {t.element_id for t in runtime.waiting_timers()})
            return DiagramView(pv.process_id, pv.source_file, files.get(pv.source_file, ""), sorted(done - active),
                               sorted(active))

    def record_access(self, actor: Actor, action: str, *, outcome: str, case_id: int | None = None,
                      task_id: int | None = None, **details) -> None:
        """Audit an access decision made outside the engine (e.g. a denied page view)."""
        with self.sessions.begin() as session:
            client_ref = None
            if case_id is not None:
                case = session.get(Case, case_id)
                client_ref = case.client_ref if case else None
            audit.record(session, actor.username, action, outcome=outcome, case_id=case_id, task_id=task_id,
                         client_ref=client_ref, **details)

    def case_progress(self, case_id: int) -> tuple[str, datetime | None]:
        """(status, next waiting timer's due time) — cheap, for drivers such as the scenario runner."""
        with self.sessions() as session:
            status = session.scalar(select(Case.status).where(Case.id == case_id))
            if status is None:
                raise NotFoundError(f"case {case_id} does not exist")
            due = session.scalar(select(func.min(CaseTimer.due_at)).where(CaseTimer.case_id == case_id,
                                                                          CaseTimer.state == TimerState.WAITING))
            return status, due

    def milestones(self, case_id: int) -> list[str]:
        with self.sessions() as session:
            return list(session.scalars(select(CaseMilestone.name).where(CaseMilestone.case_id == case_id)
                                        .order_by(CaseMilestone.seq)))

    # -- internals -------------------------------------------------------------------------
    def _task_row(self, session: Session, task_id: int, actor: Actor, action: str):
        found = session.execute(select(CaseTask, Case).join(Case, Case.id == CaseTask.case_id)
                                .where(CaseTask.id == task_id)).first()
        if found is None:
            raise NotFoundError(f"task {task_id} does not exist")
        row, case = found
        session.info[_DECISION] = access.check_task(session, actor, case, row.lane, row.id, clock.now())
        return row, case

    @contextlib.contextmanager
    def _denials_audited(self, actor: Actor, action: str, *, case_id: int | None = None,
                         task_id: int | None = None):
        """Audit an access refusal (engine/access.py) as denied, in its own transaction, and pass it on."""
        try:
            yield
        except access.AccessDenied as exc:
            if task_id is not None:
                self._audit_denied(actor, action, task_id, str(exc))
            else:
                self.record_access(actor, action, outcome="denied", case_id=case_id, reason=str(exc))
            raise

    def _announce_timers(self, session: Session) -> None:
        for case_id, due_at in session.info.pop(_NEW_TIMERS, []):
            for listener in self.timer_listeners:
                try:
                    listener(case_id, due_at)
                except Exception:  # noqa: BLE001 - the sweep still finds the timer; see log
                    log.exception("timer listener failed for case %s (due %s)", case_id, due_at)

    def _timer_failed(self, case_id: int, now: datetime, reason: str) -> None:
        """A diagram error while firing: park the due timers (no retry storm) and leave an audit trail."""
        with self.sessions.begin() as session:
            case = session.get(Case, case_id)
            for timer in session.scalars(select(CaseTimer).where(CaseTimer.case_id == case_id,
                                                                 CaseTimer.state == TimerState.WAITING,
                                                                 CaseTimer.due_at <= now)):
                timer.state, timer.ended_at, timer.last_error = TimerState.FAILED, now, reason[:1000]  # shown to the beheerder
            audit.record(session, SYSTEM.username, "timer.fire", outcome="error", case_id=case_id,
                         client_ref=case.client_ref if case else None, reason=reason)

    def _audit_denied(self, actor: Actor, action: str, task_id: int, reason: str) -> None:
        with self.sessions.begin() as session:
            row = session.get(CaseTask, task_id)
            case = session.get(Case, row.case_id) if row is not None else None
            audit.record(session, actor.username, action, outcome="denied", task_id=task_id,
                         case_id=case.id if case else None, client_ref=case.client_ref if case else None,
                         reason=reason)

    def _specs(self, session: Session, process_version_id: int):
        """Restored specs of a process version; versions are immutable, so cache them for good."""
        specs = self._spec_cache.get(process_version_id)
        if specs is None:
            spec_json = session.scalar(select(ProcessVersion.spec_json).where(ProcessVersion.id == process_version_id))
            specs = self._spec_cache[process_version_id] = load_specs(spec_json)
        return specs

    def _forms(self, session: Session, process_version_id: int) -> dict:
        """Form schemas of a process version (immutable, cached like the specs)."""
        forms = self._forms_cache.get(process_version_id)
        if forms is None:
            forms = self._forms_cache[process_version_id] = session.scalar(
                select(ProcessVersion.forms).where(ProcessVersion.id == process_version_id))
        return forms

    def _load(self, case: Case) -> CaseRuntime:
        spec, subs = self._specs(object_session(case), case.process_version_id)
        return CaseRuntime(load_state(case.state, spec, subs), self.script_engine)

    def _save(self, session: Session, case: Case, runtime: CaseRuntime, result: StepResult, now) -> list[str]:
        """Write state, task rows, timers and milestones of one change. Returns the timers that fired."""
        with session.no_autoflush:  # one flush at the end instead of one per query
            fired = self._sync(session, case, runtime, result, now)
            involvement.record(session, case, session.info.get(_OPEN_ROWS, []), result.milestones, now)
        session.flush()
        return fired

    def _sync(self, session: Session, case: Case, runtime: CaseRuntime, result: StepResult, now) -> list[str]:
        case.state = dump_state(runtime.workflow)
        case.variables = _json_safe(runtime.data())
        case.updated_at = now
        case.compactions = (case.compactions or 0) + result.compactions
        if runtime.completed:
            case.status, case.ended_at = CaseStatus.COMPLETED, now

        # Re-check the state in Python: rows changed earlier in this unit of work are not flushed yet.
        open_rows = {r.spiff_task_id: r for r in session.scalars(
            select(CaseTask).where(CaseTask.case_id == case.id, CaseTask.state == CaseTaskState.READY)) if r.state == CaseTaskState.READY}
        ready = {t.spiff_task_id: t for t in runtime.ready_tasks()}
        for spiff_id, row in open_rows.items():
            if spiff_id not in ready:
                row.state, row.ended_at = CaseTaskState.CANCELLED, now
        still_open = [row for spiff_id, row in open_rows.items() if spiff_id in ready]
        for spiff_id, task in ready.items():
            if spiff_id not in open_rows:
                row = CaseTask(case_id=case.id, spiff_task_id=spiff_id, element_id=task.element_id,
                               name=task.name, lane=task.lane, form=task.form, state=CaseTaskState.READY,
                               created_at=now, due_at=task.due_at)
                session.add(row)
                still_open.append(row)
        session.info[_OPEN_ROWS] = still_open  # their ids exist after the flush

        waiting_rows = {r.spiff_task_id: r for r in session.scalars(
            select(CaseTimer).where(CaseTimer.case_id == case.id, CaseTimer.state == TimerState.WAITING))
            if r.state == TimerState.WAITING}
        waiting = {t.spiff_task_id: t for t in runtime.waiting_timers()}
        fired = []
        for spiff_id, row in waiting_rows.items():
            current = waiting.get(spiff_id)
            if current is None:
                row.ended_at = now
                row.state = TimerState.FIRED if row.due_at <= now else TimerState.CANCELLED
                if row.state == TimerState.FIRED:
                    fired.append(row.element_id)
            elif current.due_at != row.due_at:
                if row.due_at <= now:  # a cycle timer fired and now waits for its next occurrence
                    fired.append(row.element_id)
                row.due_at = current.due_at
        for spiff_id, timer in waiting.items():
            if spiff_id not in waiting_rows:
                session.add(CaseTimer(case_id=case.id, spiff_task_id=spiff_id, element_id=timer.element_id,
                                      due_at=timer.due_at, state=TimerState.WAITING, created_at=now))
                session.info.setdefault(_NEW_TIMERS, []).append((case.id, timer.due_at))

        if result.milestones:
            seq = 1 + (session.scalar(select(func.max(CaseMilestone.seq)).where(CaseMilestone.case_id == case.id))
                       or 0)
            for offset, (name, element_id) in enumerate(result.milestones):
                session.add(CaseMilestone(case_id=case.id, seq=seq + offset, name=name, element_id=element_id,
                                          reached_at=now))
        return fired

    def _case_info(self, session: Session, case: Case) -> CaseInfo:
        milestones = list(session.scalars(select(CaseMilestone.name).where(CaseMilestone.case_id == case.id)
                                          .order_by(CaseMilestone.seq)))
        rows = session.scalars(select(CaseTask).where(CaseTask.case_id == case.id).order_by(CaseTask.id)).all()
        timers = session.scalars(select(CaseTimer).where(CaseTimer.case_id == case.id, CaseTimer.state == TimerState.WAITING)
                                 .order_by(CaseTimer.due_at)).all()
        return CaseInfo(
            id=case.id, process_id=case.process_version.process_id, process_version=case.process_version.version,
            client_ref=case.client_ref, team=case.team, status=case.status, started_by=case.started_by,
            started_at=case.started_at, updated_at=case.updated_at, milestones=milestones,
            open_tasks=[_task_info(r, case) for r in rows if r.state == CaseTaskState.READY],
            history=[{"task_id": r.id, "element_id": r.element_id, "name": r.name, "lane": r.lane,
                      "completed_by": r.completed_by, "completed_at": r.ended_at, "data": r.data}
                     for r in rows if r.state == CaseTaskState.COMPLETED],
            variables=dict(case.variables or {}),
            waiting_timers=[{"element_id": t.element_id, "due_at": t.due_at} for t in timers],
        )


def _task_info(row: CaseTask, case: Case, **extra) -> TaskInfo:
    return TaskInfo(id=row.id, case_id=case.id, client_ref=case.client_ref, element_id=row.element_id,
                    name=row.name, lane=row.lane, state=row.state, due_at=row.due_at, created_at=row.created_at,
                    claimed_by=row.claimed_by, form_name=row.form, form_schema=extra.get("schema"),
                    instructions=extra.get("instructions"), documentation=extra.get("documentation"),
                    case_status=case.status)


def _instructions(spec, subs, element_id: str):
    for s in [spec, *subs.values()]:
        for task_spec in s.task_specs.values():
            if getattr(task_spec, "bpmn_id", None) == element_id:
                ext = getattr(task_spec, "extensions", None) or {}
                return ext.get("instructionsForEndUser"), task_spec.documentation
    return None, None


def _json_safe(data: dict) -> dict:
    return {k: v for k, v in data.items() if isinstance(v, (str, int, float, bool, list, dict, type(None)))}
