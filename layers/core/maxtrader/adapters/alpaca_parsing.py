"""Alpaca's answers -> the core's broker models (``domain/broker.py``), or BrokerResponseError.

Each ``parse_*`` takes the raw JSON value alpaca-py handed back (its clients run with
``raw_data=True``), validates it with alpaca-py's own model of the wire, then builds the domain
model. Any surprise (not an object, a missing or mistyped field, an unknown status or order type,
a fractional quantity, a naive timestamp, an answer about another symbol) is a
``BrokerResponseError`` whose message names the field; nothing half-understood gets through.

Order statuses (Alpaca -> BrokerOrderStatus; any non-terminal one with fills is
PARTIALLY_FILLED):
    accepted, pending_new, accepted_for_bidding, held, pending_review, suspended -> PENDING
    new, partially_filled, pending_cancel, pending_replace, done_for_day, stopped -> OPEN
    calculated -> FILLED when filled_qty == qty, else OPEN
    filled -> FILLED;  canceled, expired, replaced -> CANCELED;  rejected -> REJECTED
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any, TypeVar

from alpaca.data.models.quotes import Quote
from alpaca.trading.enums import AssetClass, OrderStatus, PositionSide
from alpaca.trading.models import Clock, Order, Position, TradeAccount
from alpaca.trading.models import OptionContract as AlpacaContract
from pydantic import ValidationError

from maxtrader.domain.broker import (
    BrokerAccount,
    BrokerClock,
    BrokerOrder,
    BrokerOrderStatus,
    BrokerPosition,
    OrderType,
)
from maxtrader.domain.errors import BrokerResponseError
from maxtrader.domain.models import Instrument, OptionRight, OrderSide
from maxtrader.domain.options import OptionContract
from maxtrader.domain.safety.context import AccountFlags

T = TypeVar("T")
S = BrokerOrderStatus
_STATUS = {
    OrderStatus.ACCEPTED: S.PENDING,
    OrderStatus.PENDING_NEW: S.PENDING,
    OrderStatus.ACCEPTED_FOR_BIDDING: S.PENDING,
    OrderStatus.HELD: S.PENDING,
    OrderStatus.PENDING_REVIEW: S.PENDING,
    OrderStatus.SUSPENDED: S.PENDING,
    OrderStatus.NEW: S.OPEN,
    OrderStatus.PARTIALLY_FILLED: S.OPEN,
    OrderStatus.PENDING_CANCEL: S.OPEN,
    OrderStatus.PENDING_REPLACE: S.OPEN,
    OrderStatus.DONE_FOR_DAY: S.OPEN,
    OrderStatus.STOPPED: S.OPEN,
    OrderStatus.CALCULATED: S.OPEN,
    OrderStatus.FILLED: S.FILLED,
    OrderStatus.CANCELED: S.CANCELED,
    OrderStatus.EXPIRED: S.CANCELED,
    OrderStatus.REPLACED: S.CANCELED,
    OrderStatus.REJECTED: S.REJECTED,
}
_INSTRUMENT = {AssetClass.US_EQUITY: Instrument.EQUITY, AssetClass.US_OPTION: Instrument.OPTION}
_ORDER_TYPES = {t.value: t for t in OrderType}


class _Shape(Exception):
    """A shape problem; ``validated`` turns it into a BrokerResponseError."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")


def validated(what: str, build: Callable[[], T]) -> T:
    """Run ``build``; any shape problem becomes a BrokerResponseError about ``what``."""
    try:
        return build()
    except _Shape as exc:
        raise BrokerResponseError(f"{what}: unexpected answer: {exc}") from exc
    except ValidationError as exc:
        fields = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(body)'}: {e['msg']}" for e in exc.errors()
        )
        raise BrokerResponseError(f"{what}: unexpected answer: {fields}") from exc
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise BrokerResponseError(f"{what}: unexpected answer: {exc}") from exc


def _object(raw: object, field: str = "(body)") -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise _Shape(field, f"expected a JSON object, got {type(raw).__name__}")
    return raw


def objects(raw: object, field: str = "(body)") -> list[Mapping[str, Any]]:
    if not isinstance(raw, list):
        raise _Shape(field, f"expected a JSON array, got {type(raw).__name__}")
    return [_object(item, f"{field}[{i}]") for i, item in enumerate(raw)]


def _required(value: T | None, field: str) -> T:
    if value is None:
        raise _Shape(field, "missing")
    return value


