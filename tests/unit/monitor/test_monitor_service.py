"""One monitor run on the memory adapters: drift -> safe mode + audit + alert (and no order),
marks, breaker resets, and each step standing alone when a dependency fails."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from maxtrader.domain.broker import BrokerPosition
from maxtrader.domain.errors import (
    AlertDeliveryError,
    BrokerUnavailableError,
    StateUnavailableError,
)
from maxtrader.domain.models import AuditKind, OrderSide
from maxtrader.domain.safety.state import BreakerName, BreakerState, SwitchName, TicketStatus
from tests.support.monitor_fakes import FakeBroker, MonitorWorld, bracket_legs, broker_order
from tests.support.safety import entry


def open_equity(world: MonitorWorld, qty: int = 10, price: float = 500.0) -> str:
    intent = entry(qty=qty)
    world.reserve(intent)
    now = world.clock.now()
    placed = world.broker.put(broker_order(intent.client_order_id, "SPY", OrderSide.BUY, qty,
                                           at=now, legs=bracket_legs("SPY", OrderSide.BUY, qty,
                                           now, stop=495, target=510)))  # fmt: skip
    world.engine.confirm(intent.client_order_id, placed.broker_order_id)
    world.broker.fill(intent.client_order_id, qty, price)
    return intent.client_order_id


def reconciliation_records(world: MonitorWorld) -> list[dict[str, Any]]:
    return [r.detail for r in world.store.audit_log("2024-06-03")
            if r.kind is AuditKind.RECONCILIATION]  # fmt: skip


def test_a_clean_run_applies_fills_marks_and_finds_no_drift(world: MonitorWorld) -> None:
    coid = open_equity(world)
    world.broker.set_price("SPY", 505.0)
    world.broker.equity = 100_050.0
    report = world.service().run()
    assert (report.fills_applied, report.drifts, report.errors) == (1, [], [])
    assert report.reconciled and report.equity == 100_050.0
    portfolio = world.store.portfolio()
    assert portfolio.marks == {"SPY": 505.0}
    assert portfolio.unrealized == pytest.approx(50.0)
    assert portfolio.equity == 100_050.0
    assert world.ticket(coid).status is TicketStatus.OPEN
    assert not world.store.switch(SwitchName.SAFE_MODE).on
    names = {name for name, _, _ in report.metrics()}
    assert {"FillsApplied", "ReconciliationDrift", "InFlightReleased", "ExitsSubmitted",
            "Equity", "DrawdownPct"} <= names  # fmt: skip


@pytest.mark.parametrize(
    ("drift", "change"),
    [
        ("unknown_position", lambda b: b.move_position("QQQ", 5, 440.0)),
        ("missing_position", lambda b: b.move_position("SPY", -10, 500.0)),
        ("quantity_mismatch", lambda b: b.move_position("SPY", 3, 500.0)),
    ],
)
def test_drift_turns_safe_mode_on_audits_both_sides_alerts_and_sends_nothing(
    world: MonitorWorld, drift: str, change: object
) -> None:
    open_equity(world)
    world.service().run()  # the position is known
    assert callable(change)
    change(world.broker)
    report = world.service().run()

    assert [d.kind.value for d in report.drifts] == [drift]
    safe = world.store.switch(SwitchName.SAFE_MODE)
    assert safe.on and safe.actor == "monitor:reconciliation" and drift in safe.reason
    (record,) = reconciliation_records(world)
    (found,) = record["drift"]
    assert found["kind"] == drift and "broker" in found and "system" in found
    assert "Reconciliation drift: safe mode ON" in world.subjects()
    assert "Safe mode ON: safe_mode" not in world.subjects()  # one page for one drift
    assert world.broker.submitted == [] and world.broker.canceled == []


def test_a_persistent_drift_pages_once_per_cooldown_but_is_audited_each_run(
    world: MonitorWorld,
) -> None:
    world.broker.move_position("QQQ", 5, 440.0)
    world.service().run()
    world.advance(minutes=1)
    world.service().run()
    assert world.subjects().count("Reconciliation drift: safe mode ON") == 1
    assert len(reconciliation_records(world)) == 2


def test_an_unknown_open_order_is_drift(world: MonitorWorld) -> None:
    world.broker.put(broker_order("typed-in-the-web-ui", "SPY", OrderSide.BUY, 1,
                                  at=world.clock.now()))  # fmt: skip
    report = world.service().run()
    assert [(d.kind.value, d.subject) for d in report.drifts] == [
        ("unknown_order", "typed-in-the-web-ui")
    ]


def test_a_confirmed_order_the_broker_no_longer_has_is_drift(world: MonitorWorld) -> None:
    intent = entry()
    world.reserve(intent)
    world.engine.confirm(intent.client_order_id, "gone-123")
    report = world.service().run()
    assert [d.kind.value for d in report.drifts] == ["missing_order"]
    assert world.ticket(intent.client_order_id).status is TicketStatus.CONFIRMED  # not "fixed"


class MovingBroker(FakeBroker):
    """A fill lands between the run's two position reads."""

    def positions(self) -> list[BrokerPosition]:
        found = super().positions()
        if self.calls["positions"] == 1:
            self.move_position("SPY", 1, 500.0)
        return found


