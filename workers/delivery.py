"""Send the e-mail copies of notifications: each once, retried with backoff, given up after the last attempt.

One notification at a time: claim it (a short transaction), send outside any transaction, record the outcome
(another short one). A worker that dies between sending and recording leaves a claim that expires after the
lease, so the mail is tried again; that is the only way a mail can go out twice.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from engine import clock, notifications
from engine.states import CaseTaskState

from . import directory
from .context import WorkerContext
from .mail import PermanentMailError, TransientMailError, compose

log = logging.getLogger(__name__)


@dataclass
class DeliveryResult:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.sent or self.retrying or self.failed or self.skipped)


def deliver_due_mail(ctx: WorkerContext, now: datetime | None = None, limit: int = 100) -> DeliveryResult:
    """Send the e-mails that are due at `now` (new ones, and retries whose backoff has passed)."""
    result = DeliveryResult()
    if ctx.mailer is None:
        return result
    lease = timedelta(seconds=max(60.0, 3 * ctx.settings.smtp_timeout))
    for _ in range(limit):
        moment = now or clock.now()
        with ctx.sessions.begin() as session:
            claimed = notifications.claim_for_mail(session, moment, lease)
            if claimed is None:
                break
            view = notifications.get(session, claimed.id, tz=ctx.tz)
            address = directory.email_of(session, view.recipient)
            attempts = claimed.attempts
        _deliver_one(ctx, view, address, attempts, now, result)
    return result


def _deliver_one(ctx: WorkerContext, view, address: str | None, attempts: int, now, result: DeliveryResult) -> None:
    reason = None
    if view.task_state != CaseTaskState.READY:
        reason = "de taak was al afgehandeld voordat de e-mail verstuurd werd"
    elif not address:
        reason = "geen e-mailadres bekend; alleen in de inbox"
    if reason:
        with ctx.sessions.begin() as session:
            notifications.mark_skipped(session, view.id, reason)
        result.skipped.append(view.id)
        return
    message = compose(view, to=address, sender=ctx.settings.mail_from, base_url=ctx.settings.base_url, tz=ctx.tz)
    try:
        ctx.mailer.send(message)
    except (TransientMailError, PermanentMailError) as exc:
        give_up = isinstance(exc, PermanentMailError) or attempts >= ctx.settings.mail_max_attempts
        retry_at = None if give_up else (now or clock.now()) + timedelta(seconds=ctx.settings.retry_delay(attempts))
        with ctx.sessions.begin() as session:
            notifications.mark_failed(session, view.id, str(exc), retry_at)
        (result.failed if give_up else result.retrying).append(view.id)
        log.warning("e-mail for notification %s failed (attempt %d%s): %s", view.id, attempts,
                    ", giving up" if give_up else f", retry at {retry_at:%H:%M:%S}", exc)
        return
    with ctx.sessions.begin() as session:
        notifications.mark_sent(session, view.id, now or clock.now())
    result.sent.append(view.id)
