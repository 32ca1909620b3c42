"""Fill simulation: at what price a simulated order executes.

- An order decided when bar t closes fills at bar t+1's OPEN (never at bar t's close), plus
  slippage for market-type fills: buys pay ``open + slippage``, sells get ``open - slippage``.
- Exits of open positions are checked on every bar from the entry bar on (the entry fills at the
  open, so the entry bar's whole range comes after it). WHEN an exit is due and at what
  underlying price (a gap at the open, the touched level, the stop first on a bar touching both,
  time stops and flattens at the first bar at or after the deadline) is trading/exits.py's
  decision, shared with live. Here: stops, time stops and flattens are market-type orders
  (slippage applies), targets are limit orders (they fill at the limit or better, no slippage).
"""

from __future__ import annotations

from maxtrader.domain.models import Direction
from maxtrader.trading.exits import ExitReason

__all__ = ["MIN_PRICE", "buy_price", "entry_fill_price", "exit_fill_price", "sell_price"]

MIN_PRICE = 0.01


def buy_price(price: float, slippage: float) -> float:
    return price + slippage


def sell_price(price: float, slippage: float) -> float:
    return max(price - slippage, MIN_PRICE)


def exit_fill_price(
    direction: Direction, reason: ExitReason, underlying: float, slippage: float
) -> float:
    """The equity fill price of an exit: closing a long sells, closing a short buys."""
    slip = 0.0 if reason is ExitReason.TARGET else slippage
    if direction is Direction.LONG:
        return sell_price(underlying, slip)
    return buy_price(underlying, slip)


def entry_fill_price(direction: Direction, bar_open: float, slippage: float) -> float:
    if direction is Direction.LONG:
        return buy_price(bar_open, slippage)
    return sell_price(bar_open, slippage)
