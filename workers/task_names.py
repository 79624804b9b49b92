"""The Celery task names, defined once: the tasks register under them, beat and the schedulers send them."""
from __future__ import annotations

SWEEP = "meldcode.sweep"
FIRE_DUE_TIMERS = "meldcode.fire_due_timers"
FIRE_CASE_TIMERS = "meldcode.fire_case_timers"
SCHEDULE_TIMERS = "meldcode.schedule_timers"
DELIVER_MAIL = "meldcode.deliver_mail"
RETENTION = "meldcode.retention"
AUDIT_CHECK = "meldcode.audit_check"
