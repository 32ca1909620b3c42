"""The live bar loop on real SPY minutes, through the DynamoDB session store on moto server.

Each bar is handled as the signals Lambda will: store the bar, load the strategy's state, step
it, save it conditioned on the bar's time. Bars are also redelivered (duplicates) and delivered
late (stale): those saves return False and change nothing, so the signals and the final state
are exactly those of an in-memory loop over the same bars.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import boto3
import pytest

from maxtrader.adapters.dynamodb_session_store import DynamoDBSessionStore
from maxtrader.adapters.dynamodb_store import CLIENT_CONFIG
from maxtrader.domain.calendar import Session
from maxtrader.domain.models import Bar, Signal
from maxtrader.domain.ports import StoredStrategyState
from maxtrader.domain.strategies.base import Strategy
from tests.unit.strategies import test_real_data as real

pytestmark = pytest.mark.slow
# The real-data strategy tests' strategies and SPY sessions (April to July 2024), reused.
CAL, make, spy_days = real.CAL, real.make, real.spy_days
VARIANTS = ["wave_renko", "vwap_reversion", "smart_money_loose"]


def started(strategy: Strategy[Any], days: dict[date, list[Bar]], day: date) -> tuple[Any, Session]:
    known = sorted(days)
    i = known.index(day)
    history = [b for d in known[max(0, i - strategy.history_sessions) : i] for b in days[d]]
    session = CAL.session(day)
    assert session is not None
    return strategy.start_session("SPY", session, history), session


def in_memory(strategy: Strategy[Any], state: Any, bars: list[Bar]) -> tuple[list[Signal], Any]:
    signals: list[Signal] = []
    for bar in bars:
        state, out = strategy.step(state, bar)
        signals += out
    return signals, state


def deliveries(bars: list[Bar]) -> list[Bar]:
    """Every bar in order, every 7th again at once, and every 11th again 5 bars late."""
    out: list[Bar] = []
    for i, bar in enumerate(bars):
        out.append(bar)
        if i % 7 == 0:
            out.append(bar)
        if i >= 5 and i % 11 == 0:
            out.append(bars[i - 5])
    return out


@pytest.mark.parametrize("name", VARIANTS)
def test_the_live_loop_makes_the_in_memory_loop_s_decisions(
    name: str, spy_days: dict[date, list[Bar]], state_table: str
) -> None:
    strategy = make(name)
    # The first May session on which this strategy signals (found in memory, then replayed live).
    for day in sorted(d for d in spy_days if d.month == 5):
        first, session = started(strategy, spy_days, day)
        expected, final = in_memory(strategy, first, spy_days[day])
        if expected:
            break
    assert expected, f"{name}: no signal in May 2024"
    # Up to 30 bars past the first signal: the decisions to compare, at a bounded cost.
    cut = next(i for i, b in enumerate(spy_days[day]) if b.ts == expected[0].bar_ts) + 30
    bars = spy_days[day][:cut]
    expected, final = in_memory(strategy, first, bars)

    store = DynamoDBSessionStore(boto3.client("dynamodb", config=CLIENT_CONFIG), state_table)
    before_open = session.open - timedelta(minutes=1)  # the pre-market run saves the start
    assert store.save_strategy_state(
        StoredStrategyState(strategy.name, "SPY", before_open, first.model_dump_json())
    )
    signals: list[Signal] = []
    refused = 0
    largest = 0
    for bar in deliveries(bars):
        store.put_bars([bar], expires_at=session.close + timedelta(days=2))
        stored = store.strategy_state(strategy.name, "SPY")
        assert stored is not None
        state, out = strategy.step(strategy.load_state(stored.payload), bar)
        payload = state.model_dump_json()
        largest = max(largest, len(payload.encode()))
        if store.save_strategy_state(StoredStrategyState(strategy.name, "SPY", bar.ts, payload)):
            signals += out
        else:
            refused += 1
            assert out == []  # a bar already stepped: the strategy itself ignores it
    assert signals == expected
    stored = store.strategy_state(strategy.name, "SPY")
    assert stored is not None and strategy.load_state(stored.payload) == final
    assert refused == len(deliveries(bars)) - len(bars)
    assert store.bars("SPY", session.open, session.close) == bars
    assert largest < 50_000, f"{name}: a {largest}-byte state is far from the 400 KB item limit"
