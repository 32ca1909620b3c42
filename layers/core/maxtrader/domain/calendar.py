"""The exchange calendar (XNYS): sessions, early closes, the trading window, flatten time.

The calendar itself is plain data (a mapping of dates to open/close instants) so that the core
stays cheap to query. ``exchange_calendars`` is the source of truth, but it pulls in pandas
(~1 s of a cold start), so ``MarketCalendar.xnys`` reads the session table compiled from it
(``xnys_sessions.py``, checked against it by the tests) whenever the table covers the range
asked, and asks exchange_calendars itself (``from_exchange_calendars``) otherwise.
"""

from __future__ import annotations

import bisect
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.errors import CalendarError

REGULAR_CLOSE = time(16, 0)


@dataclass(frozen=True, slots=True)
class Session:
    """One trading session; ``open`` and ``close`` are aware UTC instants."""

    day: date
    open: datetime
    close: datetime

    @property
    def is_early_close(self) -> bool:
        return self.close.astimezone(NEW_YORK).time() < REGULAR_CLOSE

    def contains(self, ts: datetime) -> bool:
        """Regular trading hours are half-open: open <= ts < close."""
        return self.open <= ts < self.close

    def at(self, local: time) -> datetime:
        """An instant of this session's day given as New York wall-clock time."""
        return datetime.combine(self.day, local, tzinfo=NEW_YORK).astimezone(UTC)

    def entry_window(
        self, entry_start: time, stop_before_close: timedelta
    ) -> tuple[datetime, datetime]:
        """Half-open [start, end) in which entries are allowed."""
        return max(self.at(entry_start), self.open), self.close - stop_before_close

    def flatten_time(self, before_close: timedelta) -> datetime:
        return self.close - before_close


class MarketCalendar:
    """Sessions by date, with the queries strategies, health checks and backtests need."""

    def __init__(self, sessions: Iterable[Session]) -> None:
        ordered = sorted(sessions, key=lambda s: s.day)
        if not ordered:
            raise CalendarError("a calendar needs at least one session")
        self._by_day = {s.day: s for s in ordered}
        self._days = [s.day for s in ordered]

    @classmethod
    def xnys(
        cls, start: date | str = "2015-01-01", end: date | str = "2030-12-31"
    ) -> MarketCalendar:
        """The New York Stock Exchange calendar over [start, end] (cached per range).

        From the compiled table when it covers the range (no pandas), else exchange_calendars.
        """
        return _xnys(_as_date(start), _as_date(end))

    @classmethod
    def from_exchange_calendars(cls, start: date | str, end: date | str) -> MarketCalendar:
        """The XNYS calendar built by exchange_calendars itself (imports pandas)."""
        return _from_exchange_calendars(_as_date(start), _as_date(end))

    @property
    def first_day(self) -> date:
        return self._days[0]

    @property
    def last_day(self) -> date:
        return self._days[-1]

    def _check_range(self, day: date) -> None:
        if not self.first_day <= day <= self.last_day:
            raise CalendarError(
                f"{day.isoformat()} is outside the calendar ({self.first_day} .. {self.last_day})"
            )

    def session(self, day: date) -> Session | None:
        """The session on ``day``, or None on a weekend, holiday or closure."""
        self._check_range(day)
        return self._by_day.get(day)

    def is_session(self, day: date) -> bool:
        return self.session(day) is not None

    def session_at(self, ts: datetime) -> Session | None:
        """The session whose regular hours contain ``ts``, else None."""
        session = self.session(ts.astimezone(NEW_YORK).date())
        return session if session is not None and session.contains(ts) else None

    def is_open(self, ts: datetime) -> bool:
        return self.session_at(ts) is not None

    def previous_sessions(self, day: date, count: int) -> list[Session]:
        """The ``count`` sessions strictly before ``day``, oldest first."""
        self._check_range(day)
        end = bisect.bisect_left(self._days, day)
        if end < count:
            raise CalendarError(
                f"fewer than {count} sessions before {day.isoformat()} in the calendar"
            )
        return [self._by_day[d] for d in self._days[end - count : end]]

    def next_session(self, day: date) -> Session:
        """The first session strictly after ``day``."""
        self._check_range(day)
        i = bisect.bisect_right(self._days, day)
        if i >= len(self._days):
            raise CalendarError(f"no session after {day.isoformat()} in the calendar")
        return self._by_day[self._days[i]]

    def sessions_between(self, start: date, end: date) -> list[Session]:
        """Sessions with start <= day <= end."""
        lo = bisect.bisect_left(self._days, start)
        hi = bisect.bisect_right(self._days, end)
        return [self._by_day[d] for d in self._days[lo:hi]]


def _as_date(value: date | str) -> date:
    if isinstance(value, datetime):  # a date too, but not comparable with one
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(value)


@lru_cache(maxsize=4)
def _xnys(start: date, end: date) -> MarketCalendar:
    from maxtrader.domain.xnys_sessions import TABLE  # noqa: PLC0415 - only when one is built

    if not TABLE.covers(start, end):
        return _from_exchange_calendars(start, end)
    return MarketCalendar(
        Session(day=day, open=open_, close=close)
        for day, open_, close in TABLE.sessions(start, end)
    )


@lru_cache(maxsize=4)
def _from_exchange_calendars(start: date, end: date) -> MarketCalendar:
    import exchange_calendars  # noqa: PLC0415 - heavy (pandas); only when a calendar is built

    with warnings.catch_warnings():
        # exchange_calendars trips pandas' own deprecation warnings; they are not ours to fix.
        warnings.simplefilter("ignore")
        cal = exchange_calendars.get_calendar("XNYS", start=start.isoformat(), end=end.isoformat())
        schedule = cal.schedule
    sessions = [
        Session(
            day=label.date(),
            open=row.open.to_pydatetime().astimezone(UTC),
            close=row.close.to_pydatetime().astimezone(UTC),
        )
        for label, row in zip(schedule.index, schedule.itertuples(index=False), strict=True)
    ]
    return MarketCalendar(sessions)
