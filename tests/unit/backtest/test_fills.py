"""Fill and exit rules as pure functions: the stop-first invariant over generated bars."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.backtest.fills import (
    MIN_PRICE,
    ExitReason,
    entry_fill_price,
    exit_fill_price,
    touched_exit,
)
from maxtrader.domain.models import Direction

prices = st.floats(min_value=1.0, max_value=1000.0, allow_nan=False)


@st.composite
def bars(draw: st.DrawFn) -> tuple[float, float, float, float]:
    a, b, c = sorted(draw(st.lists(prices, min_size=3, max_size=3)))
    return draw(st.sampled_from([a, b, c])), c, a, b  # open, high, low, (unused close)


@pytest.mark.property
@settings(max_examples=300, deadline=None)
@given(
    bar=bars(),
    entry=prices,
    risk=st.floats(0.01, 50),
    reward=st.floats(0.01, 50),
    side=st.sampled_from(list(Direction)),
)
def test_a_bar_touching_both_levels_always_exits_at_the_stop(bar, entry, risk, reward, side):
    sign = 1 if side is Direction.LONG else -1
    stop, target = entry - sign * risk, entry + sign * reward
    o, h, lo, _ = bar
    hit = touched_exit(side, stop=stop, target=target, bar_open=o, bar_high=h, bar_low=lo)
    touches_stop = lo <= stop if side is Direction.LONG else h >= stop
    touches_target = h >= target if side is Direction.LONG else lo <= target
    opens_between = min(stop, target) < o < max(stop, target)
    if opens_between and touches_stop:
        assert hit == (ExitReason.STOP, stop)  # both touched: the stop, pessimistically
    elif opens_between and touches_target:
        assert hit == (ExitReason.TARGET, target)
    elif opens_between:
        assert hit is None
    else:
        assert hit is not None and hit[1] == o  # a gap through a level: filled at the open
    if hit is not None:
        assert lo <= hit[1] <= h  # an exit price the bar actually traded


def test_slippage_direction_and_floor():
    assert entry_fill_price(Direction.LONG, 100.0, 0.01) == pytest.approx(100.01)
    assert entry_fill_price(Direction.SHORT, 100.0, 0.01) == pytest.approx(99.99)
    assert exit_fill_price(Direction.LONG, ExitReason.STOP, 99.0, 0.01) == pytest.approx(98.99)
    assert exit_fill_price(Direction.SHORT, ExitReason.STOP, 101.0, 0.01) == pytest.approx(101.01)
    assert exit_fill_price(Direction.LONG, ExitReason.TARGET, 102.0, 0.01) == 102.0
    assert exit_fill_price(Direction.LONG, ExitReason.FLATTEN, 0.005, 0.01) == MIN_PRICE
