"""The broker order of an entry, from its intent (first send) or its reserved ticket (a resend
after a crash), and when a reserved ticket stops being execute's to send.

    entry_client_order_id(signal_id) -> str       mt-<signal>-entry, refused over 48 characters
    entry_order(intent) -> OrderRequest           equity: market bracket (stop-loss, take-profit)
                                                  option: limit buy at the ask (the intent's)
    resumed_order(ticket, option_commission)      the same order rebuilt from the ticket alone
    in_flight_until(ticket, rules) -> datetime    after it, execute never sends the ticket's
                                                  order; the monitor resolves it
"""

from __future__ import annotations

from datetime import datetime, timedelta

from maxtrader.config.safety import Execution
from maxtrader.domain.broker import OrderRequest, OrderType
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import (
    Direction,
    Instrument,
    OrderIntent,
    OrderPurpose,
    OrderSide,
    client_order_id,
)
from maxtrader.domain.options import MULTIPLIER
from maxtrader.domain.safety.state import Ticket

MAX_CLIENT_ORDER_ID = 48  # Alpaca refuses a longer client_order_id


def entry_client_order_id(signal_id: str) -> str:
    """The entry's client_order_id; ``InvalidInputError`` when the broker would refuse its
    length (a signal id over 39 characters), so nothing is reserved for an unsendable order."""
    coid = client_order_id(signal_id, OrderPurpose.ENTRY)
    if len(coid) > MAX_CLIENT_ORDER_ID:
        raise InvalidInputError(
            f"client_order_id {coid[:60]!r} has {len(coid)} characters; the broker takes at "
            f"most {MAX_CLIENT_ORDER_ID} (signal ids of at most "
            f"{MAX_CLIENT_ORDER_ID - len(coid) + len(signal_id)})"
        )
    return coid


def entry_order(intent: OrderIntent) -> OrderRequest:
    """The order of a sized entry: an equity bracket at market, or an option limit at the ask."""
    if intent.purpose is not OrderPurpose.ENTRY:
        raise InvalidInputError(f"{intent.client_order_id} is not an entry")
    return _entry(intent.client_order_id, intent.symbol, intent.side, intent.qty,
                  intent.instrument, limit=intent.limit_price, stop=intent.stop,
                  target=intent.target)  # fmt: skip


def resumed_order(ticket: Ticket, option_commission: float) -> OrderRequest:
    """The order ``ticket`` was reserved for, rebuilt from the ticket (a rerun after a crash has
    no intent). An option's limit is what its reserved max loss paid per contract share:
    (max_loss - commission x qty) / (100 x qty), in cents, so the resend risks no more than
    the reservation."""
    side = OrderSide.BUY if ticket.direction is Direction.LONG else OrderSide.SELL
    qty = ticket.reserved_qty
    limit = None
    if ticket.instrument is Instrument.OPTION:
        limit = round((ticket.max_loss - option_commission * qty) / (MULTIPLIER * qty), 2)
        if limit <= 0:
            raise InvalidInputError(f"ticket {ticket.client_order_id}: no limit price fits")
    return _entry(ticket.client_order_id, ticket.symbol, side, qty, ticket.instrument,
                  limit=limit, stop=ticket.stop, target=ticket.target)  # fmt: skip


def _entry(
    coid: str,
    symbol: str,
    side: OrderSide,
    qty: int,
    instrument: Instrument,
    *,
    limit: float | None,
    stop: float | None,
    target: float | None,
) -> OrderRequest:
    if instrument is Instrument.OPTION:
        if limit is None:
            raise InvalidInputError(f"option entry {coid} has no limit price")
        legs: dict[str, object] = {"type": OrderType.LIMIT, "limit_price": limit}
    elif stop is None or target is None:
        raise InvalidInputError(f"equity entry {coid} needs a stop and a target")
    else:
        legs = {"stop_loss": stop, "take_profit": target}  # a bracket at market
    return OrderRequest.model_validate(
        {"client_order_id": coid, "symbol": symbol, "side": side, "qty": qty,
         "instrument": instrument, **legs}
    )  # fmt: skip


def in_flight_until(ticket: Ticket, rules: Execution) -> datetime:
    """Until then a RESERVED ticket may still be sent by execute (its signal is fresh, or a
    send begun while it was is still waiting for its answer); after it, only the monitor acts
    on it. The signal was decided before the ticket was reserved, so this bound is safe."""
    return ticket.reserved_at + timedelta(
        seconds=rules.signal_max_age_seconds + rules.in_flight_grace_seconds
    )
