"""Fill prices: slippage direction and the price floor (when an exit is due: tests/unit/trading)."""

from __future__ import annotations

import pytest

from maxtrader.backtest.fills import MIN_PRICE, entry_fill_price, exit_fill_price
from maxtrader.domain.models import Direction
from maxtrader.trading.exits import ExitReason


def test_slippage_direction_and_floor():
    assert entry_fill_price(Direction.LONG, 100.0, 0.01) == pytest.approx(100.01)
    assert entry_fill_price(Direction.SHORT, 100.0, 0.01) == pytest.approx(99.99)
    assert exit_fill_price(Direction.LONG, ExitReason.STOP, 99.0, 0.01) == pytest.approx(98.99)
    assert exit_fill_price(Direction.SHORT, ExitReason.STOP, 101.0, 0.01) == pytest.approx(101.01)
    assert exit_fill_price(Direction.LONG, ExitReason.TARGET, 102.0, 0.01) == 102.0
    assert exit_fill_price(Direction.LONG, ExitReason.FLATTEN, 0.005, 0.01) == MIN_PRICE
