"""Property: whatever the delivery order, duplicates, polls and REST outages, every minute is
stepped exactly once and the session ends in a clean run's states."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.domain.errors import DataError
from tests.support.signals_world import DAY, SignalsWorld, minute, session_bars, session_of

pytestmark = pytest.mark.property

MINUTES = 25
SESSION = session_of(DAY)
PREVIOUS = session_of(DAY - timedelta(days=1))
BARS = [minute("SPY", DAY, i) for i in range(MINUTES)]


def world() -> SignalsWorld:
    w = SignalsWorld(("SPY",))
    w.market.add(session_bars("SPY", PREVIOUS.day) + BARS)
    w.store_regime(DAY, 17.0)
    return w


@lru_cache(maxsize=1)
def clean() -> dict[str, Any]:
    w = world()
    for bar in BARS:
        w.push(bar)
    return {n: w.sessions.strategy_state(n, "SPY") for n in w.deps.strategies}


actions = st.lists(
    st.one_of(
        st.tuples(st.just("push"), st.integers(0, MINUTES - 1)),
        st.tuples(st.just("poll"), st.integers(0, MINUTES + 3)),
        st.tuples(st.just("outage"), st.integers(1, 3)),
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(actions)
def test_any_delivery_schedule_steps_each_minute_once_and_ends_clean(
    schedule: list[tuple[str, int]],
) -> None:
    w = world()
    stepped: list[Any] = []

    def attempt(action: str, value: int) -> None:
        try:
            if action == "push":
                outcome = w.push(BARS[value])
            else:
                outcome = w.poll(SESSION.open + timedelta(minutes=value, seconds=5))
        except DataError:
            return  # REST was down: nothing stepped; a later delivery retries
        stepped.extend([1] * outcome.stepped)

    for action, value in schedule:
        if action == "outage":
            w.market.fail_next(value)
        else:
            attempt(action, value)
    w.market.recover()  # the vendor is back
    attempt("poll", MINUTES + 1)  # the last minute closed by then
    assert len(stepped) == MINUTES  # every minute stepped, none twice
    assert {n: w.sessions.strategy_state(n, "SPY") for n in w.deps.strategies} == clean()
    held = w.sessions.bars("SPY", SESSION.open, SESSION.close)  # what REST filled, stored once
    assert all(bar == BARS[int((bar.ts - SESSION.open).total_seconds()) // 60] for bar in held)
