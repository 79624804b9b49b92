"""Store the reminders and escalations that are due, once each (one transaction per sweep)."""
from __future__ import annotations

import logging
from datetime import datetime

from engine import clock, notifications, reminders

from . import directory
from .context import WorkerContext

log = logging.getLogger(__name__)


def create_due_notifications(ctx: WorkerContext, now: datetime | None = None) -> list[int]:
    """Create the notifications due at `now` (default: the engine clock); ids of the rows created.

    Idempotent, and safe in several workers at once: each notification is unique per task, kind and
    recipient, and a kind already notified for a task is not looked at again. When nobody in the team holds
    the role, a row with an empty recipient records that (visible in the case file).
    """
    now = now or clock.now()
    with ctx.sessions.begin() as session:
        due = reminders.due_reminders(session, ctx.policy, ctx.calendar, now)
        items = []
        for reminder in due:
            found = directory.recipients_for(session, reminder)
            if not found:
                log.warning("no recipient for %s of task %s (case %s, team %s, role %s)", reminder.kind,
                            reminder.task_id, reminder.case_id, reminder.team, reminder.role or reminder.lane)
                items.append(notifications.NewNotification(reminder.case_id, reminder.task_id, reminder.kind,
                                                           notifications.NOBODY, reminder.role or reminder.lane))
            for recipient, role in found:
                items.append(notifications.NewNotification(reminder.case_id, reminder.task_id, reminder.kind,
                                                           recipient.username, role))
        created = notifications.create(session, items, now, mail=ctx.settings.mail_enabled)
    if created:
        log.info("created %d notification(s)", len(created))
    return created
