"""Kill switch, safe mode, trading state, and health with its automatic safe mode."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.domain.calendar import MarketCalendar, Session
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import StateUnavailableError
from maxtrader.domain.models import AuditKind, TradingState
from maxtrader.domain.safety.context import AccountFlags
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.domain.safety.health import HealthInputs
from maxtrader.domain.safety.state import SwitchName
from tests.support.safety import entry, make_engine, market

OPEN = datetime(2024, 6, 3, 13, 30, tzinfo=UTC)
CLOSE = datetime(2024, 6, 3, 20, 0, tzinfo=UTC)
CALENDAR = MarketCalendar([Session(day=OPEN.date(), open=OPEN, close=CLOSE)])


def test_states(engine: SafetyEngine, store: InMemoryStateStore) -> None:
    assert engine.trading_state() is TradingState.ACTIVE
    engine.set_safe_mode(True, "ops@example.com", reason="drift")
    assert engine.trading_state() is TradingState.REDUCING
    engine.engage_kill_switch("arn:aws:iam::1:user/ops", "runaway")
    assert engine.trading_state() is TradingState.HALTED
    engine.release_kill_switch("arn:aws:iam::1:user/ops")
    engine.set_safe_mode(False, "ops@example.com")
    assert engine.trading_state() is TradingState.ACTIVE
    records = store.audit_log("2024-06-03")
    assert [(r.kind, r.actor, r.detail["on"]) for r in records] == [
        (AuditKind.SAFE_MODE, "ops@example.com", True),
        (AuditKind.KILL_SWITCH, "arn:aws:iam::1:user/ops", True),
        (AuditKind.KILL_SWITCH, "arn:aws:iam::1:user/ops", False),
        (AuditKind.SAFE_MODE, "ops@example.com", False),
    ]
    assert len(engine.drain_events()) == 4


def test_switching_to_the_same_state_writes_nothing(
    engine: SafetyEngine, store: InMemoryStateStore
) -> None:
    engine.engage_kill_switch("ops", "a")
    engine.engage_kill_switch("ops", "b")
    assert len(store.audit_log("2024-06-03")) == 1


def test_an_actor_is_required(engine: SafetyEngine, store: InMemoryStateStore) -> None:
    with pytest.raises(ValueError, match="actor"):
        engine.engage_kill_switch(" ", "x")
    assert not store.switch(SwitchName.KILL_SWITCH).on


def test_trading_state_fails_loudly_when_unreadable(
    engine: SafetyEngine, store: InMemoryStateStore
) -> None:
    store.fail_next(StateUnavailableError("timeout"), operation="switch")
    with pytest.raises(StateUnavailableError):
        engine.trading_state()


def healthy(now: datetime, **changes: object) -> HealthInputs:
    base: dict[str, object] = {
        "newest_bars": {"SPY": now - timedelta(seconds=60), "QQQ": now - timedelta(seconds=60)},
        "vix_at": now - timedelta(minutes=5),
        "broker_ok": True,
        "account": AccountFlags(),
        "broker_clock_open": True,
    }
    return HealthInputs.model_validate(base | changes)


@pytest.fixture
def health_engine(store: InMemoryStateStore, clock: FixedClock) -> SafetyEngine:
    return make_engine(store, clock, calendar=CALENDAR)


def test_a_healthy_minute_changes_nothing(
    health_engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    for _ in range(3):
        report = health_engine.evaluate_health(healthy(clock.now()))
        assert report.healthy and not report.safe_mode and not report.safe_mode_changed
    assert store.audit_log("2024-06-03") == [] and health_engine.drain_events() == []


@pytest.mark.parametrize(
    ("changes", "failing"),
    [
        ({"newest_bars": {"SPY": "2024-06-03T13:55:00+00:00"}}, "data_freshness:SPY"),  # 300 s
        ({"newest_bars": {"SPY": None}}, "data_freshness:SPY"),
        ({"vix_at": "2024-06-03T13:45:00+00:00"}, "vix_freshness"),  # 900 s
        ({"vix_at": None}, "vix_freshness"),
        ({"account": {"trading_blocked": True}}, "account_flags"),
        ({"account": None}, "account_flags"),
        ({"broker_clock_open": False}, "broker_clock"),
        ({"window": ("2024-06-03T14:00:01+00:00", "2024-06-03T19:45:00+00:00")}, "market_hours"),
    ],
)
def test_each_health_failure_turns_safe_mode_on_and_recovery_clears_it(
    changes: dict[str, object], failing: str, health_engine: SafetyEngine, clock: FixedClock
) -> None:
    report = health_engine.evaluate_health(healthy(clock.now(), **changes))
    assert {c.name for c in report.failures} == {failing}
    assert report.safe_mode and report.safe_mode_changed
    assert "safe_mode" in {c.name for c in health_engine.reserve(entry(), market()).failures}
    report = health_engine.evaluate_health(healthy(clock.now()))
    assert report.healthy and not report.safe_mode and report.safe_mode_changed
    kinds = [e.kind for e in health_engine.drain_events()]
    assert kinds == [AuditKind.SAFE_MODE, AuditKind.HEALTH, AuditKind.SAFE_MODE]


def test_freshness_just_inside_the_limits_is_healthy(
    health_engine: SafetyEngine, clock: FixedClock
) -> None:
    now = clock.now()
    inputs = healthy(
        now,
        newest_bars={"SPY": now - timedelta(seconds=299.999)},
        vix_at=now - timedelta(seconds=899.999),
    )
    assert health_engine.evaluate_health(inputs).healthy


def test_market_closed_fails(store: InMemoryStateStore) -> None:
    clock = FixedClock(CLOSE)
    engine = make_engine(store, clock, calendar=CALENDAR)
    report = engine.evaluate_health(healthy(clock.now(), broker_clock_open=False))
    assert {c.name for c in report.failures} == {"market_hours"}


def test_broker_fails_only_after_three_consecutive_failures(
    health_engine: SafetyEngine, clock: FixedClock
) -> None:
    results = [
        health_engine.evaluate_health(healthy(clock.now(), broker_ok=False)) for _ in range(3)
    ]
    assert [r.healthy for r in results] == [True, True, False]
    assert results[-1].broker_failures == 3
    assert health_engine.evaluate_health(healthy(clock.now())).broker_failures == 0


def test_health_never_clears_an_operators_safe_mode(
    health_engine: SafetyEngine, clock: FixedClock
) -> None:
    health_engine.set_safe_mode(True, "ops@example.com", reason="investigating")
    report = health_engine.evaluate_health(healthy(clock.now()))
    assert report.healthy and report.safe_mode and not report.safe_mode_changed
    assert health_engine.trading_state() is TradingState.REDUCING


def test_an_operator_takes_over_an_automatic_safe_mode(
    health_engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    health_engine.evaluate_health(healthy(clock.now(), vix_at=None))
    health_engine.set_safe_mode(True, "ops@example.com", reason="keep it")
    assert not store.switch(SwitchName.SAFE_MODE).automatic
    assert health_engine.evaluate_health(healthy(clock.now())).safe_mode


def test_no_calendar_fails_closed(engine: SafetyEngine, clock: FixedClock) -> None:
    report = engine.evaluate_health(healthy(clock.now()))
    assert {c.name for c in report.failures} == {"market_hours"}


def test_a_time_beyond_the_calendar_fails_closed(store: InMemoryStateStore) -> None:
    clock = FixedClock(datetime(2030, 1, 2, 15, tzinfo=UTC))
    engine = make_engine(store, clock, calendar=CALENDAR)
    report = engine.evaluate_health(healthy(clock.now()))
    [failure] = report.failures
    assert failure.name == "market_hours" and "outside the calendar" in failure.reason
    assert report.safe_mode
