"""The emulated Alpaca account: orders, positions and cash, and the rules that fill orders.

Not thread-safe: the server (``emulators/alpaca.py``) holds one lock around every call.

Fill rules (no slippage added: the broker fills at the market's prices; whole fills unless
``max_fill_per_bar`` caps what one bar fills of a simple equity order, for partial fills):
- Nothing fills at submission. Time moves only when a bar is fed (``feed_bar``) or, for option
  orders, when a quote is set (``set_option_quote``).
- Equity orders fill from the bars of their symbol. A bar that closed at or before the order's
  submission is history and is ignored.
  * market: at the bar's open ("the next bar's open").
  * limit buy: when low <= limit, at min(open, limit); limit sell: when high >= limit, at
    max(open, limit) (a bar opening through the limit fills at the better open).
  * stop sell: when low <= stop, at min(open, stop) (a gap fills at the worse open); stop buy
    mirrored.
- Bracket: the parent fills by its rule; its take-profit (limit) and stop-loss (stop) legs go from
  ``held`` to ``new`` and are evaluated from that same bar on, as the backtester evaluates exits
  (``trading.exits.touched_exit``): a gap beyond a leg fills it at the open; a bar touching both
  fills the STOP. The legs are OCO: one fills, the other is canceled.
- Option orders fill against the contract's latest quote when a bar is fed or a quote is set:
  market buy at the ask, sell at the bid; limit buy when 0 < ask <= limit (at the ask), limit
  sell when bid >= limit (at the bid).
- Day orders still open when a bar of a later New York date arrives expire.
- Cancels take effect at once, unless ``async_cancels``: then, as at Alpaca, an order goes
  ``pending_cancel``, still holds its quantity and may still fill on the next bar; whatever that
  bar did not fill is canceled after it.

Refusals mirror Alpaca's (HTTP status, error code, message) and raise ``AlpacaRefusal``.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from maxtrader.domain.clock import Clock, trading_date
from maxtrader.domain.models import Bar, Direction
from maxtrader.domain.options import OptionContract
from maxtrader.emulators.alpaca_fills import level, trigger_price
from maxtrader.emulators.alpaca_orders import (
    FORBIDDEN,
    INVALID,
    NOT_CANCELABLE,
    NOT_FOUND,
    AlpacaRefusal,
    OrderTicket,
    check_bracket_levels,
    parse_order_payload,
)
from maxtrader.trading.exits import ExitReason, touched_exit

EQUITY = "us_equity"
OPTION = "us_option"
MULTIPLIER = {EQUITY: 1, OPTION: 100}
TERMINAL = frozenset({"filled", "canceled", "expired", "rejected", "replaced"})
_ID_NAMESPACE = uuid.UUID("6d1c2a1e-8f4b-4c7e-9a51-3b0c5d7e9f11")


@dataclass
class EmulatedOrder:
    id: str
    client_order_id: str
    symbol: str
    asset_class: str
    side: str
    qty: int
    type: str
    time_in_force: str
    order_class: str
    status: str
    submitted_at: datetime
    updated_at: datetime
    limit_price: float | None = None
    stop_price: float | None = None
    filled_qty: int = 0
    filled_avg_price: float | None = None
    filled_at: datetime | None = None
    canceled_at: datetime | None = None
    expired_at: datetime | None = None
    legs: list[EmulatedOrder] = field(default_factory=list)
    parent_id: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status not in TERMINAL


@dataclass
class EmulatedPosition:
    symbol: str
    asset_class: str
    qty: int  # signed: negative is short
    avg_entry_price: float


class AlpacaBook:
    def __init__(
        self,
        clock: Clock,
        *,
        cash: float,
        multiplier: int = 2,
        shorting_enabled: bool = True,
        market_open: Callable[[datetime], bool] = lambda _: True,
    ) -> None:
        self.clock = clock
        self.cash = cash
        self.multiplier = multiplier
        self.shorting_enabled = shorting_enabled
        self._market_open = market_open
        self.max_fill_per_bar: int | None = None  # partial fills of simple equity orders
        self.async_cancels = False  # cancels pass through pending_cancel until the next bar
        self.orders: dict[str, EmulatedOrder] = {}  # by id, submission order, legs included
        self._by_client_id: dict[str, EmulatedOrder] = {}
        self.positions: dict[str, EmulatedPosition] = {}
        self.marks: dict[str, float] = {}
        self.contracts: dict[str, OptionContract] = {}
        self.quotes: dict[str, tuple[float, float, datetime]] = {}
        self._serial = itertools.count(1)

    # --- ids ---------------------------------------------------------------------------------
    def new_id(self) -> str:
        """Deterministic UUIDs: the same run gives the same ids."""
        return str(uuid.uuid5(_ID_NAMESPACE, str(next(self._serial))))

    # --- lookups -----------------------------------------------------------------------------
    def order(self, order_id: str) -> EmulatedOrder:
        found = self.orders.get(order_id)
        if found is None:
            raise AlpacaRefusal(404, NOT_FOUND, "order not found")
        return found

    def order_by_client_id(self, client_order_id: str) -> EmulatedOrder:
        found = self._by_client_id.get(client_order_id)
        if found is None:
            raise AlpacaRefusal(404, NOT_FOUND, "order not found")
        return found

    def position(self, symbol: str) -> EmulatedPosition:
        found = self.positions.get(symbol)
        if found is None:
            raise AlpacaRefusal(404, NOT_FOUND, "position does not exist")
        return found

    def top_level(self) -> Iterator[EmulatedOrder]:
        return (o for o in list(self.orders.values()) if o.parent_id is None)

    def asset_class_of(self, symbol: str) -> str:
        if symbol in self.contracts:
            return OPTION
        if symbol.isalpha() and symbol.isupper() and len(symbol) <= 5:
            return EQUITY
        raise AlpacaRefusal(422, INVALID, f"asset not found for {symbol}")

    def mark(self, position: EmulatedPosition) -> float:
        if position.asset_class == OPTION and position.symbol in self.quotes:
            bid, ask, _ = self.quotes[position.symbol]
            if bid > 0 and ask > 0:
                return (bid + ask) / 2
        return self.marks.get(position.symbol, position.avg_entry_price)

    # --- account figures ---------------------------------------------------------------------
    def market_values(self) -> tuple[float, float]:
        """(long market value, short market value <= 0)."""
        long_mv = short_mv = 0.0
        for pos in self.positions.values():
            value = pos.qty * self.mark(pos) * MULTIPLIER[pos.asset_class]
            if value >= 0:
                long_mv += value
            else:
                short_mv += value
        return long_mv, short_mv

    def equity(self) -> float:
        long_mv, short_mv = self.market_values()
        return self.cash + long_mv + short_mv

    def buying_power(self) -> float:
        long_mv, short_mv = self.market_values()
        return max(self.equity() * self.multiplier - (long_mv - short_mv), 0.0)

    def options_buying_power(self) -> float:
        return max(self.cash, 0.0)

    # --- orders ------------------------------------------------------------------------------
    def submit(self, payload: object) -> EmulatedOrder:
        ticket = parse_order_payload(payload)
        if ticket.client_order_id in self._by_client_id:
            raise AlpacaRefusal(422, INVALID, "client_order_id must be unique")
        asset_class = self.asset_class_of(ticket.symbol)
        self._check_allowed(ticket, asset_class)
        now = self.clock.now()
        status = "new" if self._market_open(now) else "accepted"
        cid = ticket.client_order_id or self.new_id()
        order = self._new_order(ticket, cid, asset_class, status, now)
        if ticket.take_profit is not None and ticket.stop_loss is not None:  # a bracket
            exit_side = "sell" if ticket.side == "buy" else "buy"
            for leg_type, price in (("limit", ticket.take_profit), ("stop", ticket.stop_loss)):
                leg = EmulatedOrder(
                    id=self.new_id(),
                    client_order_id=self.new_id(),
                    symbol=ticket.symbol,
                    asset_class=asset_class,
                    side=exit_side,
                    qty=ticket.qty,
                    type=leg_type,
                    time_in_force=ticket.time_in_force,
                    order_class="bracket",
                    status="held",
                    submitted_at=now,
                    updated_at=now,
                    limit_price=price if leg_type == "limit" else None,
                    stop_price=price if leg_type == "stop" else None,
                    parent_id=order.id,
                )
                order.legs.append(leg)
                self._register(leg)
        self._register(order)
        return order

    def _new_order(
        self, ticket: OrderTicket, cid: str, asset_class: str, status: str, now: datetime
    ) -> EmulatedOrder:
        return EmulatedOrder(
            id=self.new_id(),
            client_order_id=cid,
            symbol=ticket.symbol,
            asset_class=asset_class,
            side=ticket.side,
            qty=ticket.qty,
            type=ticket.type,
            time_in_force=ticket.time_in_force,
            order_class=ticket.order_class,
            status=status,
            submitted_at=now,
            updated_at=now,
            limit_price=ticket.limit_price,
            stop_price=ticket.stop_price,
        )

    def _register(self, order: EmulatedOrder) -> None:
        self.orders[order.id] = order
        self._by_client_id[order.client_order_id] = order

    def _check_allowed(self, ticket: OrderTicket, asset_class: str) -> None:
        if asset_class == OPTION and (
            ticket.time_in_force != "day" or ticket.order_class != "simple"
        ):
            raise AlpacaRefusal(422, INVALID, "options orders must be simple day orders")
        base = ticket.limit_price or self._reference_price(ticket.symbol, ticket.side)
        if base is not None:
            check_bracket_levels(ticket, base)
        held = self.positions.get(ticket.symbol)
        held_qty = held.qty if held else 0
        signed = ticket.qty if ticket.side == "buy" else -ticket.qty
        if held_qty and (held_qty > 0) != (signed > 0):  # reduces: limited to the free quantity
            free = abs(held_qty) - self.reserved(ticket.symbol, ticket.side)
            if ticket.qty > free:
                raise AlpacaRefusal(
                    403,
                    FORBIDDEN,
                    f"insufficient qty available for order (requested: {ticket.qty}, "
                    f"available: {max(free, 0)})",
                )
            return
        if signed < 0 and (asset_class == OPTION or not self.shorting_enabled):
            raise AlpacaRefusal(403, FORBIDDEN, "account is not allowed to short")
        if base is None:
            return
        cost = ticket.qty * base * MULTIPLIER[asset_class] + self._open_cost(asset_class)
        power = self.options_buying_power() if asset_class == OPTION else self.buying_power()
        if cost > power + 1e-9:
            raise AlpacaRefusal(403, FORBIDDEN, "insufficient buying power")

    def _reference_price(self, symbol: str, side: str) -> float | None:
        if symbol in self.quotes:
            bid, ask, _ = self.quotes[symbol]
            price = ask if side == "buy" else bid
            return price if price > 0 else None
        return self.marks.get(symbol)

    def reserved(self, symbol: str, side: str) -> int:
        """Quantity already held by open orders of ``side`` (a bracket's OCO pair counts once)."""
        total = 0
        for o in self.orders.values():
            if o.symbol != symbol or o.side != side or not o.is_open or o.status == "held":
                continue
            if o.parent_id is not None and o.type != "stop":
                continue  # the take-profit leg shares its quantity with the stop-loss leg
            total += o.qty - o.filled_qty
        return total

    def _open_cost(self, asset_class: str) -> float:
        """What open orders that add exposure will cost (they hold buying power)."""
        total = 0.0
        for o in self.top_level():
            if o.asset_class != asset_class or not o.is_open:
                continue
            price = o.limit_price or self._reference_price(o.symbol, o.side) or 0.0
            total += (o.qty - o.filled_qty) * price * MULTIPLIER[asset_class]
        return total

    def cancel(self, order_id: str) -> None:
        order = self.order(order_id)
        if not order.is_open:
            raise AlpacaRefusal(422, NOT_CANCELABLE, f'order is already in "{order.status}" state')
        family = [order, *order.legs]
        if order.parent_id is not None:  # a leg: its OCO sibling goes with it
            family = [o for o in self.order(order.parent_id).legs if o.is_open]
        for member in family:
            if member.is_open:
                self._request_cancel(member)

    def cancel_all(self, *, at_once: bool = False) -> list[str]:
        """Cancel every open order; ``at_once`` even with async cancels (Alpaca's close-all
        cancels before it liquidates)."""
        canceled = []
        for order in self.top_level():
            if order.is_open or any(leg.is_open for leg in order.legs):
                for member in (order, *order.legs):
                    if member.is_open:
                        self._request_cancel(member, at_once=at_once)
                canceled.append(order.id)
        return canceled

    def _request_cancel(self, order: EmulatedOrder, *, at_once: bool = False) -> None:
        if self.async_cancels and not at_once:
            order.status, order.updated_at = "pending_cancel", self.clock.now()
        else:
            self._close_order(order, "canceled")

    def _close_order(self, order: EmulatedOrder, status: str) -> None:
        now = self.clock.now()
        order.status = status
        order.updated_at = now
        if status == "canceled":
            order.canceled_at = now
        else:
            order.expired_at = now

    # --- positions ---------------------------------------------------------------------------
    def close_position(self, symbol: str) -> EmulatedOrder:
        held = self.position(symbol)
        payload = {
            "symbol": symbol,
            "qty": str(abs(held.qty)),
            "side": "sell" if held.qty > 0 else "buy",
            "type": "market",
            "time_in_force": "day",
        }
        return self.submit(payload)

    # --- time moves --------------------------------------------------------------------------
    def feed_bar(self, bar: Bar) -> list[EmulatedOrder]:
        """Fill what this bar fills (rules in the module docstring); the fills, in order."""
        self._expire_day_orders(bar.ts)
        filled: list[EmulatedOrder] = []
        for order in self.top_level():
            if order.symbol != bar.symbol or order.asset_class != EQUITY:
                continue
            if bar.closed_at <= order.submitted_at:
                continue
            if order.is_open:
                price = trigger_price(order, bar)
                if price is None:
                    continue
                cap = None if order.legs or not self.max_fill_per_bar else self.max_fill_per_bar
                left = order.qty - order.filled_qty
                self._fill(order, price, max(bar.ts, order.submitted_at), min(left, cap or left))
                filled.append(order)
                for leg in order.legs:
                    leg.status, leg.updated_at = "new", order.updated_at
            if order.status == "filled" and any(leg.is_open for leg in order.legs):
                leg_fill = self._run_oco(order, bar)
                if leg_fill is not None:
                    filled.append(leg_fill)
        self.marks[bar.symbol] = bar.close
        filled += self.fill_options()
        for order in self.orders.values():  # a pending cancel lost no race this bar: done
            if order.status == "pending_cancel":
                self._close_order(order, "canceled")
        return filled

    def _run_oco(self, parent: EmulatedOrder, bar: Bar) -> EmulatedOrder | None:
        target = next(leg for leg in parent.legs if leg.type == "limit")
        stop = next(leg for leg in parent.legs if leg.type == "stop")
        touched = touched_exit(
            Direction.LONG if parent.side == "buy" else Direction.SHORT,
            stop=level(stop.stop_price),
            target=level(target.limit_price),
            bar_open=bar.open,
            bar_high=bar.high,
            bar_low=bar.low,
        )
        if touched is None:
            return None
        reason, price = touched
        winner, loser = (stop, target) if reason is ExitReason.STOP else (target, stop)
        self._fill(winner, price, max(bar.ts, parent.filled_at or bar.ts))
        self._close_order(loser, "canceled")
        return winner

    def fill_options(self) -> list[EmulatedOrder]:
        filled = []
        for order in self.top_level():
            if order.asset_class != OPTION or not order.is_open or order.symbol not in self.quotes:
                continue
            bid, ask, _ = self.quotes[order.symbol]
            if order.side == "buy":
                ok = ask > 0 and (order.limit_price is None or ask <= order.limit_price)
                price = ask
            else:
                ok = bid > 0 and (order.limit_price is None or bid >= order.limit_price)
                price = bid
            if ok:
                self._fill(order, price, self.clock.now())
                filled.append(order)
        return filled

    def _expire_day_orders(self, bar_ts: datetime) -> None:
        day = trading_date(bar_ts)
        for order in self.orders.values():
            stale = trading_date(order.submitted_at) < day
            if order.is_open and order.time_in_force == "day" and stale:
                self._close_order(order, "expired")

    def _fill(
        self, order: EmulatedOrder, price: float, at: datetime, qty: int | None = None
    ) -> None:
        """Fill ``qty`` (default: all that is left) of ``order`` at ``price``."""
        qty = order.qty - order.filled_qty if qty is None else qty
        signed = qty if order.side == "buy" else -qty
        self.cash -= signed * price * MULTIPLIER[order.asset_class]
        held = self.positions.get(order.symbol)
        if held is None:
            self.positions[order.symbol] = EmulatedPosition(
                order.symbol, order.asset_class, signed, price
            )
        else:
            new_qty = held.qty + signed
            if new_qty == 0:
                del self.positions[order.symbol]
            elif (new_qty > 0) != (held.qty > 0):  # flipped: the rest is a new position
                held.qty, held.avg_entry_price = new_qty, price
            elif abs(new_qty) > abs(held.qty):  # added to
                cost = held.avg_entry_price * abs(held.qty) + price * qty
                held.qty, held.avg_entry_price = new_qty, cost / abs(new_qty)
            else:
                held.qty = new_qty
        paid = (order.filled_avg_price or 0.0) * order.filled_qty + price * qty
        order.filled_qty += qty
        order.filled_avg_price = paid / order.filled_qty
        order.status = "filled" if order.filled_qty == order.qty else "partially_filled"
        order.updated_at = at
        if order.status == "filled":
            order.filled_at = at
