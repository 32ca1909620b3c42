"""The hot-path forms of the indicators are bit-for-bit the plain definitions they replace."""

from __future__ import annotations

import math
from statistics import median
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.domain.strategies.atr import median_of, session_true_ranges, true_range
from maxtrader.domain.strategies.vwap import RunningVwap, VwapSums
from tests.unit.strategies.builders import DAY, at, bar


class _Candle(NamedTuple):
    open: float
    high: float
    low: float
    close: float


_price = st.floats(min_value=1.0, max_value=1000.0, allow_nan=False)


@st.composite
def _candles(draw: st.DrawFn) -> list[_Candle]:
    out = []
    for _ in range(draw(st.integers(min_value=0, max_value=60))):
        a, b, c = sorted(draw(st.lists(_price, min_size=3, max_size=3)))
        out.append(_Candle(b, c, a, draw(st.sampled_from([a, b, c]))))
    return out


pytestmark = pytest.mark.property


@settings(max_examples=200, deadline=None)
@given(_candles())
def test_session_true_ranges_are_exactly_true_range(bars: list[_Candle]) -> None:
    closes = [None, *(b.close for b in bars)]
    expected = [true_range(b.high, b.low, prev) for b, prev in zip(bars, closes, strict=False)]
    assert session_true_ranges(bars) == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.floats(-1e3, 1e3), max_size=30), max_size=6))
def test_median_of_sorted_series_is_the_median_of_the_pool(series: list[list[float]]) -> None:
    pooled = [v for s in series for v in s]
    expected = median(pooled) if pooled else None
    assert median_of(series) == expected
    assert median_of([sorted(s) for s in series]) == expected  # how the memo stores them


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(_price, _price, _price, st.floats(0, 1e6)), max_size=40))
def test_running_vwap_stats_are_the_plain_formulas(rows: list[tuple[float, ...]]) -> None:
    running = RunningVwap(VwapSums())
    n = shift = v = xv = x2v = 0.0
    for k, (p1, p2, p3, volume) in enumerate(rows):
        lo, mid, hi = sorted((p1, p2, p3))
        ts = at(DAY, "09:30").replace(minute=30 + k % 30, hour=9 + (30 + k) // 60)
        running.add(bar(ts, mid, hi, lo, mid, volume=volume))
        tp = (hi + lo + mid) / 3.0
        shift = tp if v <= 0 else shift
        x = tp - shift
        n, v, xv, x2v = n + 1, v + volume, xv + volume * x, x2v + volume * x * x
        assert running.sums() == VwapSums(n=int(n), shift=shift, v=v, xv=xv, x2v=x2v)
        if v <= 0:
            assert running.stats() is None and running.vwap() is None
            continue
        mean = xv / v
        assert running.stats() == (shift + xv / v, math.sqrt(max(x2v / v - mean * mean, 0.0)))
