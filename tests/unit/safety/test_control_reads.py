"""The every-minute paths read once and write only what changed, without loosening anything:
health writes its item only when the broker-failure count moves; a mark at an unchanged equity
writes nothing; a caller's stale tickets are read again; what was read before a concurrent
change is never written over it (the conflict re-reads); a store fault still fails closed."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import StateUnavailableError
from maxtrader.domain.models import AuditKind
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.domain.safety.state import BreakerName, ControlState, SwitchName
from tests.support.safety import entry, fill_of, make_engine, market
from tests.unit.safety.test_switches_health import CALENDAR, healthy

WRITES = ("update_marks", "put_health", "put_switch", "put_breaker", "put_high_water_mark")


class CountingStore(InMemoryStateStore):
    """Counts the store calls; ``after_read`` runs once right after the next control read (what
    a concurrent invocation does between this one's read and its write)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()
        self.after_read: Any = None

    def __getattribute__(self, name: str) -> Any:
        attr = super().__getattribute__(name)
        if callable(attr) and not name.startswith("_") and name != "fail_next":
            super().__getattribute__("calls")[name] += 1
        return attr

    def control_state(self, day: str) -> ControlState:
        view = super().control_state(day)
        hook, self.after_read = self.after_read, None
        if hook is not None:
            hook()
        return view

    def writes(self) -> dict[str, int]:
        return {name: self.calls[name] for name in WRITES if self.calls[name]}


@pytest.fixture
def counting() -> CountingStore:
    return CountingStore()


@pytest.fixture
def health_engine(counting: CountingStore, clock: FixedClock) -> SafetyEngine:
    return make_engine(counting, clock, calendar=CALENDAR)


def test_a_healthy_minute_is_one_read_and_no_write(
    health_engine: SafetyEngine, counting: CountingStore, clock: FixedClock
) -> None:
    counting.calls.clear()
    assert health_engine.evaluate_health(healthy(clock.now())).healthy
    assert counting.calls["control_state"] == 1 and counting.writes() == {}
    assert counting.calls["switch"] == counting.calls["health"] == 0
    assert counting.health().version == 0


def test_the_health_item_is_written_when_the_failure_count_moves(
    health_engine: SafetyEngine, counting: CountingStore, clock: FixedClock
) -> None:
    down = healthy(clock.now(), broker_ok=False, account=None, broker_clock_open=None)
    for expected in (1, 2):
        counting.calls.clear()
        assert health_engine.evaluate_health(down).broker_failures == expected
        assert counting.writes() == {"put_health": 1}
        assert counting.health().broker_failures == expected
    third = health_engine.evaluate_health(down)
    assert third.safe_mode and "broker_connectivity" in {c.name for c in third.failures}
    counting.calls.clear()
    back = health_engine.evaluate_health(healthy(clock.now()))
    assert back.healthy and not back.safe_mode and back.broker_failures == 0
    assert counting.writes() == {"put_health": 1, "put_switch": 1}  # count reset, mode off
    assert counting.health().broker_failures == 0


def test_a_failure_counted_meanwhile_is_counted_on_not_overwritten(
    health_engine: SafetyEngine, counting: CountingStore, clock: FixedClock
) -> None:
    down = healthy(clock.now(), broker_ok=False, account=None, broker_clock_open=None)
    other = make_engine(counting, clock, calendar=CALENDAR)  # another container
    counting.after_read = lambda: other.evaluate_health(down)
    report = health_engine.evaluate_health(down)
    assert report.broker_failures == 2 and counting.health().broker_failures == 2


def test_an_operators_safe_mode_set_after_the_read_is_not_cleared(
    health_engine: SafetyEngine, counting: CountingStore, clock: FixedClock
) -> None:
    counting.after_read = lambda: health_engine.set_safe_mode(True, "ops@example.com", reason="x")
    health_engine.evaluate_health(healthy(clock.now()))
    switch = counting.switch(SwitchName.SAFE_MODE)
    assert switch.on and not switch.automatic and switch.actor == "ops@example.com"


def test_a_safe_mode_set_after_a_failing_read_is_taken_over_once(
    health_engine: SafetyEngine, counting: CountingStore, clock: FixedClock
) -> None:
    other = make_engine(counting, clock, calendar=CALENDAR)
    stale = healthy(clock.now(), vix_at=None)
    counting.after_read = lambda: other.evaluate_health(stale)  # turns it on first
    report = health_engine.evaluate_health(stale)
    assert report.safe_mode and counting.switch(SwitchName.SAFE_MODE).version == 1
    changes = [r for r in counting.audit_log("2024-06-03") if r.kind is AuditKind.SAFE_MODE]
    assert len(changes) == 1


def test_an_unreadable_store_fails_health_closed(
    health_engine: SafetyEngine, counting: CountingStore, clock: FixedClock
) -> None:
    counting.fail_next(StateUnavailableError("throttled"), operation="control_state")
    with pytest.raises(StateUnavailableError):
        health_engine.evaluate_health(healthy(clock.now()))


# --- marks ------------------------------------------------------------------------------------
def test_a_flat_minute_at_an_unchanged_equity_writes_nothing(
    counting: CountingStore, clock: FixedClock
) -> None:
    engine = make_engine(counting, clock)
    engine.mark_to_market({}, 100_000.0, tickets=[])
    counting.calls.clear()
    report = engine.mark_to_market({}, 100_000.0, tickets=[])
    assert report.equity == 100_000.0 and report.unrealized == 0 and not report.tripped
    assert counting.writes() == {} and counting.calls["control_state"] == 1
    assert counting.calls["open_tickets"] == 0  # nothing held, and the slot count agrees
    engine.mark_to_market({}, 100_010.0, tickets=[])  # the equity moved: written
    assert counting.writes() == {"update_marks": 1, "put_high_water_mark": 1}
    assert counting.portfolio().equity == counting.portfolio().peak_equity == 100_010.0


def test_stale_tickets_from_the_caller_are_read_again(
    counting: CountingStore, clock: FixedClock
) -> None:
    engine = make_engine(counting, clock)
    intent = entry(qty=10, price=500.0, stop=495.0, target=510.0)
    assert engine.reserve(intent, market()).approved
    engine.on_fill(fill_of(intent, clock, fee=0.0))
    counting.calls.clear()
    report = engine.mark_to_market({"SPY": 502.0}, 100_020.0, tickets=[])  # read before it
    assert counting.calls["open_tickets"] == 1
    assert report.unrealized == pytest.approx(20.0) and counting.portfolio().marks == {"SPY": 502.0}


def test_a_mark_still_trips_the_drawdown_breaker_and_the_stop(
    counting: CountingStore, clock: FixedClock
) -> None:
    engine = make_engine(counting, clock)
    engine.mark_to_market({}, 100_000.0, tickets=[])
    report = engine.mark_to_market({}, 96_000.0, tickets=[])
    assert report.tripped and counting.breaker(BreakerName.DRAWDOWN).paused(clock.now())
    assert [e.kind for e in engine.drain_events()] == [AuditKind.BREAKER_TRIP]


def test_breakers_are_refreshed_from_one_read(counting: CountingStore, clock: FixedClock) -> None:
    engine = make_engine(counting, clock)
    for _ in range(5):
        engine.record_order_error("timeout")
    engine.drain_events()
    clock.advance(timedelta(minutes=31))
    counting.calls.clear()
    states = engine.refresh_breakers()
    assert [s.name for s in states] == list(BreakerName) and not any(
        s.paused(clock.now()) for s in states
    )
    assert counting.calls["control_state"] == 1 and counting.calls["breaker"] == 0
    assert counting.writes() == {"put_breaker": 1}  # the error-rate reset, recorded
    assert [e.kind for e in engine.drain_events()] == [AuditKind.BREAKER_RESET]
    counting.calls.clear()
    engine.refresh_breakers()
    assert counting.writes() == {}
