"""Exact-time Celery tasks for waiting timers.

The database is the truth: a timer is a `case_timer` row, and the periodic sweep fires whatever is due. A
Celery message with an ETA is only a wake-up call so a timer fires at its due time rather than at the next
sweep; losing one (Redis restarted, worker killed) costs precision, never the timer.

- After a change commits, the engine announces each new timer (`engine.timer_listeners`); `eta_listener`
  turns that into an ETA task when the timer falls due within the horizon (default an hour).
- Timers further away get their task from `schedule_upcoming`, which beat runs every quarter horizon; a small
  Redis ledger (`SET NX` with expiry) keeps it from queueing one timer twice.
- When a worker starts it runs `schedule_upcoming(force=True)`, so whatever a Redis restart lost comes back.

Messages never wait in Redis for longer than the horizon, which keeps them well inside Redis' visibility
timeout (a longer ETA would be redelivered to another worker every time that timeout passes).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from engine import clock, lookups

from .settings import WorkerSettings
from .task_names import FIRE_CASE_TIMERS

log = logging.getLogger(__name__)

# The web request that created a timer must not hang when Redis is away: one quick retry, then give up (the
# engine logs it; the sweep fires the timer anyway).
QUICK_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def send_fire_task(app, settings: WorkerSettings, case_id: int, due_at: datetime, *, quick: bool = False) -> None:
    """Queue `fire_case_timers(case_id)` to run at `due_at` (at once when that has passed)."""
    options = {"retry": True, "retry_policy": QUICK_RETRY} if quick else {}
    app.send_task(FIRE_CASE_TIMERS, args=[case_id, due_at.isoformat()], eta=max(due_at, clock.now()),
                  queue=settings.queue, **options)


def eta_listener(app, settings: WorkerSettings, ledger: EtaLedger | None = None
                 ) -> Callable[[int, datetime], None]:
    """A `CaseEngine.timer_listeners` entry that queues an exact-time task for timers due within the horizon."""

    def announce(case_id: int, due_at: datetime) -> None:
        due_at = datetime.fromisoformat(due_at.isoformat())  # a plain datetime (the engine clock subclasses it)
        if (due_at - clock.now()).total_seconds() > settings.eta_horizon:
            return  # schedule_upcoming queues it when it comes within the horizon
        send_fire_task(app, settings, case_id, due_at, quick=True)
        if ledger is not None:
            ledger.claim(case_id, due_at)

    return announce


class EtaLedger:
    """Which timers already have a queued ETA task (keys expire after the due time)."""

    def __init__(self, redis_url: str, namespace: str, horizon: float):
        import redis

        self.client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self.namespace = namespace
        self.horizon = horizon

    def claim(self, case_id: int, due_at: datetime) -> bool:
        """True when this timer was not queued yet (and now counts as queued)."""
        ttl = int(max(0.0, (due_at - clock.now()).total_seconds()) + self.horizon) + 60
        key = f"meldcode:eta:{self.namespace}:{case_id}:{due_at.timestamp():.6f}"
        return bool(self.client.set(key, b"1", nx=True, ex=ttl))


def upcoming_timers(sessions, until: datetime) -> list[tuple[int, datetime]]:
    """(case id, due time) of every waiting timer of a running case due at or before `until`."""
    return lookups.upcoming_timers(sessions, until)


def schedule_upcoming(app, settings: WorkerSettings, sessions, ledger: EtaLedger | None = None, *,
                      force: bool = False) -> int:
    """Queue an ETA task for every waiting timer due within the horizon (overdue ones: right away).

    `force` queues them even when the ledger says they were queued (a worker starting after a crash or a
    Redis restart cannot know which messages survived; a second message for a timer is harmless).
    """
    now = clock.now()
    queued = 0
    for case_id, due_at in upcoming_timers(sessions, now + timedelta(seconds=settings.eta_horizon)):
        if ledger is not None:
            fresh = ledger.claim(case_id, due_at)
            if not (fresh or force):
                continue
        send_fire_task(app, settings, case_id, due_at)
        queued += 1
    if queued:
        log.info("queued %d exact-time timer task(s)%s", queued, " (worker start)" if force else "")
    return queued
