"""Helpers offered to expressions in diagrams (timers, due dates, scripts)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from . import clock
from .workdays import WorkdayCalendar

DAY_START = time(9, 0)
HELPER_NAMES = frozenset({"werkdagen", "werkdagen_vanaf", "op_datum"})


def _moment(value: Any) -> datetime | None:
    """An ISO date (start of the working day) or datetime; None when absent or not ISO 8601.

    The form checks the format; a value that still does not parse (data from before the field existed) counts from
    now instead of stopping the case at its timer."""
    text = str(value or "").strip()
    try:
        if "T" in text or " " in text:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        return datetime.combine(date.fromisoformat(text), DAY_START) if text else None
    except ValueError:
        return None


def make_helpers(calendar: WorkdayCalendar, tz: str) -> dict[str, Callable[..., str]]:
    zone = ZoneInfo(tz)

    def werkdagen(n: Any) -> str:
        """ISO datetime n working days after now (same clock time)."""
        return calendar.add_workdays(clock.now().astimezone(zone), int(n)).isoformat()

    def werkdagen_vanaf(moment: Any, n: Any) -> str:
        """ISO datetime n working days after `moment` (an ISO date or datetime; None or empty: now).

        A melding's feedback deadline counts from when the melding was made, which the professional may
        record afterwards."""
        start = _moment(moment) or clock.now()
        start = start.replace(tzinfo=zone) if start.tzinfo is None else start
        return calendar.add_workdays(start.astimezone(zone), int(n)).isoformat()

    def op_datum(day: Any) -> str:
        """ISO datetime of the given ISO date at the start of the working day."""
        return datetime.combine(date.fromisoformat(str(day)[:10]), DAY_START, zone).isoformat()

    helpers: dict[str, Callable[..., str]] = {"werkdagen": werkdagen, "werkdagen_vanaf": werkdagen_vanaf, "op_datum": op_datum}
    assert set(helpers) == HELPER_NAMES
    return helpers
