"""Higher-timeframe candles aggregated from closed 1-minute bars within a session.

Buckets are anchored at the session open (09:30, 09:35, ... / 09:30, 10:30, ...); the last bucket
ends at the session close (so a 60-minute bucket on a 13:00 early close is 12:30-13:00). A candle
is closed, and usable, once its last minute has closed, or once a bar of a later bucket arrives
(a missing minute must not hold a finished bucket open).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import AwareDatetime

from maxtrader.domain.models import Bar, DomainModel
from maxtrader.domain.strategies.base import construct, evolve


class Candle(DomainModel):
    start: AwareDatetime
    end: AwareDatetime  # exclusive: the candle is closed at ``end``
    open: float
    high: float
    low: float
    close: float
    volume: float

    @property
    def body(self) -> float:
        return abs(self.close - self.open)

    @property
    def range(self) -> float:
        return self.high - self.low


def bucket_bounds(
    ts: datetime, session_open: datetime, session_close: datetime, minutes: int
) -> tuple[datetime, datetime]:
    width = timedelta(minutes=minutes)
    index = (ts - session_open) // width
    start = session_open + index * width
    return start, min(start + width, session_close)


def aggregate(
    partial: Candle | None,
    bar: Bar,
    session_open: datetime,
    session_close: datetime,
    minutes: int,
) -> tuple[Candle | None, list[Candle]]:
    """Fold a 1-minute bar in; returns (the open bucket or None, candles closed by this bar)."""
    closed: list[Candle] = []
    if partial is not None and bar.ts >= partial.end:
        closed.append(partial)  # a later bucket started: the old one is over
        partial = None
    if partial is None:
        start, end = bucket_bounds(bar.ts, session_open, session_close, minutes)
        partial = construct(
            Candle,
            {
                "start": start,
                "end": end,
                "open": bar.open,
                "high": bar.high,
                "low": bar.low,
                "close": bar.close,
                "volume": bar.volume,
            },
        )
    else:
        partial = evolve(
            partial,
            {
                "high": max(partial.high, bar.high),
                "low": min(partial.low, bar.low),
                "close": bar.close,
                "volume": partial.volume + bar.volume,
            },
        )
    if bar.ts + timedelta(minutes=1) >= partial.end:
        closed.append(partial)
        partial = None
    return partial, closed


def session_candles(
    bars: Sequence[Bar], session_open: datetime, session_close: datetime, minutes: int
) -> list[Candle]:
    """All candles of one finished session at once (same buckets as ``aggregate``), for replays."""
    out: list[Candle] = []
    width = timedelta(minutes=minutes)
    index = -1
    o = h = lo = c = v = 0.0
    for bar in bars:
        i = (bar.ts - session_open) // width
        if i != index:
            if index >= 0:
                out.append(_candle(session_open, session_close, width, index, o, h, lo, c, v))
            index, o, h, lo, c, v = i, bar.open, bar.high, bar.low, bar.close, bar.volume
        else:
            h, lo, c, v = max(h, bar.high), min(lo, bar.low), bar.close, v + bar.volume
    if index >= 0:
        out.append(_candle(session_open, session_close, width, index, o, h, lo, c, v))
    return out


def _candle(
    session_open: datetime,
    session_close: datetime,
    width: timedelta,
    index: int,
    *ohlcv: float,
) -> Candle:
    start = session_open + index * width
    o, h, lo, c, v = ohlcv
    end = min(start + width, session_close)
    return construct(
        Candle,
        {"start": start, "end": end, "open": o, "high": h, "low": lo, "close": c, "volume": v},
    )
