"""`CaseEngine`: the facade of the engine's use cases, built once per process.

Each use case lives in a module named for what it does and takes the shared `CaseStore`
(engine/case_store.py: loading and saving a case's state with its rows, auditing refusals):

- engine/deploying.py — deploy diagrams and forms;
- engine/starting.py — start a case;
- engine/completing.py — complete, claim and release a task;
- engine/timers.py — due timers and firing them;
- engine/reading.py — tasks, a case file, case lists, the diagram of a case, access decisions;
- engine/events.py — case events (nieuwe signalen, verhuisd, ...).

Each use case is one transaction that writes the workflow state, the task rows, timers, milestones and its
audit event together. Concurrent changes to the same case are caught by the case row's version column
(optimistic locking). Callers use the methods below; each delegates to its use-case module.
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from . import access, clock, completing, deploying, reading, starting, timers
from .case_store import DECISION as _DECISION  # noqa: F401 - kept for modules that still read it from here
from .case_store import NEW_TIMERS, CaseStore, Specs
from .case_store import OPEN_ROWS as _OPEN_ROWS  # noqa: F401 - engine/events.py reads it from here
from .db import Sessions, shared_read
from .lookups import TaskScope
from .models import Case, CaseTask
from .runtime import CaseRuntime, StepResult
from .sandbox import make_script_engine
from .script_helpers import make_helpers
from .settings import Settings
from .views import Actor, CaseInfo, CaseSummary, Completion, DiagramView, TaskInfo
from .workdays import calendar_from_settings

__all__ = ["Actor", "CaseEngine", "TaskInfo"]
log = logging.getLogger(__name__)


class CaseEngine:
    def __init__(self, sessions: Sessions, settings: Settings | None = None) -> None:
        clock.install()  # SpiffWorkflow's timers read the engine clock from here on
        settings = settings or Settings.from_env()
        # The one working-day calendar of this engine: diagram scripts and the workers' reminders count with it.
        self.calendar = calendar_from_settings(settings.extra_holidays, settings.extra_workdays, tz=settings.timezone)
        script_engine = make_script_engine(make_helpers(self.calendar, settings.timezone),
                                           time_limit=settings.script_time_limit,
                                           memory_limit_mb=settings.script_memory_limit_mb)
        self._store = CaseStore(sessions, settings, script_engine)
        # Called with (case_id, due_at) for every new waiting timer, only after its transaction committed
        # (e.g. to schedule an exact-time Celery task). A failing listener never undoes the change.
        self.timer_listeners: list[Callable[[int, datetime], None]] = []
        event.listen(sessions, "after_commit", self._announce_timers)
        event.listen(sessions, "after_soft_rollback", lambda session, _tx: session.info.pop(NEW_TIMERS, None))

    @property
    def sessions(self) -> Sessions:
        return self._store.sessions

    @contextlib.contextmanager
    def one_transaction(self) -> Iterator[None]:
        """The engine's sessions share one transaction inside (engine/db.py `shared_read`), committed when the
        block ends and rolled back with all it wrote when it raises: for a page of reads and the audit event that
        names what it showed (a list), one BEGIN and COMMIT instead of a pair per read. Write the audit event
        last: its append holds the audit chain's head until the commit. Not around a use case that can be
        refused: the refusal's audit event would be rolled back with it."""
        with self._store.sessions.begin() as session, shared_read(session):
            yield

    @property
    def settings(self) -> Settings:
        return self._store.settings

    @property
    def script_engine(self) -> Any:
        return self._store.script_engine

    # -- deploy (engine/deploying.py) -------------------------------------------------------
    def deploy_directory(self, directory: Path, deployed_by: str,
                         scenarios: Sequence[tuple[str, dict[str, Any]]] = ()) -> Any:
        return deploying.deploy_directory(self._store, directory, deployed_by, scenarios)

    def deploy_files(self, files: dict[str, bytes], deployed_by: str,
                     scenarios: Sequence[tuple[str, dict[str, Any]]] = (), comment: str | None = None) -> Any:
        return deploying.deploy_files(self._store, files, deployed_by, scenarios, comment)

    # -- start (engine/starting.py) ---------------------------------------------------------
    def start_case(self, process_id: str, client_ref: str, actor: Actor, *, team: str | None = None,
                   data: dict[str, Any] | None = None, version: int | None = None) -> int:
        return starting.start_case(self._store, process_id, client_ref, actor, team=team, data=data, version=version)

    # -- tasks (engine/reading.py, engine/completing.py) ------------------------------------
    def open_tasks(self, *, case_id: int | None = None, lanes: Iterable[str] | None = None,
                   team: str | None = None, actor: Actor | None = None) -> list[TaskInfo]:
        return reading.open_tasks(self._store, case_id=case_id, lanes=lanes, team=team, actor=actor)

    def task(self, task_id: int, actor: Actor, *, audit_read: bool = True) -> TaskInfo:
        return reading.task(self._store, task_id, actor, audit_read=audit_read)

    def complete_task(self, task_id: int, actor: Actor, data: dict[str, Any]) -> Completion:
        return completing.complete_task(self._store, task_id, actor, data)

    def claim_task(self, task_id: int, actor: Actor, release: bool = False) -> None:
        completing.claim_task(self._store, task_id, actor, release)

    # -- case events (engine/events.py) ------------------------------------------------------
    def available_events(self, case_id: int, actor: Actor | None = None) -> Any:
        """Events the case can take now (with `actor`: those the actor may raise) — for the buttons."""
        from . import events

        return events.available_events(self, case_id, actor)

    def event_lanes(self, case_id: int) -> dict[str, str | None]:
        """Every event the case's diagram can catch (waiting or not) -> the lane that may raise it."""
        from . import events

        return events.event_lanes(self, case_id)

    def raise_event(self, case_id: int, event: str, actor: Actor, data: dict[str, Any]) -> Completion:
        """Raise a case event (nieuwe_signalen, hulp_geweigerd, verhuisd, ...); raises EventNotAvailable."""
        from . import events

        return events.raise_event(self, case_id, event, actor, data)

    # -- timers (engine/timers.py) -----------------------------------------------------------
    def due_timer_cases(self, now: datetime, limit: int = 500) -> list[int]:
        return timers.due_timer_cases(self._store, now, limit)

    def next_timer_due(self) -> datetime | None:
        return timers.next_timer_due(self._store)

    def fire_due_timers(self, now: datetime | None = None, *, limit: int | None = None) -> int:
        """Fire every timer due at `now` (default: the engine clock), one case per transaction."""
        return timers.fire_due_timers(self._store, now, limit=limit)

    def fire_case_timers(self, case_id: int, now: datetime | None = None) -> int:
        """Fire the due timers of one case (e.g. at its exact due time); 0 if another worker holds it."""
        return timers.fire_case_timers(self._store, case_id, now)

    # -- read (engine/reading.py) ------------------------------------------------------------
    def case(self, case_id: int, actor: Actor, *, audit_read: bool = True,
             present: Callable[[CaseInfo, access.Decision], Any] | None = None) -> Any:
        return reading.case(self._store, case_id, actor, audit_read=audit_read, present=present)

    def case_access(self, case_id: int, actor: Actor) -> access.Decision | None:
        return reading.case_access(self._store, case_id, actor)

    def task_with_access(self, task_id: int, actor: Actor) -> tuple[TaskScope, access.Decision] | None:
        return reading.task_with_access(self._store, task_id, actor)

    def list_cases(self, *, team: str | None = None, status: str | None = None, limit: int = 200,
                   actor: Actor | None = None) -> list[CaseSummary]:
        return reading.list_cases(self._store, team=team, status=status, limit=limit, actor=actor)

    def case_team(self, case_id: int) -> str | None:
        return reading.case_team(self._store, case_id)

    def case_diagram(self, case_id: int, actor: Actor | None = None, *, source: bool = True) -> DiagramView:
        return reading.case_diagram(self._store, case_id, actor, source=source)

    def case_progress(self, case_id: int) -> tuple[str, datetime | None]:
        return reading.case_progress(self._store, case_id)

    def milestones(self, case_id: int) -> list[str]:
        return reading.milestones(self._store, case_id)

    def record_access(self, actor: Actor, action: str, *, outcome: str, case_id: int | None = None,
                      task_id: int | None = None, **details: Any) -> None:
        """Audit an access decision made outside the engine (e.g. a denied page view)."""
        self._store.record_access(actor, action, outcome=outcome, case_id=case_id, task_id=task_id, **details)

    # -- for the engine's other use-case modules (events, studio migration) -----------------
    def _specs(self, session: Session, process_version_id: int) -> Specs:
        return self._store.specs(session, process_version_id)

    def _forms(self, session: Session, process_version_id: int) -> dict[str, Any]:
        return self._store.forms(session, process_version_id)

    def _load(self, case: Case) -> CaseRuntime:
        return self._store.load(case)

    def _save(self, session: Session, case: Case, runtime: CaseRuntime, result: StepResult,
              now: datetime) -> list[str]:
        return self._store.save(session, case, runtime, result, now)

    def _task_row(self, session: Session, task_id: int, actor: Actor, action: str) -> tuple[CaseTask, Case]:
        return self._store.task_row(session, task_id, actor, action)

    def _denials_audited(self, actor: Actor | None, action: str, *, case_id: int | None = None,
                         task_id: int | None = None) -> contextlib.AbstractContextManager[None]:
        return self._store.denials_audited(actor, action, case_id=case_id, task_id=task_id)

    def _case_info(self, session: Session, case: Case) -> CaseInfo:
        return reading.case_info(session, case)

    def _timer_failed(self, case_id: int, now: datetime, reason: str) -> None:
        timers.timer_failed(self._store, case_id, now, reason)

    def _announce_timers(self, session: Session) -> None:
        for case_id, due_at in session.info.pop(NEW_TIMERS, []):
            for listener in self.timer_listeners:
                try:
                    listener(case_id, due_at)
                except Exception:  # noqa: BLE001 - the sweep still finds the timer; see log
                    log.exception("timer listener failed for case %s (due %s)", case_id, due_at)
