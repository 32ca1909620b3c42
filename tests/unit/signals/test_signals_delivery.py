"""Signals of a real session (2024-07-02): handed on once, audited once, whatever fails when.

The session is pushed bar by bar; faults are injected at each step of a signalling bar (the
send, the state save) and a concurrent delivery is staged. Whatever happens, the signal queue
delivers each of the day's signals exactly once, in order, the audit holds each once, and the
stored states end as a clean run's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from maxtrader.adapters.memory_market_data import InMemoryMarketData
from maxtrader.domain.errors import StateUnavailableError
from maxtrader.domain.models import AuditKind, Bar, Regime
from maxtrader.domain.ports import StoredStrategyState
from maxtrader.signals import NO_REGIME_REASON, SignalQueueUnavailableError
from tests.support.signals_real import RealDay, real_day
from tests.support.signals_world import SignalsWorld

pytestmark = pytest.mark.slow  # loads the real data (~10 s)


@pytest.fixture(scope="module")
def day() -> RealDay:
    return real_day()


def fresh_world(day: RealDay, *, regime: bool = True) -> SignalsWorld:
    world = SignalsWorld(("SPY",), market=InMemoryMarketData(day.all_bars))
    if regime:
        world.store_regime(day.day, day.vix)
    return world


@pytest.fixture(scope="module")
def clean(day: RealDay) -> SignalsWorld:
    world = fresh_world(day)
    for bar in day.bars:
        world.push(bar)
    return world


def states(world: SignalsWorld) -> dict[str, StoredStrategyState | None]:
    return {n: world.sessions.strategy_state(n, "SPY") for n in world.deps.strategies}


def signal_audit(world: SignalsWorld, day: RealDay) -> list[str]:
    log = world.audit.audit_log(day.day.isoformat())
    return [r.subject for r in log if r.kind is AuditKind.SIGNAL]


def signalling_bars(day: RealDay, clean: SignalsWorld) -> Iterator[Bar]:
    starts = {m.signal.bar_ts for m in clean.queue.delivered}
    return (b for b in day.bars if b.ts in starts)


def replay_with_fault(
    world: SignalsWorld, day: RealDay, clean: SignalsWorld, fault: Callable[[Bar], bool]
) -> None:
    """Push the day; at the first signalling bar call ``fault(bar)`` first (True: the fault
    delivered the bar itself), then require the clean run's signals, audit and states."""
    first = next(signalling_bars(day, clean))
    for bar in day.bars:
        if bar is first and fault(bar):
            continue
        world.push(bar)
    assert world.queue.delivered == clean.queue.delivered  # each signal once, in order
    assert signal_audit(world, day) == signal_audit(clean, day)
    assert states(world) == states(clean)


def test_the_days_signals_are_handed_on_with_the_regime_and_the_bars_close(
    day: RealDay, clean: SignalsWorld
) -> None:
    delivered = clean.queue.delivered
    assert [m.signal.strategy for m in delivered] == ["vwap_reversion", "vwap_reversion"]
    closes = {b.ts: b for b in day.bars}
    for message in delivered:
        bar = closes[message.signal.bar_ts]
        assert message.regime.regime is Regime.ULTRA_LOW_VOL and message.regime.day == day.day
        assert (message.last_price, message.decided_at) == (bar.close, bar.closed_at)
    assert signal_audit(clean, day) == [m.signal.id for m in delivered]


def test_without_a_stored_regime_the_day_is_unknown_and_nothing_is_handed_on(
    day: RealDay, clean: SignalsWorld
) -> None:
    world = fresh_world(day, regime=False)
    for bar in day.bars:
        world.push(bar)
    assert world.queue.delivered == [] and signal_audit(world, day) == []
    assert states(world) == states(clean)  # the strategies stayed current all the same
    assert "no regime stored" in NO_REGIME_REASON


def test_a_failed_send_saves_nothing_and_the_retry_hands_the_signal_on_once(
    day: RealDay, clean: SignalsWorld
) -> None:
    world = fresh_world(day)

    def fault(bar: Bar) -> bool:
        before = states(world)
        world.queue.fail_next()
        with pytest.raises(SignalQueueUnavailableError):
            world.push(bar)
        assert states(world) == before and signal_audit(world, day) == []
        return False  # then redelivered

    replay_with_fault(world, day, clean, fault)


class _FailingSaves:
    """The session store, with the next save holding a state of ``strategy`` raising."""

    def __init__(self, inner: Any, strategy: str) -> None:
        self._inner, self.strategy, self.armed = inner, strategy, False

    def save_strategy_states(self, states: Sequence[StoredStrategyState]) -> bool:
        if self.armed and any(state.strategy == self.strategy for state in states):
            self.armed = False
            raise StateUnavailableError("UpdateItem: ProvisionedThroughputExceededException")
        return bool(self._inner.save_strategy_states(states))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_a_save_that_fails_after_the_send_is_retried_and_the_signal_not_doubled(
    day: RealDay, clean: SignalsWorld
) -> None:
    world = fresh_world(day)
    flaky = _FailingSaves(world.sessions, "vwap_reversion")
    world.deps = world.deps.__class__(**{**_fields(world.deps), "sessions": flaky})

    def fault(bar: Bar) -> bool:
        flaky.armed = True
        with pytest.raises(StateUnavailableError):
            world.push(bar)
        assert world.queue.sends == 1  # sent before the save: not lost
        return False  # redelivered: the re-send is deduplicated

    replay_with_fault(world, day, clean, fault)


def test_a_delivery_that_loses_the_save_race_audits_nothing_again(
    day: RealDay, clean: SignalsWorld
) -> None:
    world = fresh_world(day)

    def fault(bar: Bar) -> bool:
        before = states(world)
        world.push(bar)  # the winner
        won = states(world)
        for stored in before.values():  # a concurrent delivery read the states before it
            assert stored is not None
            world.sessions._states[(stored.strategy, "SPY")] = stored
        lost = _racing_push(world, bar, won)
        assert (lost.stepped, lost.duplicates, lost.signals) == (0, 1, 0)
        return True

    replay_with_fault(world, day, clean, fault)


def _racing_push(world: SignalsWorld, bar: Bar, winner: dict[str, Any]) -> Any:
    """Push ``bar`` from the states read before the winner saved; the winner's save lands
    between this delivery's read and its save."""
    inner = world.sessions

    class _Racing:
        def save_strategy_states(self, states: Sequence[StoredStrategyState]) -> bool:
            for state in states:
                inner._states[(state.strategy, "SPY")] = winner[state.strategy]
            return inner.save_strategy_states(states)

        def __getattr__(self, name: str) -> Any:
            return getattr(inner, name)

    original = world.deps
    world.deps = original.__class__(**{**_fields(original), "sessions": _Racing()})
    try:
        return world.push(bar)
    finally:
        world.deps = original


def _fields(deps: Any) -> dict[str, Any]:
    return {name: getattr(deps, name) for name in deps.__dataclass_fields__}
