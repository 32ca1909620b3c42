"""The three circuit breakers: trip at the threshold, pause, reset when the pause ends, events."""

from __future__ import annotations

from datetime import timedelta

import pytest

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.config.safety import SafetyConfig
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import StateUnavailableError
from maxtrader.domain.models import AuditKind
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.domain.safety.state import BreakerName
from tests.support.safety import entry, exit_of, fill_of, make_engine, market, reservation_for

DAY = "2024-06-03"


def lose_once(engine: SafetyEngine, clock: FixedClock) -> None:
    # Written straight to the store: the trade-frequency check is not what is under test.
    intent = entry(qty=1)
    engine.store.reserve(reservation_for(intent, clock.now()))
    engine.on_fill(fill_of(intent, clock))
    engine.on_fill(fill_of(exit_of(intent), clock, price=499.0))


@pytest.mark.parametrize(("gap_minutes", "trips"), [(14.99, True), (15.0, False)])
def test_rapid_loss_trips_on_three_losing_closes_within_30_minutes(
    gap_minutes: float,
    trips: bool,
    engine: SafetyEngine,
    store: InMemoryStateStore,
    clock: FixedClock,
) -> None:
    # Losses at t, t+gap, t+2*gap: the first is inside the window iff 2*gap < 30 min.
    for i in range(3):
        if i:
            clock.advance(timedelta(minutes=gap_minutes))
        lose_once(engine, clock)
    paused = store.breaker(BreakerName.RAPID_LOSS).paused(clock.now())
    assert paused is trips
    if trips:
        [event] = [e for e in engine.drain_events() if e.kind is AuditKind.BREAKER_TRIP]
        assert event.subject == "rapid_loss"
        assert "circuit_breaker" in {c.name for c in engine.reserve(entry(), market()).failures}


