"""The backtest's precomputed history split equals the plain one, bar for bar, error for error."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pytest

from maxtrader.config.strategies import StrategiesConfig
from maxtrader.domain.models import Bar
from maxtrader.domain.strategies.base import split_sessions
from maxtrader.domain.strategies.history import BarDays, PriorSession, prior_sessions
from maxtrader.domain.strategies.routing import strategy_named
from tests.unit.strategies.builders import DAY, at, bar, path_bars, prior_days, session


def _days(n: int) -> tuple[list[date], list[Bar]]:
    """``n`` sessions before DAY with a few pre-market and after-hours bars (own date groups)."""
    days = prior_days(DAY, n)
    bars: list[Bar] = []
    for i, d in enumerate(days):
        bars.append(bar(at(d, "08:00"), 99.0, 99.5, 98.5, 99.0))
        closes = [100.0 + i + 0.1 * (k % 7) * (-1) ** k for k in range(40)]
        bars += path_bars(d, "09:30", closes, wick=0.05 * (i + 1))
        bars.append(bar(at(d, "17:00"), 99.0, 99.5, 98.5, 99.0))
    return days, bars


def _plain(s: Sequence[PriorSession]) -> list[tuple[date, list[Bar]]]:
    return [(p.day, list(p.bars)) for p in s]


def test_every_slice_splits_as_the_plain_list_does() -> None:
    _, bars = _days(6)
    index = BarDays(bars)
    for lo in range(0, len(bars), 7):
        for hi in range(lo, len(bars) + 1, 11):
            fast = index.history(lo, hi)
            assert list(fast) == bars[lo:hi] and len(fast) == hi - lo
            assert _plain(prior_sessions(fast, DAY)) == _plain(prior_sessions(bars[lo:hi], DAY))
            assert split_sessions(fast, DAY) == split_sessions(bars[lo:hi], DAY)
            if hi > lo:
                assert fast[0] == bars[lo] and fast[-1] == bars[hi - 1]
                assert list(fast[1:3]) == bars[lo:hi][1:3]
    with pytest.raises(IndexError):
        index.history(0, 3)[3]


def test_look_ahead_and_unsorted_raise_the_same_error() -> None:
    days, bars = _days(4)
    index = BarDays(bars)
    for before in days:
        with pytest.raises(ValueError, match="look-ahead") as plain:
            prior_sessions(bars, before)
        with pytest.raises(ValueError, match="look-ahead") as fast:
            prior_sessions(index.history(0, len(bars)), before)
        assert str(fast.value) == str(plain.value)
    shuffled = [*bars[:10], bars[11], bars[10], *bars[12:]]
    with pytest.raises(ValueError, match="not strictly increasing") as plain:
        prior_sessions(shuffled, DAY)
    with pytest.raises(ValueError, match="not strictly increasing") as fast:
        prior_sessions(BarDays(shuffled).history(0, len(shuffled)), DAY)
    assert str(fast.value) == str(plain.value)
    # the unsorted pair outside the slice does not matter to the slice
    fine = BarDays(shuffled).history(20, len(shuffled))
    assert _plain(prior_sessions(fine, DAY)) == _plain(prior_sessions(shuffled[20:], DAY))


def test_a_summary_is_computed_once_per_span_and_shared() -> None:
    _, bars = _days(3)
    index = BarDays(bars)
    calls: list[int] = []

    def count(b: Sequence[Bar]) -> int:
        calls.append(len(b))
        return len(b)

    first = [s.summary("n", count) for s in prior_sessions(index.history(0, len(bars)), DAY)]
    again = [s.summary("n", count) for s in prior_sessions(index.history(0, len(bars)), DAY)]
    assert first == again == [len(b) for b in split_sessions(bars, DAY)]
    assert len(calls) == len(first)  # the second history reused the memo
    plain = [s.summary("n", count) for s in prior_sessions(bars, DAY)]
    assert plain == first and len(calls) == 2 * len(first)  # no memo on a plain list


@pytest.mark.parametrize("name", ["wave_renko", "smart_money"])
def test_start_session_is_the_same_from_either_history(name: str) -> None:
    _, bars = _days(12)
    strategy = strategy_named(name, StrategiesConfig())
    index = BarDays(bars)
    for lo in (0, 42, 84):
        plain = strategy.start_session("SPY", session(), bars[lo:])
        for _ in range(2):  # the second start reads the memo
            fast = strategy.start_session("SPY", session(), index.history(lo, len(bars)))
            assert fast.model_dump_json() == plain.model_dump_json()
    assert strategy.start_session("SPY", session(), bars).ready
