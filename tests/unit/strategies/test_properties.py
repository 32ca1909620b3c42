"""Invariants on random sessions: no crash, signals inside the window and above min_rr,
exact state round trips, and signals that depend only on bars up to their own."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.config.strategies import HighVol, SessionRules, VwapMeanReversion, WaveRenko
from maxtrader.domain.models import Bar, Direction, Signal
from maxtrader.domain.strategies.base import Strategy
from maxtrader.domain.strategies.smart_money import SmartMoneyStrategy
from maxtrader.domain.strategies.vwap_reversion import VwapReversionStrategy
from maxtrader.domain.strategies.wave_renko import WaveRenkoStrategy
from tests.unit.strategies.builders import DAY, at, bar, prior_days, session

pytestmark = pytest.mark.property

RULES = SessionRules()
STRATEGIES: list[Strategy[Any]] = [
    WaveRenkoStrategy(WaveRenko(min_brick=0.01, brick_atr_mult=1.0, min_rr=0.5), RULES),
    VwapReversionStrategy(
        VwapMeanReversion(min_rr=0.3, cooldown_bars=0, max_signals_per_day=50), RULES
    ),
    SmartMoneyStrategy(
        HighVol(displacement_atr=0.5, min_rr=0.3, htf_minutes=15, ltf_minutes=1), RULES
    ),
]


def walk(rng: random.Random, day_index: int, count: int, gap: int) -> list[Bar]:
    """A random walk session: ``count`` bars every ``gap`` minutes from 09:30 (gaps included)."""
    day = [*prior_days(DAY, 8), DAY][day_index]
    price = 100.0
    out = []
    t0 = at(day, "09:30")
    for i in range(count):
        o = price
        price = max(1.0, price + rng.uniform(-0.6, 0.6))
        hi = max(o, price) + rng.uniform(0, 0.2)
        lo = max(0.5, min(o, price) - rng.uniform(0, 0.2))
        volume = rng.choice([0, rng.randint(1, 5000)])
        out.append(bar(t0 + timedelta(minutes=gap * i), o, hi, lo, price, volume))
    return out


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    count=st.integers(min_value=40, max_value=129),
    gap=st.sampled_from([1, 2, 3]),
    which=st.integers(min_value=0, max_value=2),
)
def test_random_sessions_keep_every_invariant(seed: int, count: int, gap: int, which: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - test data, not cryptography
    hist = [b for i in range(8) for b in walk(rng, i, rng.randint(20, 60), 1)]
    bars = walk(rng, 8, count, gap)
    strategy = STRATEGIES[which]
    state = strategy.start_session("SPY", session(), hist)
    signals: list[Signal] = []
    per_bar: list[list[Signal]] = []
    for b in bars:
        reloaded = strategy.load_state(state.model_dump_json())
        assert reloaded == state
        state, out = strategy.step(reloaded, b)
        per_bar.append(out)
        signals += out
    for sig in signals:
        assert sig.reward_risk >= strategy.min_rr - 1e-9
        closed = sig.bar_ts + timedelta(minutes=1)
        assert state.entry_start <= closed < state.entry_end
        assert (
            (sig.stop < sig.entry < sig.target)
            if sig.side is Direction.LONG
            else (sig.target < sig.entry < sig.stop)
        )
    # a prefix of the session yields exactly the prefix of the signals
    cut = len(bars) // 2
    again = strategy.start_session("SPY", session(), hist)
    prefix: list[Signal] = []
    for b in bars[:cut]:
        again, out = strategy.step(again, b)
        prefix += out
    assert prefix == [s for out in per_bar[:cut] for s in out]