def test_two_losses_do_not_trip(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    lose_once(engine, clock)
    lose_once(engine, clock)
    assert store.breaker(BreakerName.RAPID_LOSS).until is None


def test_error_rate_breaker_pauses_30_minutes_then_resets_with_an_event(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    trips = [engine.record_order_error(f"reject {i}") for i in range(5)]
    assert trips == [False] * 4 + [True]
    state = store.breaker(BreakerName.ERROR_RATE)
    assert state.until == clock.now() + timedelta(minutes=30)
    clock.advance(timedelta(minutes=30) - timedelta(microseconds=1))
    assert not engine.reserve(entry(), market()).approved
    clock.advance(timedelta(microseconds=1))
    verdict = engine.reserve(entry(), market())
    assert verdict.approved
    kinds = [e.kind for e in engine.drain_events()]
    assert kinds == [AuditKind.BREAKER_TRIP, AuditKind.BREAKER_RESET]
    assert store.breaker(BreakerName.ERROR_RATE).until is None
    audit_kinds = [r.kind for r in store.audit_log(DAY)]
    assert audit_kinds.count(AuditKind.BREAKER_TRIP) == 1
    assert audit_kinds.count(AuditKind.BREAKER_RESET) == 1
    # The errors that tripped it are spent: one more error does not trip again.
    assert engine.record_order_error("one more") is False


def test_errors_older_than_the_window_do_not_count(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    for _ in range(4):
        engine.record_order_error("timeout")
    clock.advance(timedelta(minutes=10))
    assert engine.record_order_error("timeout") is False  # the first four just left the window


@pytest.mark.parametrize(
    ("equity", "trips"), [(97_000.01, False), (97_000.0, True), (96_999.99, True)]
)
def test_drawdown_breaker_boundary(
    equity: float, trips: bool, engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    engine.mark_to_market({}, 100_000.0)
    report = engine.mark_to_market({}, equity)
    assert report.peak == 100_000.0 and report.tripped is trips
    state = store.breaker(BreakerName.DRAWDOWN)
    assert (state.until == clock.now() + timedelta(minutes=120)) is trips


def test_the_peak_is_persisted_and_only_rises(
    engine: SafetyEngine, store: InMemoryStateStore
) -> None:
    engine.mark_to_market({}, 100_000.0)
    engine.mark_to_market({}, 104_000.0)
    engine.mark_to_market({}, 102_000.0)
    assert store.portfolio().peak_equity == 104_000.0
    # A new engine (a new Lambda) measures against the persisted peak.
    other = make_engine(store, engine.clock)
    assert other.mark_to_market({}, 100_800.0).tripped  # 3.08 % below 104,000


def test_after_its_pause_the_drawdown_breaker_measures_from_the_equity_at_the_reset(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    """Regression: with the peak never re-based, the breaker re-tripped at every mark after its
    pause, so a 3 % drawdown halted entries for good (seen in the backtests); the spec's
    breakers auto-reset."""
    engine.mark_to_market({}, 100_000.0)
    assert engine.mark_to_market({}, 96_000.0).tripped
    clock.advance(timedelta(minutes=120))
    report = engine.mark_to_market({}, 95_000.0)
    assert not report.tripped and report.peak == 95_000.0  # the equity when the reset is seen
    events = engine.drain_events()
    assert [(e.kind, e.subject) for e in events] == [
        (AuditKind.BREAKER_TRIP, "drawdown"),
        (AuditKind.BREAKER_RESET, "drawdown"),
        (AuditKind.BREAKER_RESET, "drawdown_peak"),
    ]
    assert events[-1].actor == "system:drawdown-reset"
    assert events[-1].detail["old_peak"] == 100_000.0 and events[-1].detail["new_peak"] == 95_000.0
    # The caller's equity agrees with the marked one (a stale 100,000 would fail closed).
    assert engine.reserve(entry(), market(equity=95_000.0, start_of_day_equity=100_000.0)).approved
    # A further 3 % from the new base trips it again.
    assert not engine.mark_to_market({}, 92_150.01).tripped
    assert engine.mark_to_market({}, 92_150.0).tripped


def test_refresh_breakers_rebases_the_drawdown_peak_too(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    engine.mark_to_market({}, 100_000.0)
    assert engine.mark_to_market({}, 96_000.0).tripped
    clock.advance(timedelta(minutes=120))
    engine.refresh_breakers()
    assert store.portfolio().peak_equity == 96_000.0


def test_without_rebase_the_drawdown_re_trips_until_an_operator_resets_the_peak(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    config = SafetyConfig.model_validate(
        {"breakers": {"drawdown": {"rebase_peak_on_reset": False}}}
    )
    engine = make_engine(store, clock, config)
    engine.mark_to_market({}, 100_000.0)
    assert engine.mark_to_market({}, 96_000.0).tripped
    clock.advance(timedelta(minutes=120))
    assert engine.mark_to_market({}, 96_000.0).tripped
    kinds = [e.kind for e in engine.drain_events()]
    assert kinds == [AuditKind.BREAKER_TRIP, AuditKind.BREAKER_RESET, AuditKind.BREAKER_TRIP]
    clock.advance(timedelta(minutes=120))
    engine.reset_drawdown_peak("ops@example.com", 96_000.0)
    assert not engine.mark_to_market({}, 96_000.0).tripped
    assert engine.reserve(entry(), market(equity=96_000.0, start_of_day_equity=100_000.0)).approved


def test_refresh_breakers_records_resets_once(engine: SafetyEngine, clock: FixedClock) -> None:
    for _ in range(5):
        engine.record_order_error("x")
    clock.advance(timedelta(hours=1))
    engine.refresh_breakers()
    engine.refresh_breakers()
    resets = [e for e in engine.drain_events() if e.kind is AuditKind.BREAKER_RESET]
    assert len(resets) == 1 and resets[0].subject == "error_rate"


def test_a_loss_stored_while_the_breaker_cannot_be_read_still_trips_it_later(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    lose_once(engine, clock)
    lose_once(engine, clock)
    store.fail_next(StateUnavailableError("throttled"), operation="breaker")
    lose_once(engine, clock)  # the fill and its loss are stored; the trip rule could not run
    assert store.breaker(BreakerName.RAPID_LOSS).until is None
    assert len(store.breaker(BreakerName.RAPID_LOSS).events) == 3
    [warning] = engine.drain_events()
    assert "throttled" in str(warning.detail["check_failed"])
    engine.refresh_breakers()  # the monitor, a minute later
    assert store.breaker(BreakerName.RAPID_LOSS).paused(clock.now())
    assert [e.kind for e in engine.drain_events()] == [AuditKind.BREAKER_TRIP]
