from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from engine.workdays import WorkdayCalendar, calendar_from_settings

AMS = ZoneInfo("Europe/Amsterdam")


def at_nine(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(9), AMS)


@pytest.fixture
def cal() -> WorkdayCalendar:
    return WorkdayCalendar()


@pytest.mark.parametrize("start, expected", [
    ("2026-04-02", "2026-04-13"),  # Goede Vrijdag and Tweede Paasdag
    ("2026-04-23", "2026-05-01"),  # Koningsdag (Monday 27 April)
    ("2026-05-13", "2026-05-21"),  # Hemelvaartsdag
    ("2026-12-23", "2026-12-31"),  # both Kerstdagen
])
def test_contract_worked_examples(cal, start, expected):
    result = cal.add_workdays(at_nine(start), 5)
    assert result == at_nine(expected)
    assert (result.hour, result.minute) == (9, 0)
    assert result.tzinfo == AMS


def test_weekend_is_skipped(cal):
    assert not cal.is_workday(date(2026, 3, 7))  # Saturday
    assert not cal.is_workday(date(2026, 3, 8))  # Sunday
    assert cal.add_workdays(at_nine("2026-03-06"), 1) == at_nine("2026-03-09")  # Friday -> Monday


def test_start_on_weekend_counts_full_working_days(cal):
    assert cal.add_workdays(at_nine("2026-03-07"), 1) == at_nine("2026-03-09")


def test_liberation_day_every_year(cal):
    # 2026 is not a lustrum year: the holidays package alone would call 5 May a working day.
    assert date(2026, 5, 5).weekday() == 1
    assert not cal.is_workday(date(2026, 5, 5))
    assert date(2026, 5, 5) in cal.holidays_in(2026)
    assert cal.add_workdays(at_nine("2026-05-04"), 1) == at_nine("2026-05-06")


def test_good_friday(cal):
    assert not cal.is_workday(date(2026, 4, 3))
    assert not cal.is_workday(date(2025, 4, 18))
    assert cal.is_workday(date(2026, 4, 2))  # Maundy Thursday is a working day


def test_kings_day_moves_to_saturday_when_27_april_is_sunday(cal):
    days = cal.holidays_in(2025)
    assert date(2025, 4, 26) in days
    assert date(2025, 4, 27) not in days
    assert cal.is_workday(date(2025, 4, 28))  # no substitute Monday
    assert not cal.is_workday(date(2026, 4, 27))


def test_christmas(cal):
    assert not cal.is_workday(date(2026, 12, 25))
    assert not cal.is_workday(date(2026, 12, 26))
    assert cal.is_workday(date(2026, 12, 24))
    assert cal.is_workday(date(2026, 12, 31))


def test_statutory_holidays_of_2026(cal):
    weekday_holidays = {d for d in cal.holidays_in(2026) if d.weekday() < 5}
    assert weekday_holidays == {
        date(2026, 1, 1), date(2026, 4, 3), date(2026, 4, 6), date(2026, 4, 27), date(2026, 5, 5),
        date(2026, 5, 14), date(2026, 5, 25), date(2026, 12, 25),
    }  # 26 December 2026 is a Saturday


def test_holidays_in_returns_a_copy(cal):
    cal.holidays_in(2026).clear()
    assert not cal.is_workday(date(2026, 12, 25))


def test_zero_days_is_the_same_moment(cal):
    start = at_nine("2026-04-03")  # a holiday: n=0 must not move it
    assert cal.add_workdays(start, 0) == start


def test_negative_days_rejected(cal):
    with pytest.raises(ValueError, match="between 0 and"):
        cal.add_workdays(at_nine("2026-04-02"), -1)


def test_absurd_day_counts_rejected(cal):
    # Reachable from diagrams through helpers, which the sandbox's time limit does not cover.
    with pytest.raises(ValueError, match="between 0 and 10000"):
        cal.add_workdays(at_nine("2026-04-02"), 10**9)


def test_non_integer_days_rejected(cal):
    with pytest.raises(TypeError):
        cal.add_workdays(at_nine("2026-04-02"), 1.5)


