"""What every use case shares: loading and saving a case's workflow state with its rows, and auditing refusals.

`CaseStore` holds the session factory, the settings and the script engine, caches the restored specs and
form schemas of process versions (immutable, so cached for good), and writes one change of a case — its
serialized state, task rows, timers, milestones and involvement — in the caller's transaction. The use-case
modules (deploying, starting, completing, timers, reading, events) take a store; `CaseEngine` is their facade.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, bindparam, exists, select
from sqlalchemy.orm import Session, aliased, object_session

# Importing drafts has an effect: a task leaving the ready state drops its drafts in the same transaction, in
# every process that changes tasks (web, workers firing timers, the CLI), not only where the web imported it.
from . import access, audit, clock, drafts, involvement
from .db import Sessions
from .errors import NotFoundError
from .models import Case, CaseMilestone, CaseTask, CaseTimer, ProcessVersion, TaskDraft
from .runtime import CaseRuntime, StepResult
from .settings import Settings
from .spiff_state import dump_state, load_specs, load_state
from .states import CaseStatus, CaseTaskState, TimerState
from .views import Actor, TaskInfo

# Keys in `Session.info` for bookkeeping within one transaction.
NEW_TIMERS = "meldcode.new_timers"  # (case id, due at) of timers created; announced after the commit
OPEN_ROWS = "meldcode.open_rows"  # the case's open task rows after a sync; their ids exist after the flush
DECISION = "meldcode.access_decision"  # the access decision of the task row being worked on

Specs = tuple[Any, dict[str, Any]]  # (SpiffWorkflow process spec, subprocess specs by name)


class CaseStore:
    def __init__(self, sessions: Sessions, settings: Settings, script_engine: Any) -> None:
        self.sessions = sessions
        self.settings = settings
        self.script_engine = script_engine
        self._spec_cache: dict[int, Specs] = {}
        self._forms_cache: dict[int, dict[str, Any]] = {}

    # -- state --------------------------------------------------------------------------------
    def specs(self, session: Session, process_version_id: int) -> Specs:
        """Restored specs of a process version; versions are immutable, so cache them for good."""
        specs = self._spec_cache.get(process_version_id)
        if specs is None:
            spec_json = session.scalar(select(ProcessVersion.spec_json).where(ProcessVersion.id == process_version_id))
            assert spec_json is not None, f"process version {process_version_id} has its spec"
            specs = self._spec_cache[process_version_id] = load_specs(spec_json)
        return specs

    def forms(self, session: Session, process_version_id: int) -> dict[str, Any]:
        """Form schemas of a process version (immutable, cached like the specs)."""
        forms = self._forms_cache.get(process_version_id)
        if forms is None:
            forms = session.scalar(select(ProcessVersion.forms).where(ProcessVersion.id == process_version_id))
            assert forms is not None, f"process version {process_version_id} has its forms"
            self._forms_cache[process_version_id] = forms
        return forms

    def load(self, case: Case) -> CaseRuntime:
        session = object_session(case)
        assert session is not None, "a case is loaded within its session"
        spec, subs = self.specs(session, case.process_version_id)
        return CaseRuntime(load_state(case.state, spec, subs), self.script_engine)

    def save(self, session: Session, case: Case, runtime: CaseRuntime, result: StepResult,
             now: datetime) -> list[str]:
        """Write state, task rows, timers and milestones of one change. Returns the timers that fired."""
        with session.no_autoflush:  # one flush at the end instead of one per query
            fired = sync(session, case, runtime, result, now)
            involvement.record(session, case, session.info.get(OPEN_ROWS, []), result.milestones, now)
        session.flush()
        return fired

    def waiting_timers(self, session: Session, case: Case) -> list[CaseTimer]:
        """The case's waiting timers, read now with its open task rows (one statement, which `save` in this
        transaction then does not repeat). Read after the case row is locked, it sees what another worker
        committed before the lock was granted."""
        found = session.execute(_OPEN_ROWS, {"case_id": case.id}).all()
        session.info[_PREFETCHED] = (session.get_transaction(), case.id, found)
        return [timer for _, _, timer in found if timer is not None and timer.state == TimerState.WAITING]

    # -- access and its audit ---------------------------------------------------------------
    def task_row(self, session: Session, task_id: int, actor: Actor, action: str,
                 open_rows: bool = False) -> tuple[CaseTask, Case]:
        """A task row and its case, if `actor` may work on it (the decision is kept in `session.info`). With
        `open_rows`, the same statement reads the case's open task rows and waiting timers for `sync`."""
        now = clock.now()
        if not open_rows:
            row, case, facts = access.task_with_facts(session, actor, task_id, now)
        else:
            found = session.execute(access.built_with_facts("task+open", _task_with_open_rows, actor),
                                    access.facts_params(actor, now, task_id=task_id)).all()
            if not found:
                raise NotFoundError(f"task {task_id} does not exist")
            row, case = found[0][0], found[0][1]
            facts = access.facts_of(found[0], case.id, case.team)
            session.info[_PREFETCHED] = (session.get_transaction(), case.id, [r[2:5] for r in found])
        session.info[DECISION] = access.check_task(session, actor, case, row.lane, row.id, now, facts)
        return row, case

    @contextlib.contextmanager
    def denials_audited(self, actor: Actor | None, action: str, *, case_id: int | None = None,
                        task_id: int | None = None) -> Iterator[None]:
        """Audit an access refusal (engine/access.py) as denied, in its own transaction, and pass it on."""
        try:
            yield
        except access.AccessDenied as exc:
            assert actor is not None, "only an actor is refused"
            if task_id is not None:
                self.audit_denied(actor, action, task_id, str(exc))
            else:
                self.record_access(actor, action, outcome="denied", case_id=case_id, reason=str(exc))
            raise

    def audit_denied(self, actor: Actor, action: str, task_id: int, reason: str) -> None:
        with self.sessions.begin() as session:
            row = session.get(CaseTask, task_id)
            case = session.get(Case, row.case_id) if row is not None else None
            audit.record(session, actor.username, action, outcome="denied", task_id=task_id,
                         case_id=case.id if case else None, client_ref=case.client_ref if case else None,
                         reason=reason)

    def record_access(self, actor: Actor, action: str, *, outcome: str, case_id: int | None = None,
                      task_id: int | None = None, **details: Any) -> None:
        """Audit an access decision made outside the engine (e.g. a denied page view)."""
        with self.sessions.begin() as session:
            client_ref = None
            if case_id is not None:
                case = session.get(Case, case_id)
                client_ref = case.client_ref if case else None
            audit.record(session, actor.username, action, outcome=outcome, case_id=case_id, task_id=task_id,
                         client_ref=client_ref, **details)


