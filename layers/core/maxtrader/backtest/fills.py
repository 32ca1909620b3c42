"""Fill simulation: when and at what price a simulated order executes.

- An order decided when bar t closes fills at bar t+1's OPEN (never at bar t's close), plus
  slippage for market-type fills: buys pay ``open + slippage``, sells get ``open - slippage``.
- Exits of open positions are checked on every bar from the entry bar on (the entry fills at the
  open, so the entry bar's whole range comes after it), against the UNDERLYING's high and low:
    * a bar that opens beyond the stop (a gap) exits at the open; beyond the target, at the open;
    * a bar whose range touches both the stop and the target exits at the STOP: the path inside
      a bar is unknown and the pessimistic assumption is the honest one;
    * otherwise the touched level is the exit price.
  Stops are stop-market orders (slippage applies), targets are limit orders (they fill at the
  limit or better, no slippage).
- Time stops and the session flatten are market orders sent when the deadline passes: they fill
  at the open of the first bar starting at or after the deadline.
"""

from __future__ import annotations

from enum import StrEnum

from maxtrader.domain.models import Direction

MIN_PRICE = 0.01


class ExitReason(StrEnum):
    STOP = "stop"
    TARGET = "target"
    TIME_STOP = "time_stop"
    FLATTEN = "flatten"
    END_OF_DATA = "end_of_data"


def buy_price(price: float, slippage: float) -> float:
    return price + slippage


def sell_price(price: float, slippage: float) -> float:
    return max(price - slippage, MIN_PRICE)


def touched_exit(
    direction: Direction,
    *,
    stop: float,
    target: float,
    bar_open: float,
    bar_high: float,
    bar_low: float,
) -> tuple[ExitReason, float] | None:
    """The stop or target this bar hits (stop first when it touches both), with the
    underlying price the exit executes at (before slippage), or None."""
    if direction is Direction.LONG:
        if bar_open <= stop:
            return ExitReason.STOP, bar_open
        if bar_open >= target:
            return ExitReason.TARGET, bar_open
        if bar_low <= stop:
            return ExitReason.STOP, stop
        if bar_high >= target:
            return ExitReason.TARGET, target
        return None
    if bar_open >= stop:
        return ExitReason.STOP, bar_open
    if bar_open <= target:
        return ExitReason.TARGET, bar_open
    if bar_high >= stop:
        return ExitReason.STOP, stop
    if bar_low <= target:
        return ExitReason.TARGET, target
    return None


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
