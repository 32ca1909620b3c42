"""The runtime clock: adapters built before a swap see the swapped clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from maxtrader.domain.clock import FixedClock, SystemClock
from maxtrader.runtime import factory
from maxtrader.runtime.clock import SwitchableClock, runtime_clock, use_clock


@pytest.fixture
def restore_clock() -> Iterator[None]:
    before = runtime_clock().delegate
    yield
    use_clock(before)


def test_the_runtime_clock_is_the_wall_clock_by_default() -> None:
    clock = SwitchableClock()
    assert isinstance(clock.delegate, SystemClock)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_a_holder_of_the_factory_clock_follows_use_clock(restore_clock: None) -> None:
    held = factory.clock()  # what an adapter keeps from its construction
    fixed = FixedClock(datetime(2024, 6, 3, 13, 30, tzinfo=UTC))
    use_clock(fixed)
    assert held.now() == fixed.now()
    fixed.advance(60)
    assert held.now() == datetime(2024, 6, 3, 13, 31, tzinfo=UTC)