def test_marks_move_equity_the_peak_only_up_and_the_drawdown_from_it(world: MonitorWorld) -> None:
    open_equity(world)
    world.broker.set_price("SPY", 510.0)
    world.broker.equity = 100_100.0
    first = world.service().run()
    assert first.equity == 100_100.0 and first.drawdown == 0.0
    assert world.store.portfolio().peak_equity == 100_100.0
    world.advance(minutes=1)
    world.broker.set_price("SPY", 490.0)
    world.broker.equity = 99_900.0  # down 200 from the peak: 0.2 %, under the 3 % breaker
    second = world.service().run()
    assert second.equity == 99_900.0
    assert second.drawdown == pytest.approx(200.0 / 100_100.0)
    portfolio = world.store.portfolio()
    assert portfolio.peak_equity == 100_100.0  # a fall never lowers the peak
    assert portfolio.unrealized == pytest.approx(-100.0)
    assert not world.store.breaker(BreakerName.DRAWDOWN).paused(world.clock.now())


def test_a_position_moving_during_the_run_is_deferred_not_drift(world: MonitorWorld) -> None:
    service = world.service(broker=MovingBroker(world.clock))
    report = service.run()
    assert report.drifts == [] and report.deferred == ["SPY"]
    assert not world.store.switch(SwitchName.SAFE_MODE).on


def test_a_breaker_whose_pause_ended_is_reset_recorded_and_alerted(world: MonitorWorld) -> None:
    now = world.clock.now()
    tripped = BreakerState(
        name=BreakerName.RAPID_LOSS,
        until=now - timedelta(minutes=1),
        tripped_at=now - timedelta(minutes=61),
        reason="3 losses",
        version=0,
    )
    world.store.put_breaker(tripped, 0)
    report = world.service().run()
    assert report.breaker_resets == 1
    assert world.store.breaker(BreakerName.RAPID_LOSS).until is None
    resets = [r for r in world.store.audit_log("2024-06-03") if r.kind is AuditKind.BREAKER_RESET]
    assert [r.subject for r in resets] == ["rapid_loss"]
    assert "Breaker reset: rapid_loss" in world.subjects()


def test_three_losing_closes_trip_the_rapid_loss_breaker_and_page(world: MonitorWorld) -> None:
    for i in range(3):
        coid = open_equity(world)
        world.service().run()
        world.broker.fill(coid, 10, 495.0, leg=1)
        world.advance(minutes=2 + i)
        world.service().run()
    assert world.store.breaker(BreakerName.RAPID_LOSS).paused(world.clock.now())
    assert "Breaker tripped: rapid_loss" in world.subjects()


def test_broker_positions_unreadable_skips_reconciliation_but_applies_fills(
    world: MonitorWorld,
) -> None:
    open_equity(world)
    world.broker.fail("positions", BrokerUnavailableError("HTTP 503", status=503))
    report = world.service().run()
    assert report.fills_applied == 1 and not report.reconciled and report.drifts == []
    assert any(e.startswith("broker:") for e in report.errors)
    assert not world.store.switch(SwitchName.SAFE_MODE).on


def test_the_second_position_read_failing_leaves_no_drift_and_no_safe_mode(
    world: MonitorWorld,
) -> None:
    world.broker.move_position("QQQ", 5, 440.0)

    class SecondReadFails(FakeBroker):
        def positions(self) -> list[BrokerPosition]:
            if self.calls["positions"] == 1:
                self.calls["positions"] += 1
                raise BrokerUnavailableError("timed out")
            return super().positions()

    broker = SecondReadFails(world.clock)
    broker.position_map = world.broker.position_map
    report = world.service(broker=broker).run()
    assert not report.reconciled and any(e.startswith("reconciliation:") for e in report.errors)


