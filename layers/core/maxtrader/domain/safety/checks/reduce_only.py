"""The one check an exit passes: it reduces a real open position (reduce-only).

As NautilusTrader's REDUCING state checks an order against the real position: an exit is approved
only when its signal's stored ticket holds an open position on the same symbol, the exit's side
is the opposite of the position's, and its quantity is at most what is open. Anything else would
open or enlarge a position while calling itself an exit, so it is rejected (``not_reduce_only``)
with the figures, whatever the kill switch and safe mode say (which never block a true exit).
"""

from __future__ import annotations

from maxtrader.domain.models import (
    CheckResult,
    Direction,
    OrderIntent,
    OrderPurpose,
    parse_client_order_id,
)
from maxtrader.domain.safety.checks.base import failed, passed
from maxtrader.domain.safety.state import Ticket

NOT_REDUCE_ONLY = "not_reduce_only"
_CHECK = "reduce_only"


def _reject(why: str, observed: float | None = None, limit: float | None = None) -> CheckResult:
    return failed(_CHECK, f"{NOT_REDUCE_ONLY}: {why}", observed, limit)


def reduce_only(intent: OrderIntent, ticket: Ticket | None) -> CheckResult:
    """``ticket``: the stored ticket of the exit's signal (None: there is none)."""
    ref = parse_client_order_id(intent.client_order_id)
    if ref is None or ref.purpose is not OrderPurpose.EXIT or ref.signal_id != intent.signal_id:
        return _reject(
            f"client_order_id {intent.client_order_id!r} is not an exit of signal "
            f"{intent.signal_id}"
        )
    if ticket is None:
        return _reject(f"no position for signal {intent.signal_id}", intent.qty, 0)
    if ticket.symbol != intent.symbol:
        return _reject(f"the position is in {ticket.symbol}, the exit trades {intent.symbol}")
    held = ticket.qty if ticket.status.holds_slot else 0
    if held <= 0:
        return _reject(
            f"{ticket.client_order_id} holds nothing ({ticket.status.value})", intent.qty, 0
        )
    closing = "sell" if ticket.direction is Direction.LONG else "buy"
    if intent.side.value != closing:
        return _reject(
            f"a {intent.side.value} would enlarge a {ticket.direction.value} position",
            intent.qty,
            held,
        )
    if intent.qty > held:
        return _reject(f"exit of {intent.qty} exceeds the {held} open", intent.qty, held)
    return passed(_CHECK, observed=intent.qty, limit=held)
