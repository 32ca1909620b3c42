"""The engine's decisions: every check evaluated, exits never blocked, fail closed on the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.config.safety import SafetyConfig
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import StateUnavailableError
from maxtrader.domain.models import AuditKind, OrderPurpose, Regime
from maxtrader.domain.safety.checks import DEFAULT_CHECKS
from maxtrader.domain.safety.engine import STATE_UNAVAILABLE, SafetyEngine
from maxtrader.domain.safety.state import Reservation, StateConflictError
from tests.support.safety import (
    entry,
    exit_of,
    fill_of,
    make_engine,
    market,
    reservation_for,
    uniform_config,
)

DAY = "2024-06-03"


def names(verdict: Any) -> set[str]:
    return {c.name for c in verdict.failures}


def test_a_clean_entry_is_approved_with_every_check_recorded(
    engine: SafetyEngine, store: InMemoryStateStore
) -> None:
    verdict = engine.reserve(entry(), market())
    assert verdict.approved
    assert [c.name for c in verdict.checks] == [c.name for c in DEFAULT_CHECKS]
    assert store.day_entries(DAY) == 1 and store.day_entries(DAY, "wave_renko") == 1
    assert store.portfolio().slots == 1 and store.portfolio().exposure == pytest.approx(50.0)
    [record] = store.audit_log(DAY)
    assert record.kind is AuditKind.VERDICT and record.detail["approved"] is True


def test_every_failure_is_recorded_not_just_the_first(
    engine: SafetyEngine, store: InMemoryStateStore
) -> None:
    engine.engage_kill_switch("ops@example.com", "drill")
    engine.set_safe_mode(True, "ops@example.com")
    verdict = engine.reserve(entry(price=520.0, stop=None), market(reward_risk=1.0))
    assert not verdict.approved
    assert {
        "kill_switch",
        "safe_mode",
        "position_size",
        "total_exposure",
        "reward_risk",
        "price_collar",
    } <= names(verdict)
    audit = [r for r in store.audit_log(DAY) if r.kind is AuditKind.VERDICT][-1]
    failures = cast(list[dict[str, Any]], audit.detail["failures"])
    assert {f["name"] for f in failures} == names(verdict)
    assert store.day_entries(DAY) == 0 and store.portfolio().slots == 0


def test_evaluate_is_a_dry_run(engine: SafetyEngine, store: InMemoryStateStore) -> None:
    assert engine.evaluate(entry(), market()).approved
    assert store.day_entries(DAY) == 0 and store.audit_log(DAY) == []


def test_disabled_extra_checks_are_not_evaluated(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    config = SafetyConfig.model_validate(
        {"checks": {"price_collar": False, "duplicate_signal": False}}
    )
    engine = make_engine(store, clock, config)
    verdict = engine.reserve(entry(price=520.0, stop=515.0, target=530.0), market())
    assert verdict.approved
    assert not {"price_collar", "duplicate_signal"} & {c.name for c in verdict.checks}


def test_regime_limits_apply(engine: SafetyEngine, clock: FixedClock) -> None:
    assert not engine.reserve(entry(), market(regime=Regime.UNKNOWN)).approved
    assert engine.reserve(entry(), market(regime=Regime.HIGH_VOL)).approved
    clock.advance(61)
    verdict = engine.reserve(entry(), market(regime=Regime.HIGH_VOL))
    assert names(verdict) == {"concurrent_positions"}


def test_counted_limits_across_a_day(store: InMemoryStateStore, clock: FixedClock) -> None:
    config = uniform_config({"max_concurrent_positions": 50})
    engine = make_engine(store, clock, config)
    approved = []
    for i in range(12):
        strategy = "wave_renko" if i < 7 else "vwap_reversion"
        approved.append(engine.reserve(entry(strategy=strategy, qty=1), market()).approved)
        clock.advance(60)
    # 5 per strategy for wave_renko, then vwap_reversion until the global 10.
    assert approved == [True] * 5 + [False, False] + [True] * 5
    assert store.day_entries(DAY) == 10


def test_entries_are_counted_on_the_new_york_trading_date(
    store: InMemoryStateStore,
) -> None:
    # 03:30 UTC on Tuesday is 23:30 on Monday in New York.
    clock = FixedClock(datetime(2024, 6, 4, 3, 30, tzinfo=UTC))
    engine = make_engine(store, clock)
    assert engine.reserve(entry(), market()).approved
    assert store.day_entries("2024-06-03") == 1 and store.day_entries("2024-06-04") == 0


@pytest.mark.parametrize("setup", ["kill", "safe", "breaker"])
def test_reducing_exits_pass_whatever_blocks_entries(
    setup: str, engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    intent = entry()
    assert engine.reserve(intent, market()).approved
    engine.on_fill(fill_of(intent, clock))
    if setup == "kill":
        engine.engage_kill_switch("ops", "halt")
    elif setup == "safe":
        engine.set_safe_mode(True, "ops")
    else:
        for _ in range(5):
            engine.record_order_error("timeout")
    clock.advance(61)
    assert not engine.reserve(entry(), market()).approved
    verdict = engine.reserve(exit_of(intent), market(reward_risk=None, last_price=None))
    assert verdict.approved and verdict.purpose is OrderPurpose.EXIT
    assert [c.name for c in verdict.checks] == ["reduce_only"]


def test_an_exit_the_store_cannot_verify_is_rejected_as_state_unavailable(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    """An unverified "exit" could open a position: without the stored ticket it fails closed
    (the operator's flatten goes through the broker's close-position instead)."""
    intent = entry()
    engine.reserve(intent, market())
    engine.on_fill(fill_of(intent, clock))
    store.fail_next(StateUnavailableError("throttled"), times=10)
    verdict = engine.reserve(exit_of(intent), market())
    assert not verdict.approved and verdict.failures[0].reason == STATE_UNAVAILABLE
    [event] = engine.drain_events()  # the audit could not be written either: handed over
    assert event.detail["audit_failed"] and "throttled" in str(event.detail["cause"])


def test_store_failure_rejects_with_state_unavailable_and_writes_nothing(
    engine: SafetyEngine, store: InMemoryStateStore
) -> None:
    store.fail_next(
        StateUnavailableError("ProvisionedThroughputExceededException"), operation="reserve"
    )
    verdict = engine.reserve(entry(), market())
    assert not verdict.approved
    [check] = verdict.checks
    assert check.reason == STATE_UNAVAILABLE
    assert store.day_entries(DAY) == 0 and store.portfolio().slots == 0
    [record] = store.audit_log(DAY)
    assert record.detail["approved"] is False
    assert "ProvisionedThroughputExceededException" in str(record.detail["cause"])


def test_unreadable_snapshot_rejects(engine: SafetyEngine, store: InMemoryStateStore) -> None:
    store.fail_next(StateUnavailableError("timeout"), operation="snapshot")
    verdict = engine.reserve(entry(), market())
    assert verdict.checks[0].reason == STATE_UNAVAILABLE
    assert engine.reserve(entry(), market()).approved  # the store is back


def test_audit_failure_hands_the_record_to_the_caller(
    engine: SafetyEngine, store: InMemoryStateStore
) -> None:
    store.fail_next(StateUnavailableError("down"), times=20)
    verdict = engine.reserve(entry(), market())
    assert verdict.checks[0].reason == STATE_UNAVAILABLE
    [event] = engine.drain_events()
    assert event.detail["audit_failed"] == "down"


def test_a_rejection_keeps_its_reasons_when_its_audit_cannot_be_written(
    engine: SafetyEngine, store: InMemoryStateStore
) -> None:
    store.fail_next(StateUnavailableError("throttled"), operation="append_audit")
    verdict = engine.reserve(entry(), market(reward_risk=1.0))
    assert names(verdict) == {"reward_risk"}
    [event] = engine.drain_events()
    assert event.detail["audit_failed"] == "throttled" and event.detail["approved"] is False


class RacingStore(InMemoryStateStore):
    """Loses the race ``losses`` times: another writer takes the state just before us."""

    def __init__(self, losses: int) -> None:
        super().__init__()
        self.losses = losses
        self.attempts = 0

    def reserve(self, reservation: Reservation) -> None:
        self.attempts += 1
        if self.losses:
            self.losses -= 1
            raise StateConflictError("lost", ("daily_trades",))
        super().reserve(reservation)


def test_a_lost_race_is_decided_again(clock: FixedClock) -> None:
    store = RacingStore(losses=1)
    assert make_engine(store, clock).reserve(entry(), market()).approved
    assert store.attempts == 2


def test_a_race_lost_every_time_fails_closed(clock: FixedClock) -> None:
    store = RacingStore(losses=99)
    verdict = make_engine(store, clock, attempts=3).reserve(entry(), market())
    assert verdict.checks[0].reason == STATE_UNAVAILABLE and store.attempts == 3
    assert "race" in str(store.audit_log(DAY)[-1].detail["cause"])


@pytest.mark.parametrize(
    ("guard", "reason"),
    [
        ({"max_slots": 1}, "concurrent_positions"),
        ({"max_day_entries": 1}, "daily_trades"),
        ({"max_strategy_entries": 1}, "strategy_daily_trades"),
        ({"exposure_cap": 49.99}, "total_exposure"),
        ({"cutoff_seconds": 1}, "trade_frequency"),
    ],
)
def test_the_store_re_checks_each_counted_guard(
    guard: dict[str, Any], reason: str, store: InMemoryStateStore, clock: FixedClock
) -> None:
    # A decision taken on a stale snapshot cannot overrun a limit: the write re-checks it.
    store.reserve(reservation_for(entry(), clock.now()))
    with pytest.raises(StateConflictError) as caught:
        store.reserve(reservation_for(entry(strategy="wave_renko"), clock.now(), **guard))
    assert reason in caught.value.reasons
    assert store.day_entries(DAY) == 1 and store.portfolio().slots == 1


def test_the_store_re_checks_switches_and_breakers(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    engine.engage_kill_switch("ops", "halt")
    with pytest.raises(StateConflictError) as caught:
        store.reserve(reservation_for(entry(), clock.now()))
    assert caught.value.reasons == ("kill_switch",)


def test_second_engine_with_stale_view_is_rejected_by_frequency(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    a, b = make_engine(store, clock), make_engine(store, clock)
    assert a.reserve(entry(), market()).approved
    verdict = b.reserve(entry(), market())
    assert names(verdict) == {"trade_frequency"}
    clock.advance(timedelta(seconds=60))
    assert b.reserve(entry(), market()).approved
