"""Dutch working days per the Algemene termijnenwet (Atw).

A working day is not a Saturday or Sunday and not an "algemeen erkende feestdag": Nieuwjaarsdag, Goede Vrijdag,
Tweede Paasdag, Koningsdag, 5 mei (every year), Hemelvaartsdag, Tweede Pinksterdag, Eerste and Tweede Kerstdag.
Organisations can add their own days off and declare extra working days.
"""
from __future__ import annotations

import operator
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
from dateutil.easter import easter

# The holidays package's translations default to the system locale; names must not depend on the host.
_LANGUAGE = "nl"
# 5 mei counts every year since 1982 (per the holidays package's notes); the package itself only lists it in
# lustrum years, because many collective labour agreements give the day off only then.
_LIBERATION_DAY_SINCE = 1982
# About 40 years. Diagrams reach add_workdays through helpers, which the sandbox's deadline does not interrupt.
MAX_WORKDAYS = 10_000


class WorkdayCalendar:
    def __init__(
        self,
        tz: str = "Europe/Amsterdam",
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
    ) -> None:
        self.tz = ZoneInfo(tz)
        self.extra_holidays = frozenset(self._day(d) for d in extra_holidays)
        self.extra_workdays = frozenset(self._day(d) for d in extra_workdays)
        both = self.extra_holidays & self.extra_workdays
        if both:
            listed = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"dates configured as both extra holiday and extra workday: {listed}")
        self._cache: dict[int, dict[date, str]] = {}

    def holidays_in(self, year: int) -> dict[date, str]:
        """The named days off of `year` (statutory plus extra, minus extra workdays), weekend ones included."""
        return dict(self._holidays(year))  # a copy, so callers cannot corrupt the cache

    def is_workday(self, d: date) -> bool:
        d = self._day(d)
        if d in self.extra_workdays:
            return True
        return d.weekday() < 5 and d not in self._holidays(d.year)

    def add_workdays(self, start: datetime, n: int) -> datetime:
        """The same local clock time `n` working days after `start`, aware in this calendar's timezone.

        Naive input is read as local time in the calendar's timezone. Counting starts the day after `start`, so a
        start on a weekend or holiday still needs `n` full working days.
        """
        n = operator.index(n)  # a float would never count down to exactly zero
        if not 0 <= n <= MAX_WORKDAYS:
            raise ValueError(f"n must be between 0 and {MAX_WORKDAYS}, got {n}")
        local = start.replace(tzinfo=self.tz) if start.tzinfo is None else start.astimezone(self.tz)
        day = local.date()
        remaining = n
        while remaining:
            day += timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        result = datetime.combine(day, local.timetz())
        # Round-trip through UTC so a clock time that does not exist that day (DST gap) becomes a real instant.
        return result.astimezone(UTC).astimezone(self.tz)

    def _day(self, d: date) -> date:
        # A datetime never equals a date, so compare calendar days in this calendar's timezone.
        if isinstance(d, datetime):
            return (d if d.tzinfo is None else d.astimezone(self.tz)).date()
        return d

    def _holidays(self, year: int) -> dict[date, str]:
        cached = self._cache.get(year)
        if cached is None:
            cached = self._cache[year] = self._compute_holidays(year)
        return cached

    def _compute_holidays(self, year: int) -> dict[date, str]:
        if year < holidays.NL.start_year:  # type: ignore[attr-defined]  # the package adds countries at import
            raise ValueError(f"no Dutch holiday data before {holidays.NL.start_year} (Atw took effect in 1965)")  # type: ignore[attr-defined]
        # Never pass observed=False: the package then leaves Koningsdag on a Sunday instead of moving it to 26 April.
        days = dict(holidays.country_holidays("NL", years=year, language=_LANGUAGE))
        # Goede Vrijdag counts; older package versions omit it.
        days.setdefault(easter(year) - timedelta(days=2), "Goede vrijdag")
        if year >= _LIBERATION_DAY_SINCE:
            days.setdefault(date(year, 5, 5), "Bevrijdingsdag")
        for d in self.extra_holidays:
            if d.year == year:
                days.setdefault(d, "Extra vrije dag")
        for d in self.extra_workdays:
            days.pop(d, None)
        return days


def _parse_dates(text: str, setting: str) -> list[date]:
    dates = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            dates.append(date.fromisoformat(item))
        except ValueError:
            raise ValueError(f"{setting}: {item!r} is not an ISO date (YYYY-MM-DD)") from None
    return dates


def calendar_from_settings(
    extra_holidays: str = "", extra_workdays: str = "", *, tz: str = "Europe/Amsterdam"
) -> WorkdayCalendar:
    """Build the organisation's calendar from comma-separated ISO dates (e.g. "2026-12-24, 2026-12-31")."""
    return WorkdayCalendar(
        tz=tz,
        extra_holidays=_parse_dates(extra_holidays, "extra_holidays"),
        extra_workdays=_parse_dates(extra_workdays, "extra_workdays"),
    )
