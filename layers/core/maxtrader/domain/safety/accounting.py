"""Post-trade accounting: what one fill does to its ticket's position and to realized P&L.

Realized P&L of a fill = fee-less gain of the quantity it closes (against the average price)
minus its fee; an opening fill realizes only its fee. So, once flat, the sum of realized P&L is
exactly the fills' cash flow: sells - buys (x multiplier) - fees.

A fill is attributed only to the order it names (its ``client_order_id``, or the signal the caller
names for a broker-side leg); a fill naming no order of ours is drift (``UnknownFillError``),
never merged into a position by its symbol. A fill that takes more risk than was reserved
(``breach``) moves the ticket's max loss, and with it the exposure, to the risk really held.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from maxtrader.domain.errors import MaxTraderError
from maxtrader.domain.models import (
    Direction,
    Fill,
    Instrument,
    OrderPurpose,
    OrderSide,
    client_order_id,
    parse_client_order_id,
)
from maxtrader.domain.ports import StateStore
from maxtrader.domain.safety.state import Ticket, TicketStatus, exposure_cents

# Float noise in a sum of fills must not read as a breach.
_FLOAT_NOISE = 1e-9


class FillAttributionError(MaxTraderError, ValueError):
    """A fill that cannot be applied to the ticket it names (nothing is written)."""


class UnknownFillError(FillAttributionError):
    """A fill whose ``client_order_id`` names no order of ours: drift for reconciliation.

    ``fill`` is the execution as reported; the monitor raises drift (alert + safe mode)."""

    def __init__(self, fill: Fill) -> None:
        super().__init__(
            f"fill {fill.fill_id} ({fill.client_order_id}, {fill.side.value} {fill.qty} "
            f"{fill.symbol}) names no order of ours: drift"
        )
        self.fill = fill


@dataclass(frozen=True, slots=True)
class Breach:
    """A fill took more risk than its reservation allowed."""

    reserved_qty: int
    held_qty: int
    reserved_max_loss: float
    held_risk: float


@dataclass(frozen=True, slots=True)
class FillEffect:
    ticket: Ticket
    realized: float
    slot_delta: int
    exposure_delta: float
    unrealized_delta: float
    closed: bool  # this fill made the position flat
    breach: Breach | None = None

    @property
    def losing_close(self) -> bool:
        return self.closed and self.ticket.realized < 0


def opening_side(direction: Direction) -> OrderSide:
    return OrderSide.BUY if direction is Direction.LONG else OrderSide.SELL


def held_risk(ticket: Ticket) -> float:
    """What the open quantity can still lose at its stop (a long option: all of its premium).

    Fees already paid are realized, not open risk. An equity position without a stop can lose
    its whole notional (a long's bound; the engine admits no equity entry without a stop)."""
    if ticket.qty == 0:
        return 0.0
    if ticket.instrument is Instrument.OPTION or ticket.stop is None:
        return ticket.avg_price * ticket.qty * ticket.multiplier
    return abs(ticket.avg_price - ticket.stop) * ticket.qty * ticket.multiplier


def apply_fill(
    ticket: Ticket,
    fill: Fill,
    mark: float | None,
    purpose: OrderPurpose,
    breach_tolerance: float = 0.0,
) -> FillEffect:
    """The new ticket and the deltas; ``mark`` is the stored mark of the symbol (or None) and
    ``purpose`` that of the order the fill belongs to (its side must be that purpose's side).

    An entry fill whose risk exceeds the reserved max loss always moves the ticket's max loss
    (and the exposure) up to it; it is a ``breach`` when it takes more than the reserved quantity
    or exceeds the reserved max loss by more than ``breach_tolerance`` (a fraction: slippage on a
    market order is expected, a fill far from the decision's price is not)."""
    if fill.symbol != ticket.symbol:
        raise FillAttributionError(
            f"fill {fill.fill_id} is for {fill.symbol}, ticket {ticket.client_order_id} "
            f"trades {ticket.symbol}"
        )
    opening = opening_side(ticket.direction)
    expected = opening if purpose is OrderPurpose.ENTRY else _other(opening)
    if fill.side is not expected:
        raise FillAttributionError(
            f"fill {fill.fill_id} is a {fill.side.value} but {fill.client_order_id} is an "
            f"{purpose.value} that {expected.value}s"
        )
    mult = ticket.multiplier
    was_holding = ticket.status.holds_slot
    before = ticket.unrealized(mark)
    breach: Breach | None = None
    if purpose is OrderPurpose.ENTRY:
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
        risk = held_risk(new)
        if risk > ticket.max_loss:
            new = replace(new, max_loss=risk)
        allowed = ticket.max_loss * (1 + breach_tolerance + _FLOAT_NOISE)
        if qty > ticket.reserved_qty or risk > allowed:
            breach = Breach(ticket.reserved_qty, qty, ticket.max_loss, risk)
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
    # In whole cents on both sides, so the counter stays the sum of its tickets' (state.py).
    exposure_delta = exposure_cents(
        (exposure_cents(new.max_loss) if holding else 0.0)
        - (exposure_cents(ticket.max_loss) if was_holding else 0.0)
    )
    return FillEffect(
        ticket=new,
        realized=realized,
        slot_delta=slot_delta,
        exposure_delta=exposure_delta,
        unrealized_delta=new.unrealized(mark) - before,
        closed=new.status is TicketStatus.CLOSED,
        breach=breach,
    )


def _other(side: OrderSide) -> OrderSide:
    return OrderSide.SELL if side is OrderSide.BUY else OrderSide.BUY


def ticket_for(store: StateStore, fill: Fill, signal_id: str | None) -> tuple[Ticket, OrderPurpose]:
    """The ticket a fill belongs to and the purpose of its order.

    - our entry's id: that ticket, an entry fill;
    - our exit's id (``mt-<signal>-exit``, ``-exit-<n>``): the signal's ticket, an exit fill;
    - any other id with ``signal_id`` given (a broker-side stop/target leg of that signal's
      bracket, which carries the broker's own id): the signal's ticket, an exit fill;
    - anything else: ``UnknownFillError`` (drift), whatever positions share its symbol.
    """
    ticket = store.ticket(fill.client_order_id)
    if ticket is not None:
        return ticket, OrderPurpose.ENTRY
    ref = parse_client_order_id(fill.client_order_id)
    if ref is not None:
        if ref.purpose is not OrderPurpose.EXIT or (signal_id and signal_id != ref.signal_id):
            raise UnknownFillError(fill)
        signal_id = ref.signal_id
    if signal_id is None:
        raise UnknownFillError(fill)
    ticket = store.ticket(client_order_id(signal_id, OrderPurpose.ENTRY))
    if ticket is None:
        raise UnknownFillError(fill)
    return ticket, OrderPurpose.EXIT
