"""The kill switch's logic on in-memory adapters: order of steps, fault isolation, alert keys."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.adapters.alert_cooldown import Cooldown
from maxtrader.adapters.memory_alerts import InMemoryAlerts
from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.domain.broker import BrokerOrder
from maxtrader.domain.clock import FixedClock, trading_date
from maxtrader.domain.errors import AlertDeliveryError, BrokerUnavailableError
from maxtrader.domain.models import AuditKind, TradingState
from maxtrader.domain.ports import Alert, Alerts
from maxtrader.operations.killswitch import KillSwitchOperations
from maxtrader.operations.killswitch_requests import (
    EngageRequest,
    FlattenRequest,
    ReleaseRequest,
    SafeModeRequest,
)
from tests.support.safety import make_engine

ALICE = "arn:aws:sts::123456789012:assumed-role/Operator/alice"
OPERATIONS = Path(__file__).resolve().parents[2] / "layers" / "core" / "maxtrader" / "operations"


class RecordingBroker:
    """Records the calls a flatten makes; ``fail`` names the calls that raise."""

    def __init__(self, *fail: str) -> None:
        self.calls: list[str] = []
        self.fail = set(fail)

    def cancel_all(self) -> None:
        self.calls.append("cancel_all")
        if "cancel_all" in self.fail:
            raise BrokerUnavailableError("cancel all orders: HTTP 503")

    def close_all_positions(self, *, cancel_orders: bool = True) -> list[BrokerOrder]:
        self.calls.append(f"close_all_positions(cancel_orders={cancel_orders})")
        if "close_all_positions" in self.fail:
            raise BrokerUnavailableError("close all positions: timed out")
        return []


class DownAlerts:
    def publish(self, alert: Alert) -> bool:
        raise AlertDeliveryError(f"sns publish {alert.key()!r}: InternalError")


@pytest.fixture
def store() -> InMemoryStateStore:
    return InMemoryStateStore()


@pytest.fixture
def alerts(clock: FixedClock) -> InMemoryAlerts:
    return InMemoryAlerts(clock, Cooldown(timedelta(minutes=15)))


def operations(
    store: InMemoryStateStore, clock: FixedClock, alerts: Alerts, broker: Any = None
) -> KillSwitchOperations:
    held: Any = broker or RecordingBroker()  # only the two calls a flatten makes
    return KillSwitchOperations(make_engine(store, clock), alerts, broker=lambda: held, clock=clock)


def test_engage_writes_the_switch_before_trying_the_broker(
    store: InMemoryStateStore, clock: FixedClock, alerts: InMemoryAlerts
) -> None:
    seen: list[bool] = []

    class Watching(RecordingBroker):
        def cancel_all(self) -> None:
            seen.append(make_engine(store, clock).trading_state() is TradingState.HALTED)

    ops = operations(store, clock, alerts, Watching())
    outcome = ops.engage(ALICE, EngageRequest(reason="stop", flatten=True))
    assert seen == [True] and outcome.ok


def test_flatten_cancels_then_closes_and_audits_with_the_actor(
    store: InMemoryStateStore, clock: FixedClock, alerts: InMemoryAlerts
) -> None:
    broker = RecordingBroker()
    ops = operations(store, clock, alerts, broker)
    outcome = ops.flatten(ALICE, FlattenRequest(reason="out"))
    assert broker.calls == ["cancel_all", "close_all_positions(cancel_orders=True)"]
    assert outcome.ok and outcome.changed
    [record] = [r for r in store.audit_log(trading_date(clock.now())) if r.subject == "flatten"]
    assert (record.kind, record.actor, record.detail["reason"]) == (
        AuditKind.BROKER_RESPONSE,
        ALICE,
        "out",
    )


def test_a_failed_cancel_still_tries_the_close(
    store: InMemoryStateStore, clock: FixedClock, alerts: InMemoryAlerts
) -> None:
    broker = RecordingBroker("cancel_all")
    outcome = operations(store, clock, alerts, broker).flatten(ALICE, FlattenRequest(reason="x"))
    assert broker.calls == ["cancel_all", "close_all_positions(cancel_orders=True)"]
    assert outcome.flatten is not None and not outcome.ok
    assert outcome.flatten.errors == (
        "cancel all orders: BrokerUnavailableError: cancel all orders: HTTP 503",
    )
    assert [a.alert.subject for a in alerts.sent] == ["Flatten FAILED"]


def test_alerts_down_leave_the_change_made_and_warn(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    ops = operations(store, clock, DownAlerts())
    outcome = ops.engage(ALICE, EngageRequest(reason="x"))
    assert outcome.alert == "failed" and outcome.warnings[0].startswith("alert not sent:")
    assert make_engine(store, clock).trading_state() is TradingState.HALTED


def test_alert_keys_follow_the_switch_version(
    store: InMemoryStateStore, clock: FixedClock, alerts: InMemoryAlerts
) -> None:
    ops = operations(store, clock, alerts)
    ops.engage(ALICE, EngageRequest(reason="one"))
    repeat = ops.engage(ALICE, EngageRequest(reason="again"))
    ops.release(ALICE, ReleaseRequest(reason="two"))
    ops.engage(ALICE, EngageRequest(reason="three"))
    ops.safe_mode(ALICE, SafeModeRequest(on=True, reason="four"))
    assert repeat.alert == "deduplicated" and not repeat.changed
    assert [a.alert.key() for a in alerts.sent] == [
        "kill_switch:engage:v1",
        "kill_switch:release:v2",
        "kill_switch:engage:v3",
        "kill_switch:safe_mode_on:v1",
    ]
    first = alerts.sent[0].alert
    assert first.line == "Kill switch ENGAGED by alice: one"
    assert first.details["actor"] == ALICE and first.details["reason"] == "one"


def test_status_reads_without_writing(
    store: InMemoryStateStore, clock: FixedClock, alerts: InMemoryAlerts
) -> None:
    ops = operations(store, clock, alerts)
    answer = ops.status()
    assert answer["trading_state"] == "ACTIVE" and store.audit_log(trading_date(clock.now())) == []
    assert alerts.sent == []


@pytest.mark.parametrize("path", sorted(OPERATIONS.rglob("*.py")), ids=lambda p: p.name)
def test_operations_use_the_ports_only(path: Path) -> None:
    tree = ast.parse(path.read_text())
    imported: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.append(node.module)
    vendors = ("boto3", "botocore", "alpaca", "massive", "aws_lambda_powertools", "requests")
    bad = [m for m in imported if m.split(".")[0] in vendors]
    adapters = [m for m in imported if m.startswith("maxtrader.adapters")]
    assert not bad and not adapters, (bad, adapters)


def test_a_repeat_sends_the_alert_that_failed_the_first_time(
    store: InMemoryStateStore, clock: FixedClock, alerts: InMemoryAlerts
) -> None:
    class FailsOnce:
        failed = False

        def publish(self, alert: Alert) -> bool:
            if not self.failed:
                self.failed = True
                raise AlertDeliveryError("sns down")
            return alerts.publish(alert)

    ops = operations(store, clock, FailsOnce())
    assert ops.engage(ALICE, EngageRequest(reason="x")).alert == "failed"
    repeat = ops.engage(ALICE, EngageRequest(reason="x"))
    assert not repeat.changed and repeat.alert == "sent"  # the page goes out on the retry
    assert [a.alert.key() for a in alerts.sent] == ["kill_switch:engage:v1"]


@pytest.mark.property
@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["engage", "release", "safe_on", "safe_off"]), max_size=12))
def test_any_sequence_of_operator_calls_keeps_state_audit_and_alerts_consistent(
    calls: list[str],
) -> None:
    """Over any sequence: the state follows the last call per switch; one audit record and one
    alert per change (the cooldown outlasts the sequence, so no key goes out twice)."""
    clock = FixedClock(datetime(2024, 6, 3, 14, 0, tzinfo=UTC))
    store, alerts = InMemoryStateStore(), InMemoryAlerts(clock, Cooldown(timedelta(hours=1)))
    ops = operations(store, clock, alerts)
    kill = safe = False
    change_keys: list[str] = []
    for i, call in enumerate(calls):
        clock.set(clock.now() + timedelta(seconds=1))
        reason = f"r{i}"
        if call == "engage":
            outcome, expected_change, kill = (
                ops.engage(ALICE, EngageRequest(reason=reason)),
                not kill,
                True,
            )
        elif call == "release":
            outcome, expected_change, kill = (
                ops.release(ALICE, ReleaseRequest(reason=reason)),
                kill,
                False,
            )
        else:
            on = call == "safe_on"
            outcome = ops.safe_mode(ALICE, SafeModeRequest(on=on, reason=reason))
            expected_change, safe = safe != on, on
        assert outcome.changed is expected_change
        if expected_change:
            assert outcome.after is not None
            change_keys.append(f"kill_switch:{outcome.action}:v{outcome.after['version']}")
    expected_state = (
        TradingState.HALTED if kill else TradingState.REDUCING if safe else TradingState.ACTIVE
    )
    assert make_engine(store, clock).trading_state() is expected_state
    records = [
        r
        for r in store.audit_log(trading_date(clock.now()))
        if r.kind in (AuditKind.KILL_SWITCH, AuditKind.SAFE_MODE)
    ]
    assert len(records) == len(change_keys) and all(r.actor == ALICE for r in records)
    sent_keys = [a.alert.key() for a in alerts.sent]
    assert len(sent_keys) == len(set(sent_keys))  # nothing paged twice
    assert set(change_keys) <= set(sent_keys)  # every change paged
