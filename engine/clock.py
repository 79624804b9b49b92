"""The engine's notion of "now".

Scenarios replay months of a case in milliseconds, so timers, `werkdagen(n)` and
due dates must read a clock the engine controls. SpiffWorkflow's timer module
reads `datetime.now(timezone.utc)` directly; we point that module's `datetime`
name at a subclass whose `now()` consults a context variable. Outside a
`frozen_at` block it is the real clock.
"""
from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo

_now: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("engine_now", default=None)


def now() -> datetime:
    """Timezone-aware current time of the engine clock (UTC)."""
    fixed = _now.get()
    return fixed if fixed is not None else datetime.now(UTC)


@contextmanager
def frozen_at(moment: datetime | None) -> Iterator[None]:
    """Run a block with the engine clock fixed at `moment` (None: real time)."""
    if moment is not None and moment.tzinfo is None:
        raise ValueError("the engine clock needs a timezone-aware datetime")
    token = _now.set(moment.astimezone(UTC) if moment else None)
    try:
        yield
    finally:
        _now.reset(token)


class _ClockDatetime(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        fixed = _now.get()
        if fixed is None:
            return datetime.now(tz)
        return fixed.astimezone(tz) if tz else fixed.astimezone().replace(tzinfo=None)


def install() -> None:
    """Make SpiffWorkflow's timers read the engine clock (idempotent)."""
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    timer.datetime = _ClockDatetime