def sync(session: Session, case: Case, runtime: CaseRuntime, result: StepResult, now: datetime) -> list[str]:
    """Bring the case row, its open task rows, waiting timers and milestones in line with the runtime."""
    case.state = dump_state(runtime.workflow)
    case.variables = json_safe(runtime.data())
    case.updated_at = now
    case.compactions = (case.compactions or 0) + result.compactions
    if runtime.completed:
        case.status, case.ended_at = CaseStatus.COMPLETED, now

    open_rows, waiting_rows = _open_rows(session, case)
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
    session.info[OPEN_ROWS] = still_open  # their ids exist after the flush

    waiting = {t.spiff_task_id: t for t in runtime.waiting_timers()}
    fired = []
    for spiff_id, timer_row in waiting_rows.items():
        current = waiting.get(spiff_id)
        if current is None:
            timer_row.ended_at = now
            timer_row.state = TimerState.FIRED if timer_row.due_at <= now else TimerState.CANCELLED
            if timer_row.state == TimerState.FIRED:
                fired.append(timer_row.element_id)
        elif current.due_at != timer_row.due_at:
            if timer_row.due_at <= now:  # a cycle timer fired and now waits for its next occurrence
                fired.append(timer_row.element_id)
            timer_row.due_at = current.due_at
    for spiff_id, timer in waiting.items():
        if spiff_id not in waiting_rows:
            session.add(CaseTimer(case_id=case.id, spiff_task_id=spiff_id, element_id=timer.element_id,
                                  due_at=timer.due_at, state=TimerState.WAITING, created_at=now))
            session.info.setdefault(NEW_TIMERS, []).append((case.id, timer.due_at))

    # Numbered from the case row, whose optimistic lock makes two steps of one case never number alike.
    for name, element_id in result.milestones:
        case.last_milestone_seq = (case.last_milestone_seq or 0) + 1
        session.add(CaseMilestone(case_id=case.id, seq=case.last_milestone_seq, name=name, element_id=element_id,
                                  reached_at=now))
    return fired


