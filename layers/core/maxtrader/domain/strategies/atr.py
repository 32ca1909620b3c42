"""True range and ATR (simple mean of true range, as the spec defines it)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain
from statistics import median
from typing import Protocol


class OHLC(Protocol):
    @property
    def open(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def close(self) -> float: ...


def true_range(high: float, low: float, prev_close: float | None) -> float:
    """max(H - L, |H - prev C|, |L - prev C|); without a previous close, H - L."""
    if prev_close is None:
        return high - low
    return max(high - low, abs(high - prev_close), abs(low - prev_close))


def atr(candles: Sequence[OHLC], period: int) -> float | None:
    """ATR(period) at the last candle: mean TR of the last ``period`` candles (None if too few).

    Each TR uses the close of the candle before it when the sequence holds one.
    """
    if len(candles) < period:
        return None
    start = len(candles) - period
    total = 0.0
    for i in range(start, len(candles)):
        prev = candles[i - 1].close if i > 0 else None
        c = candles[i]
        total += true_range(c.high, c.low, prev)
    return total / period


def median_session_atr(sessions: Sequence[Sequence[OHLC]], period: int) -> float | None:
    """Median of the ATR(period) series over several sessions of 1-minute bars.

    Within each session TR uses the previous bar's close (the first bar of a session uses H - L:
    the overnight gap is not intraday movement) and ATR windows never span two sessions, so the
    brick size measures intraday minute-to-minute range only. None when no session has
    ``period`` bars.
    """
    return median_of([session_atr_series(bars, period) for bars in sessions])


def median_of(series: Iterable[Sequence[float]]) -> float | None:
    """Median of several series pooled (order-free: a per-session series may come sorted)."""
    values = list(chain.from_iterable(series))
    return median(values) if values else None


def session_atr_series(bars: Sequence[OHLC], period: int) -> list[float]:
    """The ATR(period) of one session at each bar from its ``period``-th on (see above)."""
    trs = session_true_ranges(bars)
    values: list[float] = []
    running = 0.0
    for i, tr in enumerate(trs):
        running += tr
        if i >= period:
            running -= trs[i - period]
        if i >= period - 1:
            values.append(running / period)
    return values


def session_true_ranges(bars: Sequence[OHLC]) -> list[float]:
    """``true_range`` of each bar against the previous bar's close (the first: H - L).

    true_range is inlined, its max() written as the same comparisons (first maximum kept): this
    loop runs over every bar of the history.
    """
    if not bars:
        return []
    first = bars[0]
    trs = [first.high - first.low]
    prev = first.close
    for bar in bars[1:]:
        high, low = bar.high, bar.low
        tr = high - low
        up, down = abs(high - prev), abs(low - prev)
        tr = up if up > tr else tr
        trs.append(down if down > tr else tr)
        prev = bar.close
    return trs
