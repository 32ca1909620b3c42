"""Post-trade accounting: what one fill does to its ticket's position and to realized P&L.

Realized P&L of a fill = fee-less gain of the quantity it closes (against the average price)
minus its fee; an opening fill realizes only its fee. So, once flat, the sum of realized P&L is
exactly the fills' cash flow: sells - buys (x multiplier) - fees.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from maxtrader.domain.models import Direction, Fill, OrderSide
from maxtrader.domain.safety.state import Ticket, TicketStatus


class FillAttributionError(ValueError):
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