def test_an_unreadable_store_stops_the_run_safely(world: MonitorWorld) -> None:
    open_equity(world)
    world.store.fail_next(StateUnavailableError("throttled"), operation="open_tickets")
    report = world.service().run()
    assert report.fills_applied == 0 and not report.reconciled and report.drifts == []
    assert any(e.startswith("tickets:") for e in report.errors)
    assert world.service().run().fills_applied == 1  # nothing lost


def test_an_alert_that_cannot_be_sent_is_reported_and_the_run_completes(
    world: MonitorWorld,
) -> None:
    class Down:
        def publish(self, alert: object) -> bool:
            raise AlertDeliveryError("SNS down")

    world.broker.move_position("QQQ", 5, 440.0)
    report = world.service(alerts=Down()).run()
    assert report.drifts and world.store.switch(SwitchName.SAFE_MODE).on
    assert any(e.startswith("alert monitor:drift") for e in report.errors)


def test_running_outside_the_session_still_reconciles(world: MonitorWorld) -> None:
    world.clock.set(world.clock.now().replace(hour=2))  # 22:00 New York the night before
    world.broker.move_position("SPY", 1, 500.0)
    report = world.service().run()
    assert [d.kind.value for d in report.drifts] == ["unknown_position"]


class RacedBroker(FakeBroker):
    """Another monitor run applies the stop leg's fill after this run read the ticket and
    before it reads the ticket's orders."""

    def __init__(self, world: MonitorWorld) -> None:
        super().__init__(world.clock)
        self.world = world
        self.raced = False

    def order_by_client_id(self, client_order_id: str) -> Any:
        if not self.raced and client_order_id.endswith("-entry"):
            self.raced = True
            from maxtrader.operations.monitor_fills import apply_fills
            from maxtrader.operations.monitor_orders import orders_of

            ticket = self.world.ticket(client_order_id)
            apply_fills(self.world.engine, orders_of(self, ticket, 3), self.world.clock.now())
        return super().order_by_client_id(client_order_id)


def test_a_concurrent_run_moving_the_ticket_between_our_reads_is_not_drift(
    world: MonitorWorld,
) -> None:
    raced = RacedBroker(world)
    world.broker = raced
    coid = open_equity(world)
    world.service().run()
    assert world.ticket(coid).qty == 10
    raced.fill(coid, 10, 495.0, leg=1)
    raced.raced = False
    report = world.service().run()
    assert raced.raced and report.drifts == [] and report.fills_applied == 0
    assert world.ticket(coid).status is TicketStatus.CLOSED
    assert not world.store.switch(SwitchName.SAFE_MODE).on


# --- one read of the control items per run (the breakers', reused by the marks and gauges) ---
def gauge(report: Any, name: str, **dimensions: str) -> float:
    (found,) = [g.value for g in report.gauges if g.name == name and g.dimensions == dimensions]
    return float(found)


def test_a_drawdown_reset_in_the_run_is_marked_from_the_rebased_peak(world: MonitorWorld) -> None:
    world.engine.mark_to_market({}, 100_000.0)
    world.engine.mark_to_market({}, 96_000.0)  # 4 % down: the drawdown breaker trips
    assert world.store.breaker(BreakerName.DRAWDOWN).paused(world.clock.now())
    world.broker.equity = 96_500.0
    world.advance(minutes=24 * 60)  # its pause is over
    report = world.service().run()
    assert report.breaker_resets == 2 and report.errors == []  # the breaker, then its peak
    # The reset re-based the peak to the last marked equity (96,000); the marks read the
    # control items again after it (the breakers' read is stale), so the new equity raises
    # the re-based peak and the old one (100,000) does not come back.
    assert world.store.portfolio().peak_equity == 96_500.0
    assert not world.store.breaker(BreakerName.DRAWDOWN).paused(world.clock.now())
    assert gauge(report, "BreakerTripped", breaker="drawdown") == 0.0


def test_the_gauges_show_what_this_runs_marks_booked(world: MonitorWorld) -> None:
    open_equity(world)
    world.broker.set_price("SPY", 505.0)
    world.broker.equity = 100_050.0
    report = world.service().run()
    assert world.store.portfolio().unrealized == pytest.approx(50.0)
    assert gauge(report, "DailyPnl") == pytest.approx(50.0)


def test_the_gauges_show_a_safe_mode_this_run_turned_on(world: MonitorWorld) -> None:
    open_equity(world)
    world.service().run()
    world.broker.move_position("QQQ", 5, 440.0)  # opened by hand: drift
    report = world.service().run()
    assert report.drifts and world.store.switch(SwitchName.SAFE_MODE).on
    assert gauge(report, "SafeModeOn") == 1.0
