from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from maxtrader.domain.clock import FixedClock, SystemClock, iso_week, month_key, trading_date


def test_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock(datetime(2024, 6, 3, 14, 0, tzinfo=UTC))
    assert clock.now() == clock.now()
    assert clock.advance(90) == datetime(2024, 6, 3, 14, 1, 30, tzinfo=UTC)
    clock.advance(timedelta(hours=1))
    assert clock.now() == datetime(2024, 6, 3, 15, 1, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


def test_clocks_refuse_naive_times_and_return_aware_ones() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        FixedClock(datetime(2024, 6, 3, 14, 0))
    assert SystemClock().now().tzinfo is not None


def test_period_keys_follow_new_york_dates() -> None:
    # 2024-12-31 23:30 New York is already 2025-01-01 in UTC: the trading date is New York's.
    late = datetime(2025, 1, 1, 4, 30, tzinfo=UTC)
    assert trading_date(late) == "2024-12-31"
    assert month_key(late) == "2024-12"
    assert iso_week(late) == "2025-W01"  # ISO week 1 of 2025 starts Monday 2024-12-30
