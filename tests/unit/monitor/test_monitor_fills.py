"""Fills derived from the broker's orders: applied once each, in steps, never twice, never lost."""

from __future__ import annotations

import pytest

from maxtrader.domain.models import OrderPurpose, OrderSide, client_order_id
from maxtrader.domain.safety.state import BreakerName, TicketStatus
from maxtrader.operations.monitor_fills import apply_fills, derive_fills, fill_id
from maxtrader.operations.monitor_orders import TicketOrders, orders_of
from tests.support.monitor_fakes import MonitorWorld, S, bracket_legs, broker_order
from tests.support.safety import entry, option_entry


def _confirmed(world: MonitorWorld, qty: int = 10, *, legs: bool = True) -> str:
    """An equity bracket entry, reserved, sent and confirmed; its client_order_id."""
    intent = entry(qty=qty)
    world.reserve(intent)
    now = world.clock.now()
    placed = world.broker.put(
        broker_order(
            intent.client_order_id,
            "SPY",
            OrderSide.BUY,
            qty,
            at=now,
            legs=bracket_legs("SPY", OrderSide.BUY, qty, now, stop=495, target=510) if legs else (),
        )
    )
    world.engine.confirm(intent.client_order_id, placed.broker_order_id)
    return intent.client_order_id


def _orders(world: MonitorWorld, coid: str) -> TicketOrders:
    return orders_of(world.broker, world.ticket(coid), world.monitor_config.max_exit_attempts)


def test_a_partial_entry_is_applied_in_steps_at_each_step_s_own_price(world: MonitorWorld) -> None:
    coid = _confirmed(world)
    world.broker.fill(coid, 4, 500.0)
    first = apply_fills(world.engine, _orders(world, coid), world.clock.now())
    world.broker.fill(coid, 6, 501.0)
    second = apply_fills(world.engine, _orders(world, coid), world.clock.now())

    assert [e.ticket.qty for e in first.applied + second.applied] == [4, 10]
    ticket = world.ticket(coid)
    assert ticket.status is TicketStatus.OPEN
    assert ticket.avg_price == pytest.approx((4 * 500 + 6 * 501) / 10)
    order = world.broker.orders[coid]
    assert world.store.fill_applied(fill_id(order, 0))
    assert world.store.fill_applied(fill_id(order, 4))  # the second step starts at 4


def test_running_twice_applies_nothing_the_second_time(world: MonitorWorld) -> None:
    coid = _confirmed(world)
    world.broker.fill(coid, 10, 500.0)
    apply_fills(world.engine, _orders(world, coid), world.clock.now())
    again = apply_fills(world.engine, _orders(world, coid), world.clock.now())
    assert again.applied == [] and world.ticket(coid).qty == 10


def test_two_runs_that_read_different_broker_states_never_double_fill(
    world: MonitorWorld,
) -> None:
    """Run A read 5 filled, run B read 7 filled, from the same ticket state: one applies, the
    other's fill (same starting point) is a no-op; the next run applies the rest."""
    coid = _confirmed(world)
    world.broker.fill(coid, 5, 500.0)
    stale_a = _orders(world, coid)
    world.broker.fill(coid, 2, 500.0)
    stale_b = _orders(world, coid)
    now = world.clock.now()
    fills_a = derive_fills(stale_a, world.store.fill_applied, now).fills
    fills_b = derive_fills(stale_b, world.store.fill_applied, now).fills
    assert fills_a[0].fill_id == fills_b[0].fill_id  # the same base: the same id
    assert world.engine.on_fill(fills_b[0], signal_id=world.ticket(coid).signal_id) is not None
    assert world.engine.on_fill(fills_a[0], signal_id=world.ticket(coid).signal_id) is None
    assert world.ticket(coid).qty == 7
    world.broker.fill(coid, 3, 500.0)
    apply_fills(world.engine, _orders(world, coid), now)
    assert world.ticket(coid).qty == 10  # nothing lost


