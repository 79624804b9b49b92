"""Celery tasks. Each is idempotent, works in its own transaction(s), and retries on retryable database
errors (connection lost, deadlock, serialization failure) with backoff. The database is the truth; a task
message only says "look now"."""
from __future__ import annotations

import logging
from datetime import datetime

from celery import Task, shared_task
from sqlalchemy import exc as sa_exc

from engine import audit, clock, lookups

from . import task_names as names
from .celery_app import context_of, ledger_of
from .delivery import deliver_due_mail
from .scheduling import schedule_upcoming
from .sweep import fire_timers, run_sweep

log = logging.getLogger(__name__)

# A sweep that finds at least this many cases with due timers asks other workers to help.
BACKLOG_FOR_HELP = 10
BUSY_RETRIES = 3


class DatabaseTask(Task):
    """Retry on the database errors that go away by themselves (OperationalError covers lost connections,
    deadlocks and serialization failures on PostgreSQL, and a locked database on SQLite)."""

    autoretry_for = (sa_exc.OperationalError, sa_exc.InterfaceError)
    retry_backoff = 1
    retry_backoff_max = 30
    retry_jitter = True
    max_retries = 5

    def __call__(self, *args, **kwargs):
        with audit.context(channel="worker"):  # NEN 7513 access point of everything the task audits
            return super().__call__(*args, **kwargs)


@shared_task(bind=True, base=DatabaseTask, name=names.SWEEP)
def sweep(self):
    """Fire due timers and create due reminders/escalations (beat, every few seconds)."""
    ctx = context_of(self.app)
    settings = ctx.settings
    if settings.sweep_parallelism > 1:
        backlog = ctx.cases.due_timer_cases(clock.now(), limit=BACKLOG_FOR_HELP)
        if len(backlog) >= BACKLOG_FOR_HELP:
            for _ in range(settings.sweep_parallelism - 1):
                self.app.send_task(names.FIRE_DUE_TIMERS, queue=settings.queue, expires=60)
    result = run_sweep(ctx, deliver=False)
    if result.notifications and ctx.mailer is not None:
        self.app.send_task(names.DELIVER_MAIL, queue=settings.queue)  # after the commit: mail goes out right away
    return result.as_dict()


@shared_task(bind=True, base=DatabaseTask, name=names.FIRE_DUE_TIMERS)
def fire_due_timers(self):
    """Help a sweep with a backlog: fire due timers next to the other workers (SKIP LOCKED keeps them apart)."""
    return fire_timers(context_of(self.app))


@shared_task(bind=True, base=DatabaseTask, name=names.FIRE_CASE_TIMERS)
def fire_case_timers(self, case_id: int, due_at: str | None = None):
    """Fire one case's due timers at their exact due time (queued with an ETA)."""
    ctx = context_of(self.app)
    if due_at is not None:
        early = (datetime.fromisoformat(due_at) - clock.now()).total_seconds()
        if early > 0:  # delivered before its time (clock skew between hosts): come back then
            self.app.send_task(names.FIRE_CASE_TIMERS, args=[case_id, due_at], countdown=early,
                               queue=ctx.settings.queue)
            return 0
    fired = ctx.cases.fire_case_timers(case_id)
    if fired == 0 and self.request.retries < BUSY_RETRIES and _still_due(ctx, case_id):
        # Another worker or a user holds the case right now; look again shortly (the sweep would, too).
        raise self.retry(countdown=0.5 * (self.request.retries + 1), max_retries=BUSY_RETRIES)
    return fired


@shared_task(bind=True, base=DatabaseTask, name=names.SCHEDULE_TIMERS)
def schedule_timers(self, force: bool = False):
    """Queue exact-time tasks for timers coming within the horizon (beat; and with force at worker start)."""
    ctx = context_of(self.app)
    return schedule_upcoming(self.app, ctx.settings, ctx.sessions, ledger_of(self.app), force=force)


@shared_task(bind=True, base=DatabaseTask, name=names.DELIVER_MAIL)
def deliver_mail(self):
    """Send the e-mails that are due: new notifications and retries whose backoff has passed."""
    result = deliver_due_mail(context_of(self.app))
    return {"sent": len(result.sent), "retrying": len(result.retrying), "failed": len(result.failed),
            "skipped": len(result.skipped)}


def _still_due(ctx, case_id: int) -> bool:
    return lookups.has_due_timer(ctx.sessions, case_id, clock.now())


@shared_task(bind=True, base=DatabaseTask, name=names.RETENTION)
def retention(self):
    """Daily: the retention report; destroys what expired only with MELDCODE_RETENTION_APPLY=1."""
    from .retention import apply_enabled, run_retention

    ctx = context_of(self.app)
    report = run_retention(ctx.sessions, do_apply=apply_enabled(), attachments_dir=ctx.cases.settings.attachments_dir)
    return report.as_dict()


@shared_task(bind=True, base=DatabaseTask, name=names.AUDIT_CHECK)
def audit_check(self):
    """Daily: verify the audit chain and log its head."""
    from .audit_watch import check_chain

    result = check_chain(context_of(self.app).sessions)
    return {"ok": result.ok, "checked": result.checked, "head": f"{result.head_seq}:{result.head_hash}",
            "break": result.first_break.describe() if result.first_break else None}
