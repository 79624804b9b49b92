"""One sweep: fire the timers that are due, create the reminders and escalations that are due, send e-mail.

The same function runs in a Celery worker (beat calls it every few seconds) and in the web process's
embedded thread. Every part is idempotent and safe to run in several processes at once.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from engine import clock

from .context import WorkerContext
from .delivery import DeliveryResult, deliver_due_mail
from .reminding import create_due_notifications

log = logging.getLogger(__name__)


@dataclass
class SweepResult:
    timers_fired: int = 0
    notifications: list[int] = field(default_factory=list)
    mail: DeliveryResult = field(default_factory=DeliveryResult)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"timers_fired": self.timers_fired, "notifications_created": len(self.notifications),
                "mail_sent": len(self.mail.sent), "mail_retrying": len(self.mail.retrying),
                "mail_failed": len(self.mail.failed), "mail_skipped": len(self.mail.skipped),
                "seconds": round(self.seconds, 3)}


def fire_timers(ctx: WorkerContext, limit: int | None = None) -> int:
    """Fire every timer due now (one case per transaction; SKIP LOCKED keeps workers apart)."""
    fired = ctx.cases.fire_due_timers(clock.now(), limit=limit)
    if fired:
        log.info("fired %d timer(s)", fired)
    return fired


def run_sweep(ctx: WorkerContext, *, deliver: bool = True, timer_limit: int | None = None) -> SweepResult:
    """Timers first (they open tasks and cancel others), then notifications, then e-mail.

    The clock is read per step, so a sweep under `engine.clock.frozen_at` works on that moment.
    """
    started = time.perf_counter()
    result = SweepResult()
    result.timers_fired = fire_timers(ctx, timer_limit)
    result.notifications = create_due_notifications(ctx, clock.now())
    if deliver:
        result.mail = deliver_due_mail(ctx, clock.now())
    result.seconds = time.perf_counter() - started
    return result
