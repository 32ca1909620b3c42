"""Homma (candlestick) patterns used by the HIGH_VOL trigger, with their mirrors.

body = |C - O|, range = H - L; a candle with zero range never forms a pattern. The "tiny body"
allowance of the hammer is read as: upper wick <= max(0.3 x body, 5% of range), i.e. the 5% rule
takes over exactly when the body is below 1/6 of the range.
"""

from __future__ import annotations

from collections.abc import Sequence

from maxtrader.domain.strategies.atr import OHLC


def _parts(c: OHLC) -> tuple[float, float, float, float]:
    """(body, range, upper wick, lower wick)."""
    top, bottom = max(c.open, c.close), min(c.open, c.close)
    return top - bottom, c.high - c.low, c.high - top, bottom - c.low


def is_hammer(c: OHLC) -> bool:
    body, rng, upper, lower = _parts(c)
    if rng <= 0:
        return False
    return (
        lower >= 2 * body
        and upper <= max(0.3 * body, 0.05 * rng)
        and min(c.open, c.close) >= c.low + 2 * rng / 3
    )


def is_shooting_star(c: OHLC) -> bool:
    body, rng, upper, lower = _parts(c)
    if rng <= 0:
        return False
    return (
        upper >= 2 * body
        and lower <= max(0.3 * body, 0.05 * rng)
        and max(c.open, c.close) <= c.low + rng / 3
    )


def is_bullish_engulfing(prev: OHLC, cur: OHLC) -> bool:
    if prev.high <= prev.low or cur.high <= cur.low:
        return False
    return (
        prev.close < prev.open
        and cur.close > cur.open
        and cur.open <= prev.close
        and cur.close >= prev.open
        and cur.close - cur.open > prev.open - prev.close
    )


def is_bearish_engulfing(prev: OHLC, cur: OHLC) -> bool:
    if prev.high <= prev.low or cur.high <= cur.low:
        return False
    return (
        prev.close > prev.open
        and cur.close < cur.open
        and cur.open >= prev.close
        and cur.close <= prev.open
        and cur.open - cur.close > prev.close - prev.open
    )


def is_morning_star(c1: OHLC, c2: OHLC, c3: OHLC) -> bool:
    if min(c.high - c.low for c in (c1, c2, c3)) <= 0:
        return False
    body1 = c1.open - c1.close
    return (
        body1 > 0
        and body1 >= 0.6 * (c1.high - c1.low)
        and abs(c2.close - c2.open) <= 0.3 * body1
        and c3.close > c3.open
        and c3.close > (c1.open + c1.close) / 2  # midpoint of bar 1's body
    )


def is_evening_star(c1: OHLC, c2: OHLC, c3: OHLC) -> bool:
    if min(c.high - c.low for c in (c1, c2, c3)) <= 0:
        return False
    body1 = c1.close - c1.open
    return (
        body1 > 0
        and body1 >= 0.6 * (c1.high - c1.low)
        and abs(c2.close - c2.open) <= 0.3 * body1
        and c3.close < c3.open
        and c3.close < (c1.open + c1.close) / 2
    )


def bullish_pattern(candles: Sequence[OHLC]) -> str | None:
    """The bullish pattern completed by the last candle, if any (checked in this order)."""
    if not candles:
        return None
    if is_hammer(candles[-1]):
        return "hammer"
    if len(candles) >= 2 and is_bullish_engulfing(candles[-2], candles[-1]):
        return "bullish engulfing"
    if len(candles) >= 3 and is_morning_star(candles[-3], candles[-2], candles[-1]):
        return "morning star"
    return None


def bearish_pattern(candles: Sequence[OHLC]) -> str | None:
    """The bearish pattern completed by the last candle, if any."""
    if not candles:
        return None
    if is_shooting_star(candles[-1]):
        return "shooting star"
    if len(candles) >= 2 and is_bearish_engulfing(candles[-2], candles[-1]):
        return "bearish engulfing"
    if len(candles) >= 3 and is_evening_star(candles[-3], candles[-2], candles[-1]):
        return "evening star"
    return None
