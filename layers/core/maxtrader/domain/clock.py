"""Clocks. The core never calls ``datetime.now()``: it is handed a Clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from maxtrader.domain.errors import InvalidInputError

NEW_YORK = ZoneInfo("America/New_York")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class SystemClock:
    """Wall-clock time, for the Lambdas and the CLI only."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that moves only when told to: tests and backtests."""

    def __init__(self, start: datetime) -> None:
        _require_aware(start)
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        _require_aware(when)
        self._now = when.astimezone(UTC)

    def advance(self, delta: timedelta | float) -> datetime:
        """Move forward by a timedelta or a number of seconds; time never runs backwards."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        if step < timedelta(0):
            raise InvalidInputError("a clock cannot move backwards")
        self._now += step
        return self._now


def _require_aware(when: datetime) -> None:
    if when.tzinfo is None or when.utcoffset() is None:
        raise InvalidInputError(
            f"naive datetime {when.isoformat()} given to a clock; attach a timezone"
        )


def trading_date(ts: datetime) -> str:
    """The New York calendar date of an instant, ISO formatted (the key of daily counters)."""
    _require_aware(ts)
    return ts.astimezone(NEW_YORK).date().isoformat()


def iso_week(ts: datetime) -> str:
    """New York ISO week, e.g. ``2025-W03`` (the key of weekly P&L)."""
    year, week, _ = ts.astimezone(NEW_YORK).isocalendar()
    return f"{year}-W{week:02d}"


def month_key(ts: datetime) -> str:
    """New York month, e.g. ``2025-01`` (the key of monthly P&L)."""
    return ts.astimezone(NEW_YORK).strftime("%Y-%m")
