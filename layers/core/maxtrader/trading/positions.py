"""The one position model and its direction convention.

A position is a safety ``Ticket`` (domain/safety/state.py): what the store holds, what live
reconciles, what the backtester's book holds. Two directions exist and are never mixed up:

- ``Ticket.direction`` is the side of the CONTRACT held: LONG = bought, SHORT = sold short.
  A bought call and a bought put are both LONG (their P&L rises with their own price); it is
  what the accounting (opening side, realized and unrealized P&L) reads.
- ``underlying_direction(ticket)`` is the direction on the UNDERLYING, the one a ``Signal.side``
  and a backtest ``TradeRecord.side`` carry and the one the stop and target (underlying levels)
  are read with: equity = the ticket's direction; a long call or a short put is LONG the
  underlying, a long put or a short call SHORT.
"""

from __future__ import annotations

from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import Direction, Instrument, OptionRight
from maxtrader.domain.safety.state import Ticket

__all__ = ["occ_right", "underlying_direction"]

_OPPOSITE = {Direction.LONG: Direction.SHORT, Direction.SHORT: Direction.LONG}


def occ_right(symbol: str) -> OptionRight:
    """The right of an OCC option symbol (``SPY250314C00562000`` -> CALL)."""
    flag = symbol[-9:-8] if len(symbol) > 15 else ""
    if flag == "C":
        return OptionRight.CALL
    if flag == "P":
        return OptionRight.PUT
    raise InvalidInputError(f"{symbol!r} is not an OCC option symbol")


def underlying_direction(ticket: Ticket) -> Direction:
    """The position's direction on its underlying (see the module docstring)."""
    if ticket.instrument is Instrument.EQUITY:
        return ticket.direction
    if occ_right(ticket.symbol) is OptionRight.CALL:
        return ticket.direction
    return _OPPOSITE[ticket.direction]