def test_a_bracket_leg_fill_closes_the_position_and_books_its_loss(world: MonitorWorld) -> None:
    coid = _confirmed(world)
    world.broker.fill(coid, 10, 500.0)
    apply_fills(world.engine, _orders(world, coid), world.clock.now())
    world.broker.fill(coid, 10, 495.0, leg=1)  # the stop-loss leg
    outcome = apply_fills(world.engine, _orders(world, coid), world.clock.now())

    ticket = world.ticket(coid)
    assert ticket.status is TicketStatus.CLOSED and ticket.realized == pytest.approx(-50.0)
    assert outcome.applied[-1].losing_close
    assert len(world.store.breaker(BreakerName.RAPID_LOSS).events) == 1  # the engine fed it
    assert world.store.portfolio().slots == 0


def test_a_working_exit_s_partial_fill_waits_and_is_reported_as_pending(
    world: MonitorWorld,
) -> None:
    coid = _confirmed(world)
    world.broker.fill(coid, 10, 500.0)
    apply_fills(world.engine, _orders(world, coid), world.clock.now())
    world.broker.fill(coid, 3, 510.0, leg=0)  # take-profit partly filled, still working
    outcome = apply_fills(world.engine, _orders(world, coid), world.clock.now())
    assert outcome.applied == [] and outcome.pending_qty == -3
    assert world.ticket(coid).qty == 10
    world.broker.fill(coid, 7, 510.0, leg=0)
    done = apply_fills(world.engine, _orders(world, coid), world.clock.now())
    assert [e.ticket.qty for e in done.applied] == [0]
    assert world.ticket(coid).realized == pytest.approx(100.0)


def test_exits_are_not_applied_while_the_entry_still_works(world: MonitorWorld) -> None:
    intent = option_entry(contracts=2)
    world.reserve(intent)
    now = world.clock.now()
    world.broker.put(broker_order(intent.client_order_id, intent.symbol, OrderSide.BUY, 2, at=now))
    world.broker.fill(intent.client_order_id, 1, 2.0)
    apply_fills(world.engine, _orders(world, intent.client_order_id), now)  # OPEN, 1 held
    exit_coid = client_order_id(intent.signal_id, OrderPurpose.EXIT)
    world.broker.put(
        broker_order(
            exit_coid, intent.symbol, OrderSide.SELL, 1, at=now, status=S.FILLED, filled=1, avg=2.5
        )
    )
    apply_fills(world.engine, _orders(world, intent.client_order_id), now)
    ticket = world.ticket(intent.client_order_id)
    assert ticket.qty == 1  # the entry's fills only: the exit waits for the entry to end
    world.broker.fill(intent.client_order_id, 1, 2.0)  # the entry completes
    apply_fills(world.engine, _orders(world, intent.client_order_id), now)
    assert world.ticket(intent.client_order_id).qty == 1  # 2 in, then the exit's 1 out


def test_the_broker_reporting_less_than_the_ticket_holds_is_an_anomaly(
    world: MonitorWorld,
) -> None:
    coid = _confirmed(world)
    world.broker.fill(coid, 10, 500.0)
    apply_fills(world.engine, _orders(world, coid), world.clock.now())
    order = world.broker.orders[coid]
    world.broker.put(order.model_copy(update={"filled_qty": 6}))
    outcome = apply_fills(world.engine, _orders(world, coid), world.clock.now())
    assert outcome.applied == [] and "filled 6" in outcome.anomaly
    assert world.ticket(coid).qty == 10  # nothing changed on a report that does not fit


def test_a_fill_stamped_ahead_of_our_clock_books_to_now(world: MonitorWorld) -> None:
    coid = _confirmed(world)
    world.broker.fill(coid, 10, 500.0)
    order = world.broker.orders[coid]
    later = world.clock.now().replace(hour=23)
    world.broker.put(order.model_copy(update={"filled_at": later}))
    fills = derive_fills(_orders(world, coid), world.store.fill_applied, world.clock.now()).fills
    assert fills[0].ts == world.clock.now()


def test_a_store_failure_while_applying_leaves_the_fill_for_the_next_run(
    world: MonitorWorld,
) -> None:
    from maxtrader.domain.errors import StateUnavailableError

    coid = _confirmed(world)
    world.broker.fill(coid, 10, 500.0)
    world.store.fail_next(StateUnavailableError("throttled"), operation="apply_fill")
    with pytest.raises(StateUnavailableError):
        apply_fills(world.engine, _orders(world, coid), world.clock.now())
    assert world.ticket(coid).qty == 0
    apply_fills(world.engine, _orders(world, coid), world.clock.now())
    assert world.ticket(coid).qty == 10
