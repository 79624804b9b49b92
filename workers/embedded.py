"""The sweep in a daemon thread of the web process, for running without Redis and Celery.

    handle = start_sweeper(case_engine, interval=5.0)
    ...
    handle.stop()

The thread sweeps every `interval` seconds, and earlier when a timer falls due sooner: it sleeps until the
next waiting timer's due time, and a new timer (announced by the engine after its commit) wakes it to
recompute. Errors are logged and never end the thread.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime

from engine import audit, clock
from engine.cases import CaseEngine

from .context import build_context
from .settings import WorkerSettings
from .sweep import SweepResult, run_sweep

log = logging.getLogger(__name__)
MIN_WAIT = 0.05  # seconds; a timer due "now" still gets a moment for its transaction to settle


class SweeperHandle:
    def __init__(self, case_engine: CaseEngine, interval: float, settings: WorkerSettings):
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.interval = interval
        self.context = build_context(settings, case_engine)
        self.sweeps = 0
        self.last_result: SweepResult | None = None
        self.last_error: BaseException | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="meldcode-sweeper", daemon=True)
        self._engine = case_engine
        case_engine.timer_listeners.append(self._on_new_timer)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def wake(self) -> None:
        """Sweep now instead of at the next interval."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread (a running sweep finishes first) and detach from the engine."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        if self._on_new_timer in self._engine.timer_listeners:
            self._engine.timer_listeners.remove(self._on_new_timer)

    def _on_new_timer(self, case_id: int, due_at: datetime) -> None:
        self._wake.set()

    def _run(self) -> None:
        log.info("embedded sweeper started (every %.1f s)", self.interval)
        while not self._stop.is_set():
            self._wake.clear()
            try:
                with audit.context(channel="worker"):  # NEN 7513 access point, even inside the web process
                    self.last_result = run_sweep(self.context)
                self.last_error = None
            except Exception as exc:  # noqa: BLE001 - a failing sweep (database away) is retried next round
                self.last_error = exc
                log.exception("sweep failed; trying again in %.1f s", self.interval)
            self.sweeps += 1
            self._wake.wait(self._seconds_to_wait())
        log.info("embedded sweeper stopped")

    def _seconds_to_wait(self) -> float:
        try:
            due = self.context.cases.next_timer_due()
        except Exception:  # noqa: BLE001
            return self.interval
        if due is None:
            return self.interval
        remaining = (due - clock.now()).total_seconds()
        if remaining <= 0:  # due but not fired (its case is busy elsewhere): no busy loop
            return min(self.interval, 1.0)
        return max(MIN_WAIT, min(self.interval, remaining))


def start_sweeper(engine: CaseEngine, interval: float | None = None, *,
                  settings: WorkerSettings | None = None) -> SweeperHandle:
    """Start sweeping for `engine` in a daemon thread; `interval` defaults to MELDCODE_SWEEP_INTERVAL."""
    settings = settings or WorkerSettings.from_env()
    handle = SweeperHandle(engine, interval or settings.sweep_interval, settings)
    handle._thread.start()
    return handle
