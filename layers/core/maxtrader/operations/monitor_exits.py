"""Exits of positions no broker-side order protects: the backtester's decisions, live.

    exit_due(ticket, bars, now, rules) -> ExitTrigger | None    pure (trading/exits.py)
    send_exit(engine, broker, orders, trigger, *, est_price, max_attempts) -> ExitOutcome

Which positions: an OPEN ticket with no working closing order. An equity bracket's stop-loss and
take-profit legs work at the broker (its stop and target), so an equity position is exited here
only once they are gone: canceled by hand, expired, or canceled by the monitor when the time
stop or the regime's flatten is due (then the next run exits it); an option position (no legs)
always is. While the entry order
itself still works (a partially filled option limit), it is canceled first and the exit waits
for the next run, when the entry's last fill is known: an exit never races a fill.

When (the same order of rules as backtest/exits.py, via ``exit_on_bar``): the session flatten,
then the regime's flatten (``pause.flatten_on_pause``), then the time stop, then stop and
target on the underlying's closed minute bars since the position opened (stop first when a bar
touches both). Time-driven exits also fire at ``now`` with no new bar: stale data never holds
a position past its deadline.

Only what the broker holds: an exit goes out only when the broker's position (this run's first
read) holds the ticket's quantity on its side beyond what working orders already close
(``broker_free_qty``), e.g. the end-of-day flatten's closing orders. Anything else is not sent
(reconciliation reports it if it is drift): an exit can never open a position.

How: ``exit_intent`` (reduce-only, the whole open quantity) under the next exit attempt's
``client_order_id`` (``mt-<signal>-exit``, ``-exit-2`` ...), through ``SafetyEngine.reserve``
(the reduce-only check against the stored ticket), then one market order. A submit that may
have reached the broker is not re-sent: the next run finds it by its client_order_id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from maxtrader.domain.broker import BrokerOrder, BrokerPosition, OrderRequest, OrderType
from maxtrader.domain.errors import BrokerError, DuplicateClientOrderIdError
from maxtrader.domain.models import Bar, Direction, OrderPurpose, OrderSide, Regime, client_order_id
from maxtrader.domain.ports import Broker
from maxtrader.domain.safety.context import MarketContext
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.domain.safety.state import Ticket
from maxtrader.operations.monitor_orders import TicketOrders
from maxtrader.trading.exits import (
    ExitReason,
    ExitTrigger,
    exit_at,
    exit_intent,
    exit_on_bar,
    exit_plan,
)

__all__ = [
    "ExitOutcome",
    "ExitRules",
    "broker_free_qty",
    "exit_due",
    "send_exit",
    "working_legs",
]


@dataclass(frozen=True, slots=True)
class ExitRules:
    """What the exits of one ticket depend on besides its levels."""

    max_hold_minutes: int
    flatten_at: datetime
    regime_flatten: bool = False


@dataclass(frozen=True, slots=True)
class ExitOutcome:
    client_order_id: str
    reason: ExitReason
    sent: bool
    detail: str = ""


def exit_due(
    ticket: Ticket, bars: Sequence[Bar], now: datetime, rules: ExitRules
) -> ExitTrigger | None:
    """The exit the closed bars since the position opened trigger, else a time-driven one."""
    plan = exit_plan(ticket, rules.max_hold_minutes)
    opened = _minute(ticket.opened_at or now)
    for bar in bars:
        if bar.ts < opened or bar.closed_at > now or bar.symbol != ticket.underlying:
            continue
        hit = exit_on_bar(plan, bar, rules.flatten_at, regime_flatten=rules.regime_flatten)
        if hit is not None:
            return hit
    last = bars[-1].close if bars else 0.0
    timed = exit_at(plan, now, rules.flatten_at)
    if timed is ExitReason.FLATTEN:
        return ExitTrigger(timed, last)
    if rules.regime_flatten:
        return ExitTrigger(ExitReason.REGIME_FLATTEN, last)
    return ExitTrigger(timed, last) if timed is not None else None


def working_legs(orders: TicketOrders) -> list[BrokerOrder]:
    """The bracket legs still working, when they are the only closing orders that work (and
    the entry is done): those a due time stop or regime flatten cancels."""
    if orders.entry_working or any(not o.status.terminal for o in orders.exits):
        return []
    return [leg for leg in orders.legs if not leg.status.terminal]


def broker_free_qty(
    ticket: Ticket, positions: Mapping[str, BrokerPosition], open_orders: Sequence[BrokerOrder]
) -> int:
    """Units on the ticket's side that the broker holds and no working order already closes.

    The broker-side half of reduce-only: an exit larger than this would open a new position
    (a short, were the end-of-day flatten's own closing order already working or done)."""
    held = positions.get(ticket.symbol)
    signed = held.qty if held is not None else 0
    long = ticket.direction is Direction.LONG
    if signed == 0 or (signed > 0) != long:
        return 0
    closing = OrderSide.SELL if long else OrderSide.BUY
    working = 0
    for order in open_orders:
        if order.symbol != ticket.symbol:
            continue
        if order.side is closing and not order.status.terminal:
            working += order.qty - order.filled_qty
        legs = [leg.qty - leg.filled_qty for leg in order.legs
                if leg.side is closing and not leg.status.terminal]  # fmt: skip
        working += max(legs, default=0)  # a bracket's legs are one OCO pair: counted once
    return max(abs(signed) - working, 0)


def send_exit(
    engine: SafetyEngine,
    broker: Broker,
    orders: TicketOrders,
    trigger: ExitTrigger,
    *,
    est_price: float,
    max_attempts: int,
) -> ExitOutcome:
    ticket = orders.ticket
    attempt = len(orders.exits) + 1  # every earlier attempt is terminal (no working exit)
    if attempt > max_attempts:
        coid = client_order_id(ticket.signal_id, OrderPurpose.EXIT, max_attempts)
        return ExitOutcome(coid, trigger.reason, False, f"{max_attempts} exit attempts used")
    coid = client_order_id(ticket.signal_id, OrderPurpose.EXIT, attempt)
    intent = exit_intent(ticket, est_price=est_price).model_copy(update={"client_order_id": coid})
    verdict = engine.reserve(intent, MarketContext(regime=Regime.UNKNOWN))
    if not verdict.approved:
        why = "; ".join(f"{c.name}: {c.reason}" for c in verdict.failures)
        return ExitOutcome(coid, trigger.reason, False, f"refused: {why}")
    request = OrderRequest(
        client_order_id=coid,
        symbol=intent.symbol,
        side=intent.side,
        qty=intent.qty,
        instrument=intent.instrument,
        type=OrderType.MARKET,
    )
    try:
        placed = broker.submit(request)
    except DuplicateClientOrderIdError:
        return ExitOutcome(coid, trigger.reason, True, "already at the broker")
    except BrokerError as exc:
        if not exc.may_have_reached_broker:
            engine.record_order_error(f"exit {coid}: {exc}")
        # Either way the next run looks the order up by its client_order_id before re-sending.
        return ExitOutcome(coid, trigger.reason, False, f"{type(exc).__name__}: {exc}")
    return ExitOutcome(coid, trigger.reason, True, placed.broker_order_id)


def _minute(ts: datetime) -> datetime:
    return ts - timedelta(seconds=ts.second, microseconds=ts.microsecond)
