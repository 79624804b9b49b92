"""The states stored in the engine's tables, named once.

StrEnums compare equal to their text, so stored values, queries and templates keep working with plain strings.
"""
from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    """`Case.status`."""

    RUNNING = "running"
    SUSPENDED = "suspended"  # paused by the beheerder: no completions, no timers
    COMPLETED = "completed"
    TERMINATED = "terminated"  # stopped by the beheerder


class CaseTaskState(StrEnum):
    """`CaseTask.state`."""

    READY = "ready"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class TimerState(StrEnum):
    """`CaseTimer.state`."""

    WAITING = "waiting"
    FIRED = "fired"
    CANCELLED = "cancelled"
    FAILED = "failed"  # parked after a diagram failure; the beheerder can retry it


class NotificationStatus(StrEnum):
    """`Notification.status`."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class NotificationKind(StrEnum):
    """`Notification.kind`: reminders before/at the due date and the two escalations."""

    REMINDER_BEFORE = "reminder_before"
    REMINDER_DUE = "reminder_due"
    ESCALATION_AANDACHTSFUNCTIONARIS = "escalation_aandachtsfunctionaris"
    ESCALATION_LEIDINGGEVENDE = "escalation_leidinggevende"
    # Issue 13: a case comes back to its responsible professional (a new open task after a colleague's step)
    RETURNED = "returned"


ENDED_CASE_STATUSES = (CaseStatus.COMPLETED, CaseStatus.TERMINATED)


class NoteKind(StrEnum):
    """`CaseNote.kind` (issue 13): a free note, or the follow-up of a hypothesis recorded in Stap 1."""

    AANTEKENING = "aantekening"
    HYPOTHESE = "hypothese"


class HypothesisOutcome(StrEnum):
    """`CaseNote.hypothesis_outcome`: what the follow-up found (meldcode Stap 1: confirmed or refuted)."""

    BEVESTIGD = "bevestigd"
    WEERLEGD = "weerlegd"
