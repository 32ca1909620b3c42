"""The compiled XNYS table equals exchange_calendars, stays fresh, and is used only where it holds.

The freshness check needs a date to be fresh *on*; the tests take it from
``XNYS_TABLE_CHECKED_ON`` (CI passes today's date; not a ``MAXTRADER_*`` name, which the
functions' environment reserves) and otherwise from ``CHECKED_ON``,
the newest date this suite has been run on by hand, so no test reads the wall clock.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.data.compile_calendar import (
    FIRST_DAY,
    LAST_DAY,
    compile_table,
    headroom_problem,
    main,
    source_sessions,
    stale_days,
    table_from_source,
)
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.xnys_sessions import TABLE
from maxtrader.domain.xnys_table import SessionTable, SessionTimes, encode

CHECKED_ON = date(2026, 12, 1)


def checked_on() -> date:
    return date.fromisoformat(os.environ.get("XNYS_TABLE_CHECKED_ON", str(CHECKED_ON)))


@pytest.fixture(scope="module")
def source() -> list[SessionTimes]:
    """exchange_calendars' sessions over the table's whole range (the source of truth)."""
    first, last = TABLE.range
    return source_sessions(first, last)


def ny(day: str, hhmm: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(hhmm), tzinfo=NEW_YORK)


class TestShippedTable:
    def test_equals_exchange_calendars_over_its_whole_range(
        self, source: list[SessionTimes]
    ) -> None:
        first, last = TABLE.range
        assert (first, last) == (FIRST_DAY, LAST_DAY)
        assert TABLE.sessions(first, last) == source
        assert stale_days(TABLE) == []

    def test_market_calendar_from_the_table_equals_the_source(self) -> None:
        compiled = MarketCalendar.xnys()
        truth = MarketCalendar.from_exchange_calendars("2015-01-01", "2030-12-31")
        assert (compiled.first_day, compiled.last_day) == (truth.first_day, truth.last_day)
        assert compiled.sessions_between(compiled.first_day, compiled.last_day) == (
            truth.sessions_between(truth.first_day, truth.last_day)
        )

    @pytest.mark.parametrize(
        ("day", "hours"),
        [
            ("2024-07-03", ("09:30", "13:00")),  # early close before Independence Day
            ("2024-11-29", ("09:30", "13:00")),  # the day after Thanksgiving
            ("2025-01-09", None),  # national day of mourning (President Carter)
            ("2012-10-29", None),  # Hurricane Sandy
            ("2012-10-30", None),
            ("2001-09-11", None),
            ("2024-03-08", ("09:30", "16:00")),  # last Friday of EST
            ("2024-03-11", ("09:30", "16:00")),  # first Monday of EDT: 13:30 UTC
            ("2024-11-04", ("09:30", "16:00")),  # back to EST: 14:30 UTC
            ("2024-06-01", None),  # a Saturday
        ],
    )
    def test_named_days(self, day: str, hours: tuple[str, str] | None) -> None:
        one = date.fromisoformat(day)
        found = {d: (o, c) for d, o, c in TABLE.sessions(one, one)}
        expected = None if hours is None else (ny(day, hours[0]), ny(day, hours[1]))
        assert found.get(one) == expected

    def test_is_fresh_on_the_newest_date_it_is_checked_on(self) -> None:
        assert headroom_problem(TABLE, checked_on()) is None

    def test_check_command_agrees(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["--check", "--checked-on", checked_on().isoformat()]) == 0
        assert "is current" in capsys.readouterr().out

    def test_regenerating_gives_the_shipped_file_byte_for_byte(self) -> None:
        from maxtrader.data import compile_calendar

        assert compile_table() == compile_calendar.TABLE_PATH.read_text(encoding="utf-8")

    def test_the_generator_writes_a_table_that_is_then_current(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        from maxtrader.data import compile_calendar

        written = tmp_path / "xnys_sessions.py"
        written.write_text("TABLE = None  # stale\n")
        monkeypatch.setattr(compile_calendar, "TABLE_PATH", written)
        assert main([]) == 0
        assert "wrote" in capsys.readouterr().out
        assert table_from_source(written.read_text()) == TABLE


class TestStaleness:
    def test_a_closure_missing_from_the_table_is_reported_by_day(self) -> None:
        closed = dict(TABLE.closed_weekdays)
        closed[2025] = closed[2025].replace("01-09 ", "")
        stale = dataclasses.replace(TABLE, closed_weekdays=closed)
        problems = stale_days(stale)
        assert len(problems) == 1 and problems[0].startswith("2025-01-09: table 2025-01-09T14:30")
        assert problems[0].endswith("exchange_calendars closed")

    def test_an_early_close_the_table_lacks_is_reported(self) -> None:
        other = {k: v for k, v in TABLE.other_hours.items() if k != "2024-07-03"}
        problems = stale_days(dataclasses.replace(TABLE, other_hours=other))
        assert problems == [
            "2024-07-03: table 2024-07-03T13:30:00+00:00 .. 2024-07-03T20:00:00+00:00, "
            "exchange_calendars 2024-07-03T13:30:00+00:00 .. 2024-07-03T17:00:00+00:00"
        ]

    def test_a_table_that_no_longer_covers_the_range_is_stale(self) -> None:
        short = dataclasses.replace(TABLE, last_day="2030-12-31")
        assert stale_days(short, FIRST_DAY, LAST_DAY) == [
            f"the table covers {FIRST_DAY} .. 2030-12-31, not {FIRST_DAY} .. {LAST_DAY}"
        ]

    @pytest.mark.parametrize(
        ("checked", "fresh"),
        [
            ("2029-12-31", True),  # exactly 365 days ahead
            ("2030-01-01", False),  # 364 days
            ("2030-12-31", False),  # the last day itself
            ("2031-06-01", False),  # past the end
            ("1990-01-01", True),
            ("1989-12-31", False),  # before the table
        ],
    )
    def test_headroom_rule_at_its_boundaries(self, checked: str, fresh: bool) -> None:
        table = dataclasses.replace(TABLE, last_day="2030-12-31")
        problem = headroom_problem(table, date.fromisoformat(checked))
        assert (problem is None) is fresh

    def test_check_command_fails_on_a_date_too_close_to_the_end(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["--check", "--checked-on", (LAST_DAY - timedelta(days=30)).isoformat()]) == 1
        assert "within 365 days" in capsys.readouterr().err


class TestRangeSelection:
    def test_a_range_beyond_the_table_falls_back_to_exchange_calendars(self) -> None:
        cal = MarketCalendar.xnys("1988-01-01", "1990-12-31")
        first = cal.session(date(1988, 1, 4))  # before the table: only the source knows it
        assert first is not None and first.open == ny("1988-01-04", "09:30")
        assert cal.sessions_between(date(1988, 1, 1), date(1990, 12, 31)) == (
            MarketCalendar.from_exchange_calendars("1988-01-01", "1990-12-31").sessions_between(
                date(1988, 1, 1), date(1990, 12, 31)
            )
        )

    def test_a_range_given_as_dates_datetimes_or_text_is_the_same_calendar(self) -> None:
        as_text = MarketCalendar.xnys("2024-01-01", "2024-12-31")
        assert MarketCalendar.xnys(date(2024, 1, 1), date(2024, 12, 31)) is as_text  # cached
        from_datetimes = MarketCalendar.xnys(
            datetime(2024, 1, 1, 9, tzinfo=UTC), datetime(2024, 12, 31, 23, tzinfo=UTC)
        )
        assert from_datetimes is as_text

    def test_the_table_answers_only_for_the_range_asked(self) -> None:
        cal = MarketCalendar.xnys("2024-01-01", "2024-12-31")
        assert (cal.first_day, cal.last_day) == (date(2024, 1, 2), date(2024, 12, 31))
        assert len(cal.sessions_between(date(2024, 1, 1), date(2024, 12, 31))) == 252

    @pytest.mark.property
    @settings(max_examples=60, deadline=None)
    @given(
        start=st.dates(FIRST_DAY, LAST_DAY),
        length=st.integers(0, 800),
    )
    def test_any_sub_range_is_the_source_restricted_to_it(
        self, source: list[SessionTimes], start: date, length: int
    ) -> None:
        end = min(start + timedelta(days=length), LAST_DAY)
        assert TABLE.sessions(start, end) == [s for s in source if start <= s[0] <= end]


class TestFormat:
    @pytest.mark.property
    @settings(max_examples=60, deadline=None)
    @given(
        days=st.dictionaries(
            st.integers(0, 60),
            st.tuples(
                st.sampled_from(["09:30", "10:30", "11:00"]), st.sampled_from(["13:00", "16:00"])
            ),
            min_size=1,
        )
    )
    def test_any_sessions_round_trip_through_the_source_text(
        self, days: dict[int, tuple[str, str]]
    ) -> None:
        """Weekend sessions, late opens, early closes and DST days (March 2024) all survive."""
        first, last = date(2024, 2, 20), date(2024, 4, 20)
        found = sorted(
            (
                first + timedelta(days=i),
                ny(str(first + timedelta(days=i)), o).astimezone(UTC),
                ny(str(first + timedelta(days=i)), c).astimezone(UTC),
            )
            for i, (o, c) in days.items()
        )
        text = encode(found, first, last, source="test", generator="test")
        table = table_from_source(text)
        assert isinstance(table, SessionTable)
        assert table.sessions(first, last) == found
