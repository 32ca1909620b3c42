"""Exits: when an open position closes, and the reduce-only order that closes it.

    flatten_time(session, rules) -> datetime          close - flatten_before_close (early closes)
    exit_plan(ticket, max_hold_minutes) -> ExitPlan   the levels and deadlines of an open ticket
    exit_at(plan, now, flatten_at) -> ExitReason | None          the time-driven exits at ``now``
    touched_exit(direction, *, stop, target, bar_open, bar_high, bar_low) -> ExitTrigger | None
    exit_on_bar(plan, bar, flatten_at, *, regime_flatten=False) -> ExitTrigger | None
    exit_intent(ticket, *, est_price) -> OrderIntent  never opens or enlarges a position

Rules (the backtester's fill model prices them, live sends them as market orders):
- the session flatten at ``flatten_at``, then the regime's flatten (``flatten_on_pause``), then
  the time stop at ``opened_at + max_hold_minutes``: due from the first bar starting at or after
  the deadline, exiting at that bar's open;
- stop and target are UNDERLYING levels checked against the bar's high and low: a bar opening
  beyond either (a gap) exits at the open; a bar touching both exits at the STOP (the path inside
  a bar is unknown: the pessimistic assumption is the honest one); else the touched level.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from maxtrader.config.strategies import SessionRules
from maxtrader.domain.calendar import Session
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import (
    Bar,
    Direction,
    OrderIntent,
    OrderPurpose,
    OrderSide,
    client_order_id,
)
from maxtrader.domain.safety.state import Ticket, TicketStatus
from maxtrader.trading.positions import underlying_direction

__all__ = [
    "ExitPlan",
    "ExitReason",
    "ExitTrigger",
    "NothingToExitError",
    "exit_at",
    "exit_intent",
    "exit_on_bar",
    "exit_plan",
    "flatten_time",
    "touched_exit",
]


class ExitReason(StrEnum):
    STOP = "stop"
    TARGET = "target"
    TIME_STOP = "time_stop"
    FLATTEN = "flatten"
    REGIME_FLATTEN = "regime_flatten"  # the regime turned to one that flattens (pause)
    END_OF_DATA = "end_of_data"  # backtests: the data ends with the position open


class NothingToExitError(InvalidInputError):
    """An exit was asked for a ticket that holds no open quantity (an exit only reduces)."""


@dataclass(frozen=True, slots=True)
class ExitPlan:
    """What decides an open position's exit. ``direction`` is on the underlying."""

    direction: Direction
    stop: float | None
    target: float | None
    time_stop_at: datetime


class ExitTrigger(NamedTuple):
    """Why the position exits and the underlying price it executes at (before slippage);
    a tuple, so ``reason, price = trigger`` reads it too."""

    reason: ExitReason
    underlying: float


def flatten_time(session: Session, rules: SessionRules) -> datetime:
    return session.flatten_time(timedelta(minutes=rules.flatten_before_close_minutes))


def exit_plan(ticket: Ticket, max_hold_minutes: int) -> ExitPlan:
    if ticket.qty <= 0 or ticket.opened_at is None:
        raise NothingToExitError(f"ticket {ticket.client_order_id} holds no open position")
    return ExitPlan(
        direction=underlying_direction(ticket),
        stop=ticket.stop,
        target=ticket.target,
        time_stop_at=ticket.opened_at + timedelta(minutes=max_hold_minutes),
    )


def exit_at(plan: ExitPlan, now: datetime, flatten_at: datetime) -> ExitReason | None:
    if now >= flatten_at:
        return ExitReason.FLATTEN
    if now >= plan.time_stop_at:
        return ExitReason.TIME_STOP
    return None


def touched_exit(
    direction: Direction,
    *,
    stop: float,
    target: float,
    bar_open: float,
    bar_high: float,
    bar_low: float,
) -> ExitTrigger | None:
    """The stop or target a bar hits (stop first when it touches both), or None."""
    if direction is Direction.LONG:
        if bar_open <= stop:
            return ExitTrigger(ExitReason.STOP, bar_open)
        if bar_open >= target:
            return ExitTrigger(ExitReason.TARGET, bar_open)
        if bar_low <= stop:
            return ExitTrigger(ExitReason.STOP, stop)
        if bar_high >= target:
            return ExitTrigger(ExitReason.TARGET, target)
        return None
    if bar_open >= stop:
        return ExitTrigger(ExitReason.STOP, bar_open)
    if bar_open <= target:
        return ExitTrigger(ExitReason.TARGET, bar_open)
    if bar_high >= stop:
        return ExitTrigger(ExitReason.STOP, stop)
    if bar_low <= target:
        return ExitTrigger(ExitReason.TARGET, target)
    return None


def exit_on_bar(
    plan: ExitPlan, bar: Bar, flatten_at: datetime, *, regime_flatten: bool = False
) -> ExitTrigger | None:
    """The exit ``bar`` (of the underlying) triggers for a position held since before it."""
    timed = exit_at(plan, bar.ts, flatten_at)
    if timed is ExitReason.FLATTEN:
        return ExitTrigger(timed, bar.open)
    if regime_flatten:
        return ExitTrigger(ExitReason.REGIME_FLATTEN, bar.open)
    if timed is not None:
        return ExitTrigger(timed, bar.open)
    if plan.stop is None or plan.target is None:
        return None
    return touched_exit(
        plan.direction,
        stop=plan.stop,
        target=plan.target,
        bar_open=bar.open,
        bar_high=bar.high,
        bar_low=bar.low,
    )


def exit_intent(ticket: Ticket, *, est_price: float) -> OrderIntent:
    """The order that closes all of ``ticket``'s open quantity: it sells what was bought and
    buys back what was sold, never more than is held."""
    if ticket.status is not TicketStatus.OPEN or ticket.qty <= 0:
        raise NothingToExitError(
            f"ticket {ticket.client_order_id} is {ticket.status.value} with {ticket.qty} open: "
            "nothing to exit"
        )
    return OrderIntent(
        client_order_id=client_order_id(ticket.signal_id, OrderPurpose.EXIT),
        signal_id=ticket.signal_id,
        strategy=ticket.strategy,
        symbol=ticket.symbol,
        underlying=ticket.underlying,
        side=OrderSide.SELL if ticket.direction is Direction.LONG else OrderSide.BUY,
        purpose=OrderPurpose.EXIT,
        instrument=ticket.instrument,
        qty=ticket.qty,
        est_price=est_price,
    )
