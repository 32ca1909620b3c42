"""In-flight reservations: looked up after the threshold; confirmed, released, or retried then
released with an alert. Confirmed orders the broker ended unfilled give their slot back."""

from __future__ import annotations

from maxtrader.domain.errors import BrokerResponseError
from maxtrader.domain.models import AuditKind, OrderSide
from maxtrader.domain.safety.state import TicketStatus
from maxtrader.operations.monitor_inflight import InFlightAction
from tests.support.monitor_fakes import MonitorWorld, S, broker_order, server_error, timeout
from tests.support.safety import entry


def _threshold(world: MonitorWorld) -> float:
    return float(world.monitor_config.ack_timeout_seconds)


def test_a_young_reservation_is_left_to_its_sender(world: MonitorWorld) -> None:
    intent = entry()
    world.reserve(intent)
    world.advance(seconds=_threshold(world) - 1)
    report = world.service().run()
    assert report.inflight == []
    assert world.broker.calls["order_by_client_id"] == 0
    assert world.ticket(intent.client_order_id).status is TicketStatus.RESERVED
    assert "SPY" in report.deferred  # its position may appear any moment: not drift


def test_an_acknowledged_but_lost_order_is_confirmed_by_lookup(world: MonitorWorld) -> None:
    intent = entry()
    world.reserve(intent)
    placed = world.broker.put(
        broker_order(intent.client_order_id, "SPY", OrderSide.BUY, 10, at=world.clock.now())
    )
    world.advance(seconds=_threshold(world))
    report = world.service().run()
    assert [i.action for i in report.inflight] == [InFlightAction.CONFIRMED]
    ticket = world.ticket(intent.client_order_id)
    assert ticket.status is TicketStatus.CONFIRMED
    assert ticket.broker_order_id == placed.broker_order_id
    assert report.drifts == []


def test_a_lost_order_that_filled_is_confirmed_and_its_fill_applied_in_one_run(
    world: MonitorWorld,
) -> None:
    intent = entry()
    world.reserve(intent)
    world.broker.put(
        broker_order(intent.client_order_id, "SPY", OrderSide.BUY, 10, at=world.clock.now())
    )
    world.broker.fill(intent.client_order_id, 10, 500.0)
    world.advance(seconds=_threshold(world))
    report = world.service().run()
    assert report.fills_applied == 1 and report.drifts == []
    assert world.ticket(intent.client_order_id).status is TicketStatus.OPEN


def test_a_never_sent_reservation_is_released(world: MonitorWorld) -> None:
    intent = entry()
    world.reserve(intent)
    before = world.store.portfolio()
    world.advance(seconds=_threshold(world))
    report = world.service().run()
    assert [i.action for i in report.inflight] == [InFlightAction.RELEASED_ABSENT]
    assert world.ticket(intent.client_order_id).status is TicketStatus.RELEASED
    after = world.store.portfolio()
    assert (before.slots, after.slots) == (1, 0)
    assert after.exposure == 0.0
    assert any("never sent" in s for s in world.subjects())


def test_an_unknown_lookup_is_retried_then_released_with_an_alert(world: MonitorWorld) -> None:
    intent = entry()
    world.reserve(intent)
    attempts = world.monitor_config.lookup_attempts
    world.broker.fail("order_by_client_id", timeout(), times=attempts)
    world.advance(seconds=_threshold(world))
    actions = []
    for _ in range(attempts):
        actions += [i.action for i in world.service().run().inflight]
        world.advance(minutes=1)
    assert actions == [InFlightAction.UNKNOWN] * (attempts - 1) + [InFlightAction.RELEASED_UNKNOWN]
    assert world.ticket(intent.client_order_id).status is TicketStatus.RELEASED
    unknown = [
        r
        for r in world.store.audit_log("2024-06-03")
        if r.kind is AuditKind.BROKER_RESPONSE and r.detail.get("event") == "lookup_unknown"
    ]
    assert [r.detail["attempt"] for r in unknown] == list(range(1, attempts + 1))
    assert any("could not say" in s for s in world.subjects())


def test_an_unknown_lookup_that_then_answers_is_confirmed_not_released(
    world: MonitorWorld,
) -> None:
    intent = entry()
    world.reserve(intent)
    world.broker.fail("order_by_client_id", BrokerResponseError("bad shape"))
    world.advance(seconds=_threshold(world))
    assert [i.action for i in world.service().run().inflight] == [InFlightAction.UNKNOWN]
    world.broker.put(
        broker_order(intent.client_order_id, "SPY", OrderSide.BUY, 10, at=world.clock.now())
    )
    world.advance(minutes=1)
    assert [i.action for i in world.service().run().inflight] == [InFlightAction.CONFIRMED]


def test_a_confirmed_order_the_broker_canceled_unfilled_is_released(world: MonitorWorld) -> None:
    intent = entry()
    world.reserve(intent)
    placed = world.broker.put(
        broker_order(
            intent.client_order_id,
            "SPY",
            OrderSide.BUY,
            10,
            at=world.clock.now(),
            status=S.CANCELED,
        )
    )
    world.engine.confirm(intent.client_order_id, placed.broker_order_id)
    report = world.service().run()
    assert [i.action for i in report.inflight] == [InFlightAction.RELEASED_DEAD]
    assert world.store.portfolio().slots == 0


def test_a_canceled_order_with_fills_keeps_its_position(world: MonitorWorld) -> None:
    intent = entry()
    world.reserve(intent)
    placed = world.broker.put(
        broker_order(intent.client_order_id, "SPY", OrderSide.BUY, 10, at=world.clock.now())
    )
    world.engine.confirm(intent.client_order_id, placed.broker_order_id)
    world.broker.fill(intent.client_order_id, 4, 500.0, done=True)
    report = world.service().run()
    assert report.inflight == []
    ticket = world.ticket(intent.client_order_id)
    assert (ticket.status, ticket.qty) == (TicketStatus.OPEN, 4)


def test_a_broker_500_on_a_confirmed_ticket_changes_nothing_and_defers_it(
    world: MonitorWorld,
) -> None:
    intent = entry()
    world.reserve(intent)
    placed = world.broker.put(
        broker_order(intent.client_order_id, "SPY", OrderSide.BUY, 10, at=world.clock.now())
    )
    world.engine.confirm(intent.client_order_id, placed.broker_order_id)
    world.broker.fill(intent.client_order_id, 10, 500.0)
    world.broker.fail("order_by_client_id", server_error())
    report = world.service().run()
    assert report.fills_applied == 0 and report.drifts == [] and "SPY" in report.deferred
    assert any("order_by_client_id" not in e and "HTTP 500" in e for e in report.errors)
    assert world.service().run().fills_applied == 1  # the next run catches up
