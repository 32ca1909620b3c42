from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.errors import CalendarError


@pytest.fixture(scope="module", params=["compiled table", "exchange_calendars"])
def cal(request: pytest.FixtureRequest) -> MarketCalendar:
    """Every behaviour below holds for the shipped table and for its source alike."""
    if request.param == "exchange_calendars":
        return MarketCalendar.from_exchange_calendars("2023-01-01", "2026-12-31")
    return MarketCalendar.xnys("2023-01-01", "2026-12-31")


def ny(day: str, hhmm: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(hhmm), tzinfo=NEW_YORK)


@pytest.mark.parametrize("day", ["2024-07-03", "2024-11-29", "2024-12-24"])
def test_early_closes_at_one_pm(cal: MarketCalendar, day: str) -> None:
    session = cal.session(date.fromisoformat(day))
    assert session is not None and session.is_early_close
    assert session.close == ny(day, "13:00")
    assert session.flatten_time(timedelta(minutes=15)) == ny(day, "12:45")
    start, end = session.entry_window(time(9, 45), timedelta(minutes=30))
    assert (start, end) == (ny(day, "09:45"), ny(day, "12:30"))
    assert cal.is_open(ny(day, "12:59")) and not cal.is_open(ny(day, "13:00"))


def test_national_day_of_mourning_2025_01_09_is_closed(cal: MarketCalendar) -> None:
    assert cal.session(date(2025, 1, 9)) is None
    assert not cal.is_open(ny("2025-01-09", "11:00"))
    assert cal.next_session(date(2025, 1, 8)).day == date(2025, 1, 10)


def test_weekend_is_not_a_session(cal: MarketCalendar) -> None:
    assert not cal.is_session(date(2024, 6, 1)) and not cal.is_session(date(2024, 6, 2))
    assert cal.next_session(date(2024, 5, 31)).day == date(2024, 6, 3)
    assert [s.day for s in cal.previous_sessions(date(2024, 6, 3), 2)] == [
        date(2024, 5, 30),
        date(2024, 5, 31),
    ]


@pytest.mark.parametrize(
    ("day", "utc_open_hour"),
    [
        ("2024-03-08", 14),  # Friday before US DST starts: EST, 09:30 = 14:30 UTC
        ("2024-03-11", 13),  # Monday after: EDT, 09:30 = 13:30 UTC
        ("2024-11-01", 13),  # Friday before DST ends: EDT
        ("2024-11-04", 14),  # Monday after: EST
    ],
)
def test_dst_change_weeks_keep_new_york_hours(
    cal: MarketCalendar, day: str, utc_open_hour: int
) -> None:
    session = cal.session(date.fromisoformat(day))
    assert session is not None and not session.is_early_close
    assert session.open == datetime.combine(session.day, time(utc_open_hour, 30), tzinfo=UTC)
    assert session.open == ny(day, "09:30") and session.close == ny(day, "16:00")
    assert session.flatten_time(timedelta(minutes=15)) == ny(day, "15:45")


def test_regular_hours_are_half_open(cal: MarketCalendar) -> None:
    assert not cal.is_open(ny("2024-06-03", "09:29"))
    assert cal.is_open(ny("2024-06-03", "09:30"))
    assert cal.is_open(ny("2024-06-03", "15:59"))
    assert not cal.is_open(ny("2024-06-03", "16:00"))


def test_entry_window_never_starts_before_the_open(cal: MarketCalendar) -> None:
    session = cal.session(date(2024, 6, 3))
    assert session is not None
    start, _ = session.entry_window(time(9, 0), timedelta(minutes=30))
    assert start == session.open


def test_holidays_and_ranges(cal: MarketCalendar) -> None:
    assert cal.session(date(2024, 7, 4)) is None  # Independence Day
    assert cal.session(date(2024, 11, 28)) is None  # Thanksgiving
    assert len(cal.sessions_between(date(2024, 3, 26), date(2025, 4, 2))) == 256  # as shared data
    with pytest.raises(CalendarError, match="outside the calendar"):
        cal.session(date(2040, 1, 2))
    with pytest.raises(CalendarError, match="fewer than 5 sessions"):
        cal.previous_sessions(cal.first_day, 5)