def _number(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Shape(field, f"expected a number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise _Shape(field, f"not a number: {value!r}") from None
    if not math.isfinite(number):
        raise _Shape(field, f"not finite: {value!r}")
    return number


def _whole(value: object, field: str) -> int:
    number = _number(_required(value, field), field)
    if number != int(number):
        raise _Shape(field, f"fractional quantities are not supported: {value!r}")
    return int(number)


def _price(value: object, field: str) -> float | None:
    """An optional price; Alpaca writes "0" for "none yet" on unfilled orders."""
    if value is None:
        return None
    number = _number(value, field)
    return number if number != 0 else None


def _instrument(asset_class: AssetClass | None, field: str = "asset_class") -> Instrument:
    found = _INSTRUMENT.get(_required(asset_class, field))
    if found is None:
        raise _Shape(field, f"unsupported asset class {asset_class}")
    return found


# --- account and clock ---------------------------------------------------------------------
def parse_account(raw: object, *, paper: bool) -> BrokerAccount:
    def build() -> BrokerAccount:
        m = TradeAccount(**_object(raw))
        return BrokerAccount(
            equity=_number(_required(m.equity, "equity"), "equity"),
            buying_power=_number(_required(m.buying_power, "buying_power"), "buying_power"),
            cash=_number(_required(m.cash, "cash"), "cash"),
            flags=AccountFlags(
                trading_blocked=_required(m.trading_blocked, "trading_blocked"),
                account_blocked=_required(m.account_blocked, "account_blocked"),
                trade_suspended_by_user=_required(
                    m.trade_suspended_by_user, "trade_suspended_by_user"
                ),
            ),
            paper=paper,
            status=m.status.value,
        )

    return validated("account", build)


def parse_clock(raw: object) -> BrokerClock:
    def build() -> BrokerClock:
        m = Clock(**_object(raw))
        return BrokerClock(
            timestamp=m.timestamp, is_open=m.is_open, next_open=m.next_open, next_close=m.next_close
        )

    return validated("clock", build)


# --- orders and positions ------------------------------------------------------------------
def parse_order(raw: object, what: str = "order") -> BrokerOrder:
    return validated(what, lambda: _order(Order(**_object(raw))))


def _order(m: Order, field: str = "") -> BrokerOrder:
    symbol = _required(m.symbol, f"{field}symbol")
    side = _required(m.side, f"{field}side")
    kind = _required(m.type or m.order_type, f"{field}type")
    order_type = _ORDER_TYPES.get(kind.value)
    if order_type is None:
        raise _Shape(f"{field}type", f"unsupported order type {kind.value!r}")
    qty = _whole(m.qty, f"{field}qty")
    filled = _whole(m.filled_qty if m.filled_qty is not None else 0, f"{field}filled_qty")
    status = _STATUS.get(m.status)
    if status is None:
        raise _Shape(f"{field}status", f"unmapped order status {m.status.value!r}")
    if m.status is OrderStatus.CALCULATED and filled == qty:
        status = S.FILLED
    if not status.terminal and status is not S.FILLED and filled > 0:
        status = S.PARTIALLY_FILLED
    legs = tuple(_order(leg, f"{field}legs[{i}].") for i, leg in enumerate(m.legs or ()))
    return BrokerOrder(
        broker_order_id=str(m.id),
        client_order_id=m.client_order_id,
        symbol=symbol,
        side=OrderSide(side.value),
        qty=qty,
        type=order_type,
        status=status,
        filled_qty=filled,
        filled_avg_price=_price(m.filled_avg_price, f"{field}filled_avg_price") if filled else None,
        limit_price=_price(m.limit_price, f"{field}limit_price"),
        stop_price=_price(m.stop_price, f"{field}stop_price"),
        submitted_at=m.submitted_at,
        filled_at=m.filled_at,
        legs=legs,
        instrument=_instrument(m.asset_class, f"{field}asset_class"),
    )


def parse_position(raw: object, what: str = "position") -> BrokerPosition:
    def build() -> BrokerPosition:
        m = Position(**_object(raw))
        qty = _whole(m.qty, "qty")
        if m.side is PositionSide.SHORT and qty > 0:
            qty = -qty  # either sign convention is unambiguous given the side
        elif m.side is PositionSide.LONG and qty < 0:
            raise _Shape("qty", f"a long position with a negative quantity ({m.qty})")
        return BrokerPosition(
            symbol=m.symbol,
            qty=qty,
            avg_entry_price=_number(m.avg_entry_price, "avg_entry_price"),
            market_price=_price(m.current_price, "current_price"),
            instrument=_instrument(m.asset_class),
        )

    return validated(what, build)


# --- option chains -------------------------------------------------------------------------
def parse_contracts_page(
    raw: object, *, underlying: str, expiry: date
) -> tuple[list[OptionContract], str | None]:
    """One page of /v2/options/contracts: the tradable contracts and the next page's token."""

    def build() -> tuple[list[OptionContract], str | None]:
        body = _object(raw)
        token = body.get("next_page_token")
        if token is not None and not isinstance(token, str):
            raise _Shape("next_page_token", f"expected a string, got {token!r}")
        if "option_contracts" not in body:
            raise _Shape("option_contracts", "missing")
        items = objects(body["option_contracts"] or [], "option_contracts")
        contracts = []
        for i, item in enumerate(items):
            m = AlpacaContract(**item)
            where = f"option_contracts[{i}]"
            if m.underlying_symbol != underlying or m.expiration_date != expiry:
                raise _Shape(
                    where,
                    f"{m.symbol} ({m.underlying_symbol} {m.expiration_date}) is not a contract "
                    f"of {underlying} expiring {expiry}",
                )
            if m.tradable:
                contracts.append(
                    OptionContract(
                        symbol=m.symbol,
                        underlying=m.underlying_symbol,
                        right=OptionRight(m.type.value),
                        strike=m.strike_price,
                        expiry=m.expiration_date,
                    )
                )
        return contracts, token or None

    return validated("option contracts", build)


def parse_quotes(raw: object, requested: Iterable[str]) -> dict[str, tuple[float, float, datetime]]:
    """Latest quotes by symbol as (bid, ask, time); symbols without a quote are absent."""
    wanted = set(requested)

    def build() -> dict[str, tuple[float, float, datetime]]:
        quotes = {}
        for symbol, item in _object(raw).items():
            if symbol not in wanted:
                raise _Shape(f"quotes.{symbol}", "a quote for a symbol that was not asked for")
            if item is None:
                continue
            q = Quote(symbol, dict(_object(item, f"quotes.{symbol}")))
            if q.timestamp.tzinfo is None:
                raise _Shape(f"quotes.{symbol}.t", "a timestamp without a time zone")
            for name, value in (("bp", q.bid_price), ("ap", q.ask_price)):
                if not math.isfinite(value) or value < 0:
                    raise _Shape(f"quotes.{symbol}.{name}", f"not a price: {value!r}")
            quotes[symbol] = (q.bid_price, q.ask_price, q.timestamp)
        return quotes

    return validated("option quotes", build)
