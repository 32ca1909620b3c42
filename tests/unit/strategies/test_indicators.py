"""Indicator building blocks: Renko, ATR, VWAP/sigma, candle aggregation, Homma patterns, zones."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.domain.strategies.aggregate import Candle, aggregate, session_candles
from maxtrader.domain.strategies.atr import atr, median_session_atr, true_range
from maxtrader.domain.strategies.homma import (
    bearish_pattern,
    bullish_pattern,
    is_bearish_engulfing,
    is_bullish_engulfing,
    is_evening_star,
    is_hammer,
    is_morning_star,
    is_shooting_star,
)
from maxtrader.domain.strategies.renko import new_bricks
from maxtrader.domain.strategies.vwap import VwapSums, add_bar, sigma, vwap
from maxtrader.domain.strategies.zones import DEMAND, SUPPLY, Zone, detect_zone
from tests.unit.strategies.builders import DAY, MIRROR, at, bar, path_bars, session

# --- Renko ------------------------------------------------------------------------------------


def bricks(level: int, direction: int, close: float, reversal: int = 1) -> tuple[int, int]:
    return new_bricks(level, direction, anchor=100.0, size=0.5, reversal=reversal, close=close)


def test_first_brick_either_way_needs_one_brick_of_movement() -> None:
    assert bricks(0, 0, 100.49) == (0, 0)
    assert bricks(0, 0, 100.5) == (1, 1)  # exactly on the edge forms the brick
    assert bricks(0, 0, 99.5) == (-1, 1)


def test_several_bricks_on_one_bar() -> None:
    assert bricks(0, 1, 101.74) == (1, 3)
    assert bricks(2, -1, 98.0) == (-1, 6)  # from level 2 (101.0) down to 98.0


def test_reversal_with_one_brick() -> None:
    assert bricks(4, 1, 101.5) == (-1, 1)  # last brick at 102.0, one brick down
    assert bricks(4, 1, 101.6) == (0, 0)


def test_reversal_with_two_bricks() -> None:
    assert bricks(4, 1, 101.5, reversal=2) == (0, 0)  # one brick against is not enough
    assert bricks(4, 1, 101.0, reversal=2) == (-1, 2)
    assert bricks(4, 1, 102.5, reversal=2) == (1, 1)  # continuing still needs only one
    assert bricks(-4, -1, 99.0, reversal=2) == (1, 2)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=90, max_value=110), min_size=1, max_size=60))
def test_renko_levels_track_price_within_a_brick_and_reversal(closes: list[float]) -> None:
    level, direction = 0, 0
    for c in closes:
        d, n = bricks(level, direction, c, reversal=2)
        if n:
            level, direction = level + d * n, d
        # price never sits more than (reversal) bricks away from the last brick's close
        assert abs(c - (100.0 + 0.5 * level)) < 0.5 * 2 + 1e-9


# --- ATR ------------------------------------------------------------------------------------


def test_true_range_uses_the_previous_close() -> None:
    assert true_range(10, 9, None) == 1
    assert true_range(10, 9, 8) == 2
    assert true_range(10, 9, 12) == 3


def test_median_session_atr_resets_at_each_session() -> None:
    # Session A: 14 bars of range 1 (ATR 1); session B: 14 bars of range 3 with an overnight gap
    a = path_bars(DAY, "09:30", [100.0] * 14, wick=0.5)
    b = path_bars(DAY, "09:30", [150.0] * 14, wick=1.5)
    assert median_session_atr([a], 14) == pytest.approx(1.0)
    # the 50-point gap between A's close and B's first bar is not counted
    assert median_session_atr([a, b], 14) == pytest.approx(2.0)
    assert median_session_atr([a[:13]], 14) is None
    assert atr(a, 14) == pytest.approx(1.0) and atr(a, 15) is None


# --- VWAP -----------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(min_value=400, max_value=600), st.integers(min_value=0, max_value=10**6)
        ),
        min_size=1,
        max_size=40,
    )
)
def test_running_vwap_and_sigma_match_the_definition(rows: list[tuple[float, int]]) -> None:
    sums = VwapSums()
    bars = [
        bar(at(DAY, "09:30") + timedelta(minutes=i), p, p + 0.3, p - 0.6, p, v)
        for i, (p, v) in enumerate(rows)
    ]
    for b in bars:
        sums = add_bar(sums, b)
    volume = sum(b.volume for b in bars)
    if volume == 0:
        assert vwap(sums) is None and sigma(sums) is None
        return
    tps = [(b.high + b.low + b.close) / 3 for b in bars]
    mean = sum(tp * b.volume for tp, b in zip(tps, bars, strict=True)) / volume
    var = sum(b.volume * (tp - mean) ** 2 for tp, b in zip(tps, bars, strict=True)) / volume
    assert vwap(sums) == pytest.approx(mean, rel=1e-12)
    # one-pass variance: ~1e-6 absolute error at index prices, far below a cent
    assert sigma(sums) == pytest.approx(math.sqrt(var), rel=1e-6, abs=1e-5)


# --- aggregation ----------------------------------------------------------------------------


def test_five_and_sixty_minute_candles_close_on_their_last_minute() -> None:
    s = session()
    bars = path_bars(DAY, "09:30", [100 + 0.1 * i for i in range(70)])
    partial, closed_5, closed_60 = None, [], []
    partial60 = None
    for b in bars:
        partial, c5 = aggregate(partial, b, s.open, s.close, 5)
        partial60, c60 = aggregate(partial60, b, s.open, s.close, 60)
        closed_5 += [(b.ts, c) for c in c5]
        closed_60 += [(b.ts, c) for c in c60]
    first_ts, first = closed_5[0]
    assert (
        first_ts == at(DAY, "09:34")
        and first.start == at(DAY, "09:30")
        and first.end == at(DAY, "09:35")
    )
    assert (first.open, first.close) == (bars[0].open, bars[4].close)
    assert first.high == max(b.high for b in bars[:5]) and first.volume == 5000
    [(ts60, hour)] = closed_60
    assert ts60 == at(DAY, "10:29") and hour.end == at(DAY, "10:30")
    assert hour.low == min(b.low for b in bars[:60]) and hour.close == bars[59].close


def test_a_missing_minute_closes_the_bucket_when_the_next_bucket_starts() -> None:
    s = session()
    bars = path_bars(DAY, "09:30", [100.0, 100.1, 100.2, 100.3, 100.4, 100.5])
    del bars[4]  # 09:34 missing
    partial = None
    seen = []
    for b in bars:
        partial, closed = aggregate(partial, b, s.open, s.close, 5)
        seen += [(b.ts, c.start) for c in closed]
    assert seen == [(at(DAY, "09:35"), at(DAY, "09:30"))]


def test_last_hour_bucket_is_clipped_at_an_early_close() -> None:
    from datetime import date

    early = session(date(2024, 11, 29))  # closes 13:00
    bars = path_bars(early.day, "12:30", [100.0] * 30)
    partial = None
    out: list[Candle] = []
    for b in bars:
        partial, closed = aggregate(partial, b, early.open, early.close, 60)
        out += closed
    assert partial is None and len(out) == 1
    assert out[0].start == at(early.day, "12:30") and out[0].end == at(early.day, "13:00")


def test_session_candles_equal_incremental_aggregation() -> None:
    s = session()
    bars = path_bars(DAY, "09:30", [100 + math.sin(i / 7) for i in range(390)], wick=0.05)
    del bars[100:103]
    for minutes in (5, 60):
        partial, inc = None, []
        for b in bars:
            partial, closed = aggregate(partial, b, s.open, s.close, minutes)
            inc += closed
        assert partial is None
        assert session_candles(bars, s.open, s.close, minutes) == inc


# --- Homma patterns -------------------------------------------------------------------------


def c(o: float, h: float, lo: float, cl: float) -> Candle:
    t = at(DAY, "10:00")
    return Candle(start=t, end=t, open=o, high=h, low=lo, close=cl, volume=1)


def m(x: Candle) -> Candle:
    return x.model_copy(
        update={
            "open": MIRROR - x.open,
            "high": MIRROR - x.low,
            "low": MIRROR - x.high,
            "close": MIRROR - x.close,
        }
    )


HAMMER = c(100.35, 100.50, 99.90, 100.48)  # long lower wick, body at the top
TINY_HAMMER = c(100.99, 101.0, 100.0, 100.98)  # body 0.01: upper wick 0.01 <= 5 % of range
ENGULF = [c(100.5, 100.6, 99.9, 100.0), c(99.95, 100.7, 99.9, 100.6)]
MORNING = [c(101.0, 101.1, 99.9, 100.0), c(99.95, 100.1, 99.8, 99.9), c(99.95, 100.8, 99.9, 100.7)]


def test_each_bullish_pattern_and_its_bearish_mirror() -> None:
    assert is_hammer(HAMMER) and is_shooting_star(m(HAMMER))
    assert is_hammer(TINY_HAMMER) and is_shooting_star(m(TINY_HAMMER))
    assert is_bullish_engulfing(*ENGULF) and is_bearish_engulfing(*map(m, ENGULF))
    assert is_morning_star(*MORNING) and is_evening_star(*map(m, MORNING))
    assert bullish_pattern([HAMMER]) == "hammer" and bearish_pattern([m(HAMMER)]) == "shooting star"
    assert bullish_pattern(ENGULF) == "bullish engulfing"
    assert bearish_pattern([m(x) for x in ENGULF]) == "bearish engulfing"
    assert bullish_pattern(MORNING) == "morning star"
    assert bearish_pattern([m(x) for x in MORNING]) == "evening star"
    # and never the wrong way round
    assert not is_shooting_star(HAMMER) and not is_hammer(m(HAMMER))
    assert bearish_pattern(MORNING) is None and bullish_pattern([m(x) for x in MORNING]) is None


@pytest.mark.parametrize(
    ("candle", "why"),
    [
        (c(100.35, 100.50, 100.20, 100.48), "lower wick below 2 x body"),
        (c(100.30, 100.60, 99.90, 100.40), "upper wick above 0.3 x body and 5 % of range"),
        (c(102.0, 103.3, 100.0, 103.0), "body not in the upper third"),
        (c(100.0, 100.0, 100.0, 100.0), "zero range"),
    ],
)
def test_not_a_hammer(candle: Candle, why: str) -> None:
    assert not is_hammer(candle), why
    assert not is_shooting_star(m(candle)), why


def test_engulfing_and_star_conditions() -> None:
    prev, cur = ENGULF
    assert not is_bullish_engulfing(
        prev, cur.model_copy(update={"open": 100.05})
    )  # opens above prev C
    assert not is_bullish_engulfing(prev, cur.model_copy(update={"close": 100.45, "high": 100.7}))
    assert not is_bullish_engulfing(cur, cur)  # previous not bearish
    one, two, three = MORNING
    assert not is_morning_star(
        one.model_copy(update={"high": 101.8}), two, three
    )  # body < 0.6 range
    assert not is_morning_star(one, c(99.6, 100.1, 99.5, 100.0), three)  # middle body too big
    assert not is_morning_star(
        one, two, c(99.95, 100.5, 99.9, 100.4)
    )  # not above the midpoint 100.5


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(*[st.floats(min_value=0, max_value=1)] * 4), min_size=3, max_size=3))
def test_bullish_and_bearish_detectors_are_exact_mirrors(raw: list[tuple[float, ...]]) -> None:
    candles = []
    for a, b, d, e in raw:
        lo, h = 100 + min(a, b), 100 + max(a, b)
        candles.append(c(lo + d * (h - lo), h, lo, lo + e * (h - lo)))
    assert bullish_pattern(candles) == _flip(bearish_pattern([m(x) for x in candles]))


def _flip(name: str | None) -> str | None:
    return {
        None: None,
        "shooting star": "hammer",
        "bearish engulfing": "bullish engulfing",
        "evening star": "morning star",
    }[name]


# --- zones ----------------------------------------------------------------------------------


def hour(i: int, o: float, h: float, lo: float, cl: float) -> Candle:
    t = at(DAY, "09:30") + timedelta(hours=i)
    return Candle(start=t, end=t + timedelta(hours=1), open=o, high=h, low=lo, close=cl, volume=1)


QUIET = [hour(i, 100.0, 100.4, 99.7, 100.1) for i in range(15)]  # TR 0.7, body 0.1: bases


def zone_of(candles: list[Candle]) -> Zone | None:
    return detect_zone(
        candles, atr_period=14, displacement_atr=1.5, base_max_candles=3, base_max_body_pct=0.5
    )


def test_displacement_up_after_a_base_forms_a_demand_zone() -> None:
    candles = [
        *QUIET[:-1],
        hour(14, 99.9, 100.2, 99.8, 100.0),
        hour(15, 100.1, 102.5, 100.0, 102.4),
    ]
    zone = zone_of(candles)
    assert zone is not None and zone.kind == DEMAND
    assert (zone.low, zone.high) == (99.7, 100.4)  # the last 3 base candles
    assert zone.formed_at == candles[-1].end


def test_displacement_down_forms_a_supply_zone_and_mirrors() -> None:
    candles = [*QUIET, hour(15, 100.1, 102.5, 100.0, 102.4)]
    up = zone_of(candles)
    down = zone_of([m(x) for x in candles])
    assert up is not None and down is not None and down.kind == SUPPLY
    assert (down.low, down.high) == pytest.approx((MIRROR - up.high, MIRROR - up.low))


def test_no_zone_without_enough_body_base_or_close_beyond() -> None:
    weak = [*QUIET, hour(15, 100.1, 101.2, 100.0, 101.1)]  # body 1.0 < 1.5 x 0.7
    assert zone_of(weak) is None
    no_base = [
        *QUIET[:-1],
        hour(14, 99.7, 100.4, 99.7, 100.4),
        hour(15, 100.4, 102.5, 100.3, 102.4),
    ]
    assert zone_of(no_base) is None  # the candle before is all body
    inside = [*QUIET, hour(15, 98.3, 100.35, 98.2, 100.3)]  # big body but closes inside the base
    assert zone_of(inside) is None
    assert zone_of([*QUIET[:10], hour(10, 100.1, 102.5, 100.0, 102.4)]) is None  # no ATR yet