def test_naive_input_is_local_time(cal):
    result = cal.add_workdays(datetime(2026, 4, 2, 9, 0), 5)
    assert result == at_nine("2026-04-13")
    assert result.utcoffset() == timedelta(hours=2)


def test_aware_input_in_other_timezone_uses_local_date(cal):
    # 23:30 UTC on Thursday 2 April is already Friday 3 April (Goede Vrijdag) in Amsterdam.
    start = datetime(2026, 4, 2, 23, 30, tzinfo=ZoneInfo("UTC"))
    result = cal.add_workdays(start, 1)
    assert result == datetime(2026, 4, 7, 1, 30, tzinfo=AMS)


def test_clock_time_kept_across_dst_change(cal):
    # Summer time starts on Sunday 29 March 2026: same wall-clock time, one hour less in between.
    start = at_nine("2026-03-27")
    result = cal.add_workdays(start, 1)
    assert result == at_nine("2026-03-30")
    assert (start.utcoffset(), result.utcoffset()) == (timedelta(hours=1), timedelta(hours=2))
    # Same tzinfo subtracts wall clocks, so compare real instants via UTC.
    utc = ZoneInfo("UTC")
    assert result.astimezone(utc) - start.astimezone(utc) == timedelta(days=3, hours=-1)


def test_extra_holidays_and_workdays():
    cal = WorkdayCalendar(extra_holidays=[date(2026, 12, 24)], extra_workdays=[date(2026, 5, 5)])
    assert not cal.is_workday(date(2026, 12, 24))
    assert cal.is_workday(date(2026, 5, 5))
    assert date(2026, 12, 24) in cal.holidays_in(2026)
    assert date(2026, 5, 5) not in cal.holidays_in(2026)
    assert cal.add_workdays(at_nine("2026-12-23"), 1) == at_nine("2026-12-28")


def test_extra_workday_can_be_a_weekend_day():
    cal = WorkdayCalendar(extra_workdays=[date(2026, 3, 7)])
    assert cal.add_workdays(at_nine("2026-03-06"), 1) == at_nine("2026-03-07")


def test_date_cannot_be_both_extra_holiday_and_workday():
    with pytest.raises(ValueError, match="2026-12-24"):
        WorkdayCalendar(extra_holidays=[date(2026, 12, 24)], extra_workdays=[date(2026, 12, 24)])


def test_calendar_from_settings():
    cal = calendar_from_settings(" 2026-12-24, 2026-12-31 ,", "2026-05-05")
    assert not cal.is_workday(date(2026, 12, 24))
    assert not cal.is_workday(date(2026, 12, 31))
    assert cal.is_workday(date(2026, 5, 5))
    assert cal.is_workday(date(2026, 12, 30))


def test_calendar_from_empty_settings_is_statutory():
    cal = calendar_from_settings()
    assert cal.holidays_in(2026) == WorkdayCalendar().holidays_in(2026)


@pytest.mark.parametrize("holidays, workdays", [("2026-12-24, 24-12-2026", ""), ("", "2026-02-30")])
def test_bad_settings_date(holidays, workdays):
    with pytest.raises(ValueError, match=r"extra_(holidays|workdays).*is not an ISO date"):
        calendar_from_settings(holidays, workdays)


def test_other_timezone():
    utc = ZoneInfo("UTC")
    result = WorkdayCalendar(tz="UTC").add_workdays(datetime(2026, 4, 2, 9, 0), 5)
    assert result == datetime(2026, 4, 13, 9, 0, tzinfo=utc)
    assert result.tzinfo == utc


def test_holidays_missing_from_the_package_are_added(monkeypatch):
    # Older holidays versions lack Goede Vrijdag; all list 5 mei only in lustrum years.
    real = holidays.country_holidays

    def without_good_friday(*args, **kwargs):
        days = real(*args, **kwargs)
        days.pop(date(2026, 4, 3), None)
        return days

    monkeypatch.setattr(holidays, "country_holidays", without_good_friday)
    cal = WorkdayCalendar()
    assert not cal.is_workday(date(2026, 4, 3))
    assert not cal.is_workday(date(2026, 5, 5))


def test_years_before_the_atw_rejected(cal):
    with pytest.raises(ValueError, match="before 1966"):
        cal.is_workday(date(1950, 6, 1))
