"""Helpers offered to expressions in diagrams (timers, due dates, scripts)."""
from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from . import clock
from .workdays import WorkdayCalendar

DAY_START = time(9, 0)
HELPER_NAMES = frozenset({"werkdagen", "op_datum"})


def make_helpers(calendar: WorkdayCalendar, tz: str) -> dict:
    zone = ZoneInfo(tz)

    def werkdagen(n):
        """ISO datetime n working days after now (same clock time)."""
        return calendar.add_workdays(clock.now().astimezone(zone), int(n)).isoformat()

    def op_datum(day):
        """ISO datetime of the given ISO date at the start of the working day."""
        return datetime.combine(date.fromisoformat(str(day)[:10]), DAY_START, zone).isoformat()

    helpers = {"werkdagen": werkdagen, "op_datum": op_datum}
    assert set(helpers) == HELPER_NAMES
    return helpers
