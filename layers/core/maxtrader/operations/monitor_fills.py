"""Fills derived from a ticket's broker orders, applied once each through ``SafetyEngine.on_fill``.

    derive_fills(orders, applied, now) -> DerivedFills     pure: what is new since the last run
    apply_fills(engine, orders, now) -> FillOutcome        on_fill each, in order

The Broker port reports orders (filled quantity, average price), not executions, so a fill is
the difference between what the broker says an order has filled and what the ticket already
holds from it:

- the ENTRY order (equity bracket parent or option limit) may fill in steps. Its increment
  starts where the ticket stands: ``base = ticket.qty`` (no exit has been applied before the
  entry is complete, see below) and its id is ``<broker order id>:<base>``. One fill per
  starting point: two runs that read different broker states compute the same id for the same
  base, so at most one of them is applied and the other is a no-op (no double fill); the rest
  is picked up by the next run (no lost fill). Its price is the increment's own:
  ``(filled_qty x avg - base x ticket.avg_price) / (filled_qty - base)``.
- an EXIT order (a bracket leg, or the monitor's market exit) is applied once it is terminal,
  whole: id ``<broker order id>:0``, its filled quantity at its average price (exact realized
  P&L). A working exit's partial fill is reported as ``pending`` so reconciliation expects it
  at the broker. Exits are applied only after the entry is terminal and fully applied: a
  bracket's legs work only once the parent has filled, and the monitor exits nothing whose
  entry still works (it cancels the entry first).

Fees are zero: an Alpaca order carries no commission (regulatory fees are charged on the
account, not per order). Fill times: the order's ``filled_at``, else the monitor's ``now``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from maxtrader.domain.broker import BrokerOrder
from maxtrader.domain.errors import InvalidInputError, MaxTraderError
from maxtrader.domain.models import Direction, Fill
from maxtrader.domain.safety.accounting import FillAttributionError, FillEffect
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.domain.safety.state import Ticket
from maxtrader.operations.monitor_orders import TicketOrders

__all__ = ["DerivedFills", "FillOutcome", "apply_fills", "derive_fills", "fill_id"]


def fill_id(order: BrokerOrder, base: int) -> str:
    """The stable id of the fill that takes ``order`` from ``base`` filled units onwards."""
    return f"{order.broker_order_id}:{base}"


@dataclass(frozen=True, slots=True)
class DerivedFills:
    fills: tuple[Fill, ...] = ()
    pending_qty: int = 0  # units a working exit has filled, not applied yet (signed: position)
    anomaly: str = ""  # the broker's orders do not fit the ticket: reconciliation says drift


@dataclass(slots=True)
class FillOutcome:
    applied: list[FillEffect] = field(default_factory=list)
    duplicates: int = 0
    pending_qty: int = 0
    anomaly: str = ""


def derive_fills(
    orders: TicketOrders, applied: Callable[[str], bool], now: datetime
) -> DerivedFills:
    """The fills of ``orders`` not yet in its ticket; ``applied(fill_id)`` asks the store."""
    ticket, entry = orders.ticket, orders.entry
    if entry is None:
        return DerivedFills()
    closing = sorted(orders.closing_orders, key=lambda o: (o.submitted_at, o.broker_order_id))
    exited = sum(o.filled_qty for o in closing if o.filled_qty and applied(fill_id(o, 0)))
    fills: list[Fill] = []
    held = ticket.qty + exited  # entry units the ticket has taken in so far
    if entry.filled_qty > held:
        if exited:
            return DerivedFills(anomaly=_grew_after_exit(ticket, entry, held))
        fills.append(_entry_increment(ticket, entry, held, now))
    elif entry.filled_qty < held:
        return DerivedFills(anomaly=_shrank(ticket, entry, held))
    if orders.entry_working:
        return DerivedFills(tuple(fills), _pending(ticket, closing))
    for order in closing:
        if order.status.terminal and order.filled_qty and not applied(fill_id(order, 0)):
            fills.append(_whole(order, now))
    return DerivedFills(tuple(fills), _pending(ticket, closing))


def apply_fills(engine: SafetyEngine, orders: TicketOrders, now: datetime) -> FillOutcome:
    """Apply the derived fills in order. A fill that does not fit its ticket (an exit larger
    than the position) is an anomaly: nothing more is applied to that ticket this run."""
    derived = derive_fills(orders, engine.store.fill_applied, now)
    outcome = FillOutcome(pending_qty=derived.pending_qty, anomaly=derived.anomaly)
    signal = orders.ticket.signal_id
    for fill in derived.fills:
        try:
            effect = engine.on_fill(fill, signal_id=signal)
        except (FillAttributionError, InvalidInputError) as exc:
            outcome.anomaly = f"fill {fill.fill_id}: {exc}"
            break
        if effect is None:
            outcome.duplicates += 1
        else:
            outcome.applied.append(effect)
    return outcome


def _entry_increment(ticket: Ticket, entry: BrokerOrder, base: int, now: datetime) -> Fill:
    avg = _avg(entry)
    qty = entry.filled_qty - base
    price = (entry.filled_qty * avg - base * ticket.avg_price) / qty if base else avg
    if not (math.isfinite(price) and price > 0):
        price = avg  # rounding of the broker's average cannot make a price of nothing
    return _fill(entry, fill_id(entry, base), qty, price, now)


def _whole(order: BrokerOrder, now: datetime) -> Fill:
    return _fill(order, fill_id(order, 0), order.filled_qty, _avg(order), now)


def _fill(order: BrokerOrder, id_: str, qty: int, price: float, now: datetime) -> Fill:
    ts = order.filled_at or now
    return Fill(
        fill_id=id_,
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        qty=qty,
        price=price,
        ts=min(ts, now),  # a broker clock ahead of ours books to our period, not a future one
    )


def _avg(order: BrokerOrder) -> float:
    if order.filled_avg_price is None:  # BrokerOrder refuses fills without a price
        raise MaxTraderError(f"order {order.broker_order_id} filled without a price")
    return order.filled_avg_price


def _pending(ticket: Ticket, closing: list[BrokerOrder]) -> int:
    """Units working exits have filled but we have not applied (signed as the position)."""
    units = sum(o.filled_qty for o in closing if not o.status.terminal)
    return -units if ticket.direction is Direction.LONG else units


def _grew_after_exit(ticket: Ticket, entry: BrokerOrder, held: int) -> str:
    return (
        f"{ticket.client_order_id}: entry {entry.broker_order_id} filled {entry.filled_qty} "
        f"after exits were applied on {held}"
    )


def _shrank(ticket: Ticket, entry: BrokerOrder, held: int) -> str:
    return (
        f"{ticket.client_order_id}: the broker says the entry filled {entry.filled_qty}, "
        f"the ticket holds {held} from it"
    )
