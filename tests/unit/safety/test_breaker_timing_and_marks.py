"""Breakers pause from the detection, on event times; marks are collared; the high-water-mark
stop; a warm engine's events stay with their invocation.

Regressions (issue 9): the rapid-loss pause ran from the fill's timestamp, so a monitor 61 minutes
late tripped a pause that had already ended; out-of-order losses measured the 30-minute window
wrongly; one absurd mark ($2 contract at $60) became profit that lifted the daily loss stop.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.config.safety import SafetyConfig
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import StateUnavailableError
from maxtrader.domain.models import AuditKind
from maxtrader.domain.safety import breakers
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.domain.safety.health import HealthInputs
from maxtrader.domain.safety.state import BreakerName, BreakerState
from tests.support.safety import entry, exit_of, fill_of, make_engine, market, option_entry

CONFIG = SafetyConfig().breakers
MIN = timedelta(minutes=1)


def test_a_late_trip_pauses_from_when_it_is_detected(clock: FixedClock) -> None:
    t0 = clock.now()
    state = BreakerState(BreakerName.RAPID_LOSS, events=(t0, t0 + MIN))
    late = t0 + 61 * MIN  # the monitor reports the third loss an hour late
    new, tripped = breakers.record_event(state, t0 + 2 * MIN, late, CONFIG)
    assert tripped and new.tripped_at == late and new.until == late + 60 * MIN
    assert new.paused(late + 59 * MIN)


def test_the_window_is_measured_on_event_times_whatever_the_arrival_order(
    clock: FixedClock,
) -> None:
    t0 = clock.now()
    # Stored 10:00 and 10:20, then a loss from 09:45 arrives: 09:45..10:20 is 35 min, no trip.
    state = BreakerState(BreakerName.RAPID_LOSS, events=(t0, t0 + 20 * MIN))
    new, tripped = breakers.record_event(state, t0 - 15 * MIN, t0 + 21 * MIN, CONFIG)
    assert not tripped and new.events == (t0 - 15 * MIN, t0, t0 + 20 * MIN)  # kept, sorted
    # A late 10:10 now makes three within 30 minutes (10:00, 10:10, 10:20).
    _, tripped = breakers.record_event(new, t0 + 10 * MIN, t0 + 22 * MIN, CONFIG)
    assert tripped
    # Exactly 30 minutes apart is outside the window.
    edge = BreakerState(BreakerName.RAPID_LOSS, events=(t0, t0 + 15 * MIN))
    assert not breakers.record_event(edge, t0 + 30 * MIN, t0 + 30 * MIN, CONFIG)[1]


def test_losses_during_a_pause_are_spent_with_it(clock: FixedClock) -> None:
    t0 = clock.now()
    paused = breakers.trip(BreakerState(BreakerName.RAPID_LOSS), t0, 60 * MIN, "x")
    for k in (10, 15, 20):  # three losing exits while paused
        paused, tripped = breakers.record_event(paused, t0 + k * MIN, t0 + k * MIN, CONFIG)
        assert not tripped
    after = breakers.reset(paused)
    assert after.events == ()
    assert not breakers.record_event(after, t0 + 61 * MIN, t0 + 61 * MIN, CONFIG)[1]


def test_the_engine_pauses_rapid_loss_from_its_clock_for_late_fills(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    t0 = clock.now()
    intents = []
    for _ in range(3):
        intent = entry()
        assert engine.reserve(intent, market()).approved
        engine.on_fill(fill_of(intent, clock))
        intents.append(intent)
        clock.advance(61)
    clock.set(t0 + 90 * MIN)  # the monitor catches up late with three losing exits at t0..t0+2'
    for i, intent in enumerate(intents):
        late = fill_of(exit_of(intent), clock, price=499.0)
        engine.on_fill(late.model_copy(update={"ts": t0 + i * MIN}))
    state = store.breaker(BreakerName.RAPID_LOSS)
    assert state.tripped_at == t0 + 90 * MIN and state.until == t0 + 150 * MIN


def test_an_absurd_mark_is_refused_reported_and_never_booked_as_profit(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    option = option_entry(premium=2.0, contracts=2)
    engine.reserve(option, market(last_price=2.0))
    engine.on_fill(fill_of(option, clock))
    report = engine.mark_to_market({option.symbol: 60.0}, 100_000.0)
    assert option.symbol in report.refused and report.unrealized == 0
    assert store.portfolio().unrealized == 0 and store.portfolio().marks == {}
    [event] = [e for e in engine.drain_events() if e.kind is AuditKind.MARK_REFUSED]
    assert event.subject == option.symbol and event.detail["mark"] == 60.0
    health = engine.evaluate_health(HealthInputs(broker_ok=True))
    assert "marks" in {c.name for c in health.failures} and health.safe_mode
    # Against a reference (the last trade): 2.3 is within 25 % of 2.2; 2.9 is not.
    assert (
        engine.mark_to_market({option.symbol: 2.3}, 100_000.0, {option.symbol: 2.2}).refused == {}
    )
    assert store.refused_marks() == {} and store.portfolio().unrealized == pytest.approx(60.0)
    refused = engine.mark_to_market({option.symbol: 2.9}, 100_000.0, {option.symbol: 2.2})
    assert option.symbol in refused.refused
    # The previous mark showed a profit: it is dropped, not kept (no phantom profit).
    assert store.portfolio().unrealized == 0


def test_a_refused_mark_keeps_a_previous_loss(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    option = option_entry(premium=2.0)
    engine.reserve(option, market(last_price=2.0))
    engine.on_fill(fill_of(option, clock))
    engine.mark_to_market({option.symbol: 1.0}, 99_900.0)
    assert store.portfolio().unrealized == pytest.approx(-100.0)
    engine.mark_to_market({option.symbol: 60.0}, 99_900.0)
    assert store.portfolio().unrealized == pytest.approx(-100.0)


def test_the_high_water_mark_stop_halts_until_an_operator_rearms_it(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    engine.mark_to_market({}, 110_000.0)
    report = engine.mark_to_market({}, 99_000.0)  # exactly 10 % below 110,000
    assert report.halted and report.high_water == 110_000.0
    events = engine.drain_events()
    assert ("drawdown_stop", AuditKind.BREAKER_TRIP) in {(e.subject, e.kind) for e in events}
    clock.advance(timedelta(days=3))  # no pause ends it: the drawdown breaker's would have
    engine.refresh_breakers()
    engine.record_start_of_day_equity(99_000.0)
    engine.mark_to_market({}, 99_000.0)
    verdict = engine.reserve(entry(), market(equity=99_000.0))
    assert "drawdown_stop" in {c.name for c in verdict.failures}
    engine.drain_events()
    rearmed = engine.rearm_drawdown_stop("ops@example.com", "reviewed")
    assert not rearmed.halted and rearmed.value == 99_000.0
    [event] = engine.drain_events()
    assert event.kind is AuditKind.BREAKER_RESET and event.actor == "ops@example.com"
    assert event.detail["old_high_water"] == 110_000.0
    assert engine.reserve(entry(), market(equity=99_000.0)).approved


def test_the_drawdown_breakers_rebase_does_not_move_the_high_water_mark(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    engine.mark_to_market({}, 100_000.0)
    for equity in (96_500.0, 93_200.0):  # two 3 % drawdown trips, re-based after each pause
        assert engine.mark_to_market({}, equity).tripped
        clock.advance(timedelta(minutes=121))
        engine.mark_to_market({}, equity)
    assert store.portfolio().peak_equity == 93_200.0
    report = engine.mark_to_market({}, 90_000.0)  # 10 % below the never re-based 100,000
    assert report.high_water == 100_000.0 and report.halted


def test_a_failed_invocations_events_do_not_reach_the_next_one(
    engine: SafetyEngine, store: InMemoryStateStore
) -> None:
    with pytest.raises(StateUnavailableError), engine.invocation() as first:
        engine.engage_kill_switch("ops", "drill")
        store.fail_next(StateUnavailableError("throttled"))
        engine.set_safe_mode(True, "ops")
    assert [e.kind for e in first.events] == [AuditKind.KILL_SWITCH]  # drained on the way out
    with engine.invocation() as second:
        engine.release_kill_switch("ops")
    assert [e.detail["on"] for e in second.events] == [False]
    assert second.carried_over == [] and engine.drain_events() == []


def test_an_invocation_takes_over_what_code_outside_one_left(engine: SafetyEngine) -> None:
    engine.engage_kill_switch("ops", "outside")
    with engine.invocation() as inv:
        pass
    assert [e.kind for e in inv.carried_over] == [AuditKind.KILL_SWITCH] and inv.events == []


def test_a_fresh_engine_per_invocation_shares_only_the_store(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    make_engine(store, clock).engage_kill_switch("ops", "drill")
    assert make_engine(store, clock).drain_events() == []