_Open = aliased(CaseTask, name="open_task")
_PREFETCHED = "meldcode.prefetched_open_rows"  # (transaction, case id, rows of _OPEN_ROWS) read ahead of `sync`


def _open_rows_of(query: access.AnySelect) -> access.AnySelect:
    """`query` (one case) with the case's open task rows, whether each has a draft, and its waiting timers: two
    outer joins (a case has a few of each, so their product stays small)."""
    return (query.add_columns(_Open, exists().where(TaskDraft.task_id == _Open.id), CaseTimer)
            .outerjoin(_Open, and_(_Open.case_id == Case.id, _Open.state == CaseTaskState.READY))
            .outerjoin(CaseTimer, and_(CaseTimer.case_id == Case.id, CaseTimer.state == TimerState.WAITING)))


def _task_with_open_rows() -> access.AnySelect:
    return _open_rows_of(select(CaseTask, Case).join(Case, Case.id == CaseTask.case_id)
                         .where(CaseTask.id == bindparam("task_id")))


# Built once (building a statement costs more than running it).
_OPEN_ROWS = _open_rows_of(select().select_from(Case).where(Case.id == bindparam("case_id")))


def _open_rows(session: Session, case: Case) -> tuple[dict[str, CaseTask], dict[str, CaseTimer]]:
    """The case's open task rows and waiting timers by SpiffWorkflow id, in one statement, or none when the
    task row of this transaction brought them (`CaseStore.task_row`). Tasks read without a draft are noted for
    engine/drafts.py, which then deletes none when they finish."""
    if case.id is None:  # a case being started has neither
        return {}, {}
    prefetched = session.info.pop(_PREFETCHED, None)
    if prefetched is not None and prefetched[0] is session.get_transaction() and prefetched[1] == case.id:
        found = prefetched[2]
    else:
        found = session.execute(_OPEN_ROWS, {"case_id": case.id}).all()
    tasks: dict[str, CaseTask] = {}
    timers: dict[str, CaseTimer] = {}
    draftless: set[int] = set()
    for task, drafted, timer in found:
        # Re-check the state in Python: rows changed earlier in this unit of work are not flushed yet.
        if task is not None:
            if not drafted:  # also the task being completed (in Python no longer ready)
                draftless.add(task.id)
            if task.state == CaseTaskState.READY:
                tasks[task.spiff_task_id] = task
        if timer is not None and timer.state == TimerState.WAITING:
            timers[timer.spiff_task_id] = timer
    drafts.note_draftless(session, draftless)
    return tasks, timers


def task_info(row: CaseTask | Row[Any], case: Case, **extra: Any) -> TaskInfo:
    """A task's view; `row` is its entity or a row of its columns by name (engine/reading.py `case_info`)."""
    return TaskInfo(id=row.id, case_id=case.id, client_ref=case.client_ref, element_id=row.element_id,
                    name=row.name, lane=row.lane, state=row.state, due_at=row.due_at, created_at=row.created_at,
                    claimed_by=row.claimed_by, form_name=row.form, form_schema=extra.get("schema"),
                    instructions=extra.get("instructions"), documentation=extra.get("documentation"),
                    case_status=case.status)


def json_safe(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if isinstance(v, (str, int, float, bool, list, dict, type(None)))}
