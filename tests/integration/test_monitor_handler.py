"""The monitor function with real-shaped Scheduler events, on moto server (DynamoDB, SNS -> SQS,
Secrets Manager) and the Alpaca emulator through the real alpaca-py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from maxtrader.config.safety import SafetyConfig
from maxtrader.domain.errors import BrokerUnavailableError
from maxtrader.domain.models import AuditKind, OrderSide
from maxtrader.domain.safety.state import TicketStatus
from maxtrader.emulators.alpaca import AlpacaEmulator, Fault
from tests.support.alpaca_env import bar, minute
from tests.support.monitor_harness import MonitorStage
from tests.support.safety import entry

pytest_plugins = ("tests.support.alpaca_fixtures", "tests.support.monitor_fixtures")


@pytest.fixture
def stage(monitor_stage: MonitorStage) -> MonitorStage:
    """This module's ``stage``: each support plugin names its own (plugins are global, and three
    defined ``stage``: which one a module got depended on the collection order)."""
    return monitor_stage


DRIFT_ALERT = "[MaxTrader] Reconciliation drift: safe mode ON"


def open_spy(stage: MonitorStage, qty: int = 10) -> str:
    """An SPY bracket sent by the order path and filled at 500 by the 10:00 bar."""
    intent = entry(qty=qty, price=500.0, stop=495.0, target=510.0)
    stage.send_entry(intent)
    stage.emulator.feed_bar(bar(minute(0), (500.0, 500.6, 499.6, 500.2)))
    stage.clock.set(minute(1))
    return intent.client_order_id


def test_fills_are_applied_once_when_the_monitor_runs_twice(stage: MonitorStage) -> None:
    coid = open_spy(stage)
    first, second = stage.run(), stage.run()
    assert (first["fills_applied"], second["fills_applied"]) == (1, 0)
    assert first["drift"] == [] and second["drift"] == [] and first["errors"] == []
    ticket = stage.ticket(coid)
    assert (ticket.status, ticket.qty, ticket.avg_price) == (TicketStatus.OPEN, 10, 500.0)
    assert len(stage.audit(AuditKind.FILL)) == 1
    portfolio = stage.store.portfolio()
    assert portfolio.marks == {"SPY": 500.2} and portfolio.equity == first["equity"]
    assert not stage.safe_mode()


def test_a_bracket_leg_fill_closes_the_position_and_the_loss_is_booked(
    stage: MonitorStage,
) -> None:
    coid = open_spy(stage)
    stage.run()
    stage.emulator.feed_bar(bar(minute(1), (499.0, 499.2, 494.5, 495.0)))  # the stop leg
    stage.clock.set(minute(2))
    answer = stage.run()
    ticket = stage.ticket(coid)
    assert ticket.status is TicketStatus.CLOSED and ticket.realized == pytest.approx(-50.0)
    assert answer["drift"] == [] and stage.emulator.positions() == {}
    assert stage.store.realized("2024-06-03") == pytest.approx(-50.0)


def _opened_by_hand(stage: MonitorStage) -> None:
    stage.emulator.feed_bar(bar(minute(0), (440.0, 440.5, 439.5, 440.2), symbol="QQQ"))
    stage.clock.set(minute(1))
    stage.hand_order("QQQ", OrderSide.BUY, 5)
    stage.emulator.feed_bar(bar(minute(1), (440.2, 440.6, 440.0, 440.4), symbol="QQQ"))


def _closed_by_hand(stage: MonitorStage) -> None:
    stage.order_path.cancel_all()  # the bracket's legs, then the position
    stage.order_path.close_position("SPY")
    stage.emulator.feed_bar(bar(minute(1), (500.2, 500.4, 500.0, 500.3)))


def _added_by_hand(stage: MonitorStage) -> None:
    stage.hand_order("SPY", OrderSide.BUY, 3)
    stage.emulator.feed_bar(bar(minute(1), (500.2, 500.4, 500.0, 500.3)))


@dataclass(frozen=True)
class DriftCase:
    change: Callable[[MonitorStage], None]
    kind: str
    symbol: str
    broker_qty: int
    system_qty: int


@pytest.mark.parametrize(
    "case",
    [
        DriftCase(_opened_by_hand, "unknown_position", "QQQ", 5, 0),
        DriftCase(_closed_by_hand, "missing_position", "SPY", 0, 10),
        DriftCase(_added_by_hand, "quantity_mismatch", "SPY", 13, 10),
    ],
    ids=["opened-outside", "closed-outside", "quantity-drift"],
)
def test_reconciliation_detects_drift_and_goes_to_safe_mode(
    stage: MonitorStage, case: DriftCase
) -> None:
    kind = case.kind
    open_spy(stage)
    clean = stage.run()
    assert clean["drift"] == [] and not stage.safe_mode()
    case.change(stage)
    submitted = stage.emulator.count("submit_order")
    stage.clock.set(minute(2))
    answer = stage.run()

    found = [d for d in answer["drift"] if d["kind"] == kind]
    assert [(d["subject"], d["broker"]) for d in found] == [(case.symbol, case.broker_qty)]
    assert stage.safe_mode()
    (record,) = stage.audit(AuditKind.RECONCILIATION)
    drift = record.detail["drift"]
    assert isinstance(drift, list)
    (sides,) = [d for d in drift if isinstance(d, dict) and d["kind"] == kind]
    assert sides["broker"] == case.broker_qty  # both sides, as each one saw it
    assert isinstance(sides["system"], dict) and sides["system"]["qty"] == case.system_qty
    assert DRIFT_ALERT in stage.alerts()
    assert stage.emulator.count("submit_order") == submitted  # nothing "fixed" by an order
    assert stage.emulator.count("cancel_order") == 0


# After this long a reservation with no broker answer is the monitor's (configs/safety.yaml).
ACK_TIMEOUT = SafetyConfig().monitor.ack_timeout_seconds


def test_an_acknowledged_but_lost_order_is_confirmed_by_lookup(
    stage: MonitorStage, alpaca: AlpacaEmulator
) -> None:
    intent = entry()
    stage.reserve(intent)
    alpaca.inject("submit_order", Fault.timeout_after_accept())
    with pytest.raises(BrokerUnavailableError):
        stage.order_path.submit(stage.request_for(intent))  # the answer is lost
    (held,) = alpaca.orders(intent.client_order_id)
    stage.clock.advance(timedelta(seconds=ACK_TIMEOUT + 1))
    answer = stage.run()
    assert answer["inflight"] == [
        {"client_order_id": intent.client_order_id, "action": "confirmed"}
    ]
    ticket = stage.ticket(intent.client_order_id)
    assert (ticket.status, ticket.broker_order_id) == (TicketStatus.CONFIRMED, held["id"])
    assert answer["drift"] == [] and not stage.safe_mode()


def test_a_never_sent_reservation_is_released_and_alerted(stage: MonitorStage) -> None:
    intent = entry()
    stage.reserve(intent)
    assert stage.store.portfolio().slots == 1
    stage.clock.advance(timedelta(seconds=ACK_TIMEOUT - 1))
    assert stage.run()["inflight"] == []  # not yet: its sender may still be sending
    stage.clock.advance(timedelta(seconds=2))
    answer = stage.run()
    assert answer["inflight"] == [
        {"client_order_id": intent.client_order_id, "action": "released_absent"}
    ]
    assert stage.ticket(intent.client_order_id).status is TicketStatus.RELEASED
    assert stage.store.portfolio().slots == 0
    assert "[MaxTrader] In-flight reservation released (never sent)" in stage.alerts()


def test_a_malformed_event_is_refused_and_changes_nothing(stage: MonitorStage) -> None:
    answer = stage.run({"schedule": "eod", "scheduled_time": minute(0).isoformat()})
    assert answer["ok"] is False and "eod" in answer["error"]
    assert stage.audit() == []
    assert stage.emulator.count("positions") == 0


def test_the_untouched_factory_reads_the_alpaca_secret_and_runs(
    real_factory_stage: MonitorStage,
) -> None:
    coid = open_spy(real_factory_stage)
    answer = real_factory_stage.run()
    assert answer["ok"] is True and answer["fills_applied"] == 1
    assert real_factory_stage.ticket(coid).qty == 10


def test_an_equity_time_stop_cancels_the_bracket_then_exits_once(stage: MonitorStage) -> None:
    coid = open_spy(stage)
    stage.run()
    stage.clock.set(minute(62))  # past wave_renko's 60-minute hold; neither leg touched
    first = stage.run()
    assert first["exits"] == [] and first["errors"] == []
    (parent,) = stage.emulator.orders(coid)
    assert [leg["status"] for leg in parent["legs"]] == ["canceled", "canceled"]
    stage.clock.set(minute(63))
    second = stage.run()
    assert [(e["reason"], e["sent"]) for e in second["exits"]] == [("time_stop", True)]
    stage.emulator.feed_bar(bar(minute(63), (501.0, 501.2, 500.8, 501.1)))  # the sell fills
    stage.clock.set(minute(64))
    third = stage.run()
    ticket = stage.ticket(coid)
    assert ticket.status is TicketStatus.CLOSED
    assert ticket.realized == pytest.approx((501.0 - 500.0) * 10)
    assert third["drift"] == [] and stage.emulator.positions() == {} and not stage.safe_mode()
