"""Post-trade accounting: what one fill does to its ticket's position and to realized P&L.

Realized P&L of a fill = fee-less gain of the quantity it closes (against the average price)
minus its fee; an opening fill realizes only its fee. So, once flat, the sum of realized P&L is
exactly the fills' cash flow: sells - buys (x multiplier) - fees.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from maxtrader.domain.errors import MaxTraderError
from maxtrader.domain.models import Direction, Fill, OrderPurpose, OrderSide, client_order_id
from maxtrader.domain.ports import StateStore
from maxtrader.domain.safety.state import Ticket, TicketStatus


class FillAttributionError(MaxTraderError, ValueError):
    """A fill that cannot be applied to the ticket it names (nothing is written)."""


@dataclass(frozen=True, slots=True)
class FillEffect:
    ticket: Ticket
    realized: float
    slot_delta: int
    exposure_delta: float
    unrealized_delta: float
    closed: bool  # this fill made the position flat

    @property
    def losing_close(self) -> bool:
        return self.closed and self.ticket.realized < 0


def opening_side(direction: Direction) -> OrderSide:
    return OrderSide.BUY if direction is Direction.LONG else OrderSide.SELL


def apply_fill(ticket: Ticket, fill: Fill, mark: float | None) -> FillEffect:
    """The new ticket and the deltas; ``mark`` is the stored mark of the symbol (or None)."""
    if fill.symbol != ticket.symbol:
        raise FillAttributionError(
            f"fill {fill.fill_id} is for {fill.symbol}, ticket {ticket.client_order_id} "
            f"trades {ticket.symbol}"
        )
    mult = ticket.multiplier
    was_holding = ticket.status.holds_slot
    before = ticket.unrealized(mark)
    if fill.side is opening_side(ticket.direction):
        qty = ticket.qty + fill.qty
        avg = (ticket.avg_price * ticket.qty + fill.price * fill.qty) / qty
        realized = 0.0 - fill.fee  # not -fee: no "-0.0" in the audit
        new = replace(
            ticket,
            status=TicketStatus.OPEN,
            qty=qty,
            avg_price=avg,
            realized=ticket.realized + realized,
            opened_at=ticket.opened_at or fill.ts,
            closed_at=None,
            version=ticket.version + 1,
        )
    else:
        if fill.qty > ticket.qty:
            raise FillAttributionError(
                f"fill {fill.fill_id} closes {fill.qty} but {ticket.client_order_id} holds "
                f"{ticket.qty}"
            )
        sign = 1.0 if ticket.direction is Direction.LONG else -1.0
        realized = sign * (fill.price - ticket.avg_price) * fill.qty * mult - fill.fee
        qty = ticket.qty - fill.qty
        new = replace(
            ticket,
            status=TicketStatus.OPEN if qty else TicketStatus.CLOSED,
            qty=qty,
            avg_price=ticket.avg_price if qty else 0.0,
            realized=ticket.realized + realized,
            closed_at=None if qty else fill.ts,
            version=ticket.version + 1,
        )
    holding = new.status.holds_slot
    slot_delta = int(holding) - int(was_holding)  # a late fill on a released ticket takes a slot
    return FillEffect(
        ticket=new,
        realized=realized,
        slot_delta=slot_delta,
        exposure_delta=slot_delta * ticket.max_loss,
        unrealized_delta=new.unrealized(mark) - before,
        closed=new.status is TicketStatus.CLOSED,
    )


def ticket_for(store: StateStore, fill: Fill, signal_id: str | None) -> Ticket:
    """The ticket a fill belongs to: the entry's own fill, an exit of a known signal (given, or
    parsed from our ``mt-<signal>-exit`` ids), or the one open position on the fill's symbol
    (a broker-side stop/target leg carries the broker's own client order id)."""
    ticket = store.ticket(fill.client_order_id)
    if ticket is not None:
        return ticket
    if signal_id is None:
        signal_id = _signal_of(fill.client_order_id)
    if signal_id is not None:
        ticket = store.ticket(client_order_id(signal_id, OrderPurpose.ENTRY))
        if ticket is not None:
            return ticket
    candidates = [t for t in store.open_tickets() if t.symbol == fill.symbol and t.qty]
    if len(candidates) == 1:
        return candidates[0]
    raise FillAttributionError(
        f"fill {fill.fill_id} ({fill.client_order_id}, {fill.symbol}) matches "
        f"{len(candidates)} open positions; pass signal_id"
    )


def _signal_of(client_order_id_: str) -> str | None:
    """Inverse of models.client_order_id for our own order ids (``mt-<signal>-<purpose>``)."""
    prefix, _, rest = client_order_id_.partition("-")
    signal, _, purpose = rest.rpartition("-")
    if prefix != "mt" or not signal or purpose not in {p.value for p in OrderPurpose}:
        return None
    return signal
