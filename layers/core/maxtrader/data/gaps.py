"""Gap report: which sessions, and which bars of the sessions present, a bar series lacks.

Regular trading hours come from the exchange calendar, so early closes expect fewer bars
(a 13:00 close expects 210 one-minute bars, not 390).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np

from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import NEW_YORK

DAILY_MINUTES = 1440
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NS_PER_MINUTE = 60 * 1_000_000_000


@dataclass(frozen=True, slots=True)
class GapReport:
    """Gaps of one symbol between its first and last session (inclusive)."""

    symbol: str
    minutes: int
    sessions: int
    missing_sessions: tuple[date, ...] = ()
    # Sessions present but incomplete: the start instants (UTC) of the absent bars.
    missing_bars: Mapping[date, tuple[datetime, ...]] = field(default_factory=dict)

    @property
    def missing_bar_count(self) -> int:
        return sum(len(v) for v in self.missing_bars.values())

    @property
    def complete(self) -> bool:
        return not self.missing_sessions and not self.missing_bars

    def summary(self) -> str:
        if self.complete:
            return f"{self.symbol}: {self.sessions} session(s), no gaps"
        parts = []
        if self.missing_sessions:
            shown = ", ".join(d.isoformat() for d in self.missing_sessions[:5])
            more = "…" if len(self.missing_sessions) > 5 else ""
            parts.append(f"{len(self.missing_sessions)} session(s) missing ({shown}{more})")
        if self.missing_bars:
            parts.append(
                f"{self.missing_bar_count} bar(s) missing in {len(self.missing_bars)} session(s)"
            )
        return f"{self.symbol}: {self.sessions} session(s), " + "; ".join(parts)


def find_gaps(symbol: str, ts_ns: np.ndarray, minutes: int, calendar: MarketCalendar) -> GapReport:
    """``ts_ns``: sorted bar starts (int64 ns UTC) inside regular hours."""
    if len(ts_ns) == 0:
        return GapReport(symbol=symbol, minutes=minutes, sessions=0)
    first = _to_datetime(int(ts_ns[0])).astimezone(NEW_YORK).date()
    last = _to_datetime(int(ts_ns[-1])).astimezone(NEW_YORK).date()
    sessions = calendar.sessions_between(first, last)
    missing_sessions: list[date] = []
    missing_bars: dict[date, tuple[datetime, ...]] = {}
    step = minutes * _NS_PER_MINUTE
    # A daily bar is stamped at the day's start (often local midnight), not at the open.
    days = (
        {_to_datetime(int(v)).astimezone(NEW_YORK).date() for v in ts_ns}
        if minutes >= DAILY_MINUTES
        else set()
    )
    for session in sessions:
        if minutes >= DAILY_MINUTES:
            if session.day not in days:
                missing_sessions.append(session.day)
            continue
        open_ns = _to_ns(session.open)
        close_ns = _to_ns(session.close)
        lo = np.searchsorted(ts_ns, open_ns)
        hi = np.searchsorted(ts_ns, close_ns)
        if lo == hi:
            missing_sessions.append(session.day)
            continue
        expected = np.arange(open_ns, close_ns, step, dtype=np.int64)
        absent = np.setdiff1d(expected, ts_ns[lo:hi], assume_unique=True)
        if len(absent):
            missing_bars[session.day] = tuple(_to_datetime(int(v)) for v in absent)
    return GapReport(
        symbol=symbol,
        minutes=minutes,
        sessions=len(sessions),
        missing_sessions=tuple(missing_sessions),
        missing_bars=missing_bars,
    )


def _to_ns(ts: datetime) -> int:
    delta = ts - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def _to_datetime(ns: int) -> datetime:
    return _EPOCH + timedelta(microseconds=ns // 1000)
