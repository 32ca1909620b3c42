"""Hand-built bars and sessions for strategy tests (times in New York)."""

# ruff: noqa: PLR0917 - OHLC read best positionally in tests

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta

from maxtrader.domain.calendar import MarketCalendar, Session
from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.models import Bar

CAL = MarketCalendar.xnys("2024-01-01", "2025-12-31")
DAY = date(2024, 6, 12)  # a Wednesday; the 6 sessions before it are plain full days
MIRROR = 200.0  # prices p are mirrored to MIRROR - p


def session(day: date = DAY) -> Session:
    s = CAL.session(day)
    assert s is not None
    return s


def prior_days(day: date, count: int) -> list[date]:
    return [s.day for s in CAL.previous_sessions(day, count)]


def at(day: date, hhmm: str) -> datetime:
    h, m = hhmm.split(":")
    return datetime.combine(day, time(int(h), int(m)), tzinfo=NEW_YORK)


def bar(
    ts: datetime,
    o: float,
    h: float,
    lo: float,
    c: float,
    volume: float = 1000.0,
    symbol: str = "SPY",
) -> Bar:
    return Bar(symbol=symbol, ts=ts, open=o, high=h, low=lo, close=c, volume=volume)


def path_bars(
    day: date,
    start: str,
    closes: Sequence[float],
    *,
    first_open: float | None = None,
    volume: float = 1000.0,
    wick: float = 0.0,
) -> list[Bar]:
    """One bar a minute from ``start``: open = previous close, ``wick`` beyond the body."""
    out: list[Bar] = []
    prev = closes[0] if first_open is None else first_open
    t0 = at(day, start)
    for i, c in enumerate(closes):
        hi, lo = max(prev, c) + wick, min(prev, c) - wick
        out.append(bar(t0 + timedelta(minutes=i), prev, hi, lo, c, volume))
        prev = c
    return out


def candle_minutes(
    day: date, start: str, o: float, h: float, lo: float, c: float, minutes: int
) -> list[Bar]:
    """``minutes`` 1-minute bars whose aggregate is exactly the candle (O, H, L, C):
    down from O to L, up to H, flat at H, and to C in the last minute."""
    t0 = at(day, start)
    if minutes == 1:
        return [bar(t0, o, h, lo, c)]
    if minutes == 2:
        return [bar(t0, o, o, lo, lo), bar(t0 + timedelta(minutes=1), lo, h, lo, c)]
    out = [bar(t0, o, o, lo, lo), bar(t0 + timedelta(minutes=1), lo, h, lo, h)]
    out += [bar(t0 + timedelta(minutes=i), h, h, h, h) for i in range(2, minutes - 1)]
    out.append(bar(t0 + timedelta(minutes=minutes - 1), h, h, c, c))
    return out


def mirror(bars: Iterable[Bar]) -> list[Bar]:
    """Prices reflected about MIRROR/2: every up move becomes a down move."""
    return [
        b.model_copy(
            update={
                "open": MIRROR - b.open,
                "high": MIRROR - b.low,
                "low": MIRROR - b.high,
                "close": MIRROR - b.close,
            }
        )
        for b in bars
    ]
