"""Property: whatever the order of partial fills and of monitor runs reading stale or fresh
broker states, the ticket ends holding exactly what the broker filled, at the broker's average,
and realized P&L is the fills' cash flow (no lost fill, no double fill)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.domain.clock import FixedClock
from maxtrader.domain.models import OrderSide
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.operations.monitor_fills import apply_fills
from maxtrader.operations.monitor_orders import TicketOrders, orders_of
from tests.support.monitor_fakes import MonitorWorld, bracket_legs, broker_order
from tests.support.safety import entry

pytestmark = pytest.mark.property
QTY = 12


def _apply(engine: SafetyEngine, view: TicketOrders, world: MonitorWorld) -> None:
    """One run on ``view`` (possibly stale), its ticket re-read as a run would."""
    fresh = world.ticket(view.ticket.client_order_id)
    apply_fills(engine, TicketOrders(fresh, view.entry, view.exits), world.clock.now())


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.integers(1, 4), min_size=1, max_size=6),
    prices=st.lists(
        st.floats(495, 505, allow_nan=False).map(lambda p: round(p, 2)), min_size=6, max_size=6
    ),
    stale=st.lists(st.booleans(), min_size=8, max_size=8),
    exit_price=st.floats(490, 515, allow_nan=False).map(lambda p: round(p, 2)),
)
def test_entry_steps_then_a_leg_end_exact_under_any_interleaving(
    steps: list[int], prices: list[float], stale: list[bool], exit_price: float
) -> None:
    from datetime import UTC, datetime

    world = MonitorWorld(FixedClock(datetime(2024, 6, 3, 14, 0, tzinfo=UTC)))
    intent = entry(qty=QTY)
    world.reserve(intent)
    now = world.clock.now()
    coid = intent.client_order_id
    placed = world.broker.put(broker_order(coid, "SPY", OrderSide.BUY, QTY, at=now,
                                           legs=bracket_legs("SPY", OrderSide.BUY, QTY, now,
                                                             stop=495, target=510)))  # fmt: skip
    world.engine.confirm(coid, placed.broker_order_id)
    cfg = world.monitor_config
    views: list[TicketOrders] = []
    filled = 0
    for i, wanted in enumerate(steps):
        step = min(wanted, QTY - filled)
        if step <= 0:
            break
        world.broker.fill(coid, step, prices[i])
        filled += step
        views.append(orders_of(world.broker, world.ticket(coid), cfg.max_exit_attempts))
        # a run now, on this view or on an older (stale) one: each may race the others
        older = views[0] if stale[i] and len(views) > 1 else views[-1]
        _apply(world.engine, older, world)
    if filled < QTY:
        world.broker.fill(coid, QTY - filled, prices[-1], done=True)
    entry_order = world.broker.orders[coid]
    for view in reversed(views):  # stale runs arriving late apply nothing wrong
        _apply(world.engine, view, world)
    _apply(world.engine, orders_of(world.broker, world.ticket(coid), 3), world)

    ticket = world.ticket(coid)
    assert ticket.qty == entry_order.filled_qty == QTY
    assert entry_order.filled_avg_price is not None
    assert ticket.avg_price == pytest.approx(entry_order.filled_avg_price, rel=1e-9)

    world.broker.fill(coid, QTY, exit_price, leg=1)  # the stop leg (any price) closes it
    for _ in range(2):
        _apply(world.engine, orders_of(world.broker, world.ticket(coid), 3), world)
    closed = world.ticket(coid)
    assert closed.qty == 0
    cash = (exit_price - entry_order.filled_avg_price) * QTY
    assert closed.realized == pytest.approx(cash, abs=1e-6)
    assert world.store.realized("2024-06-03") == pytest.approx(cash, abs=1e-6)
