"""Helpers offered to expressions in diagrams (timers, due dates, scripts)."""
from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from . import clock
from .workdays import WorkdayCalendar

DAY_START = time(9, 0)
HELPER_NAMES = frozenset({"werkdagen", "werkdagen_vanaf", "op_datum"})


def make_helpers(calendar: WorkdayCalendar, tz: str) -> dict:
    zone = ZoneInfo(tz)

    def werkdagen(n):
        """ISO datetime n working days after now (same clock time)."""
        return calendar.add_workdays(clock.now().astimezone(zone), int(n)).isoformat()

    def werkdagen_vanaf(moment, n):
        """ISO datetime n working days after `moment` (an ISO date or datetime; None or empty: now).

        A melding's feedback deadline counts from when the melding was made, which the professional may
        record afterwards."""
        if moment in (None, ""):
            start = clock.now()
        else:
            start = datetime.fromisoformat(str(moment)) if "T" in str(moment) else \
                datetime.combine(date.fromisoformat(str(moment)[:10]), DAY_START)
        start = start.replace(tzinfo=zone) if start.tzinfo is None else start
        return calendar.add_workdays(start.astimezone(zone), int(n)).isoformat()

    def op_datum(day):
        """ISO datetime of the given ISO date at the start of the working day."""
        return datetime.combine(date.fromisoformat(str(day)[:10]), DAY_START, zone).isoformat()

    helpers = {"werkdagen": werkdagen, "werkdagen_vanaf": werkdagen_vanaf, "op_datum": op_datum}
    assert set(helpers) == HELPER_NAMES
    return helpers
