"""The emulated Alpaca's reading of a ``POST /v2/orders`` body, refusing what Alpaca refuses.

What it refuses (422, code 40010001, Alpaca's wording where known): a body that is not an object,
a missing or unknown symbol/side/type/time_in_force, a non-positive or fractional qty (fractional
and notional orders are not emulated), a limit order without limit_price, a stop order without
stop_price, a price with sub-penny increments (more than 2 decimals at or above $1.00, more than
4 below), a bracket without take_profit.limit_price and stop_loss.stop_price, and a
client_order_id longer than 48 characters.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

MAX_CLIENT_ORDER_ID = 48
MAX_NUMBER = 1e9  # no quantity or price is this large; beyond it float arithmetic misleads
SIDES = frozenset({"buy", "sell"})
TYPES = frozenset({"market", "limit", "stop"})
TIME_IN_FORCE = frozenset({"day", "gtc", "opg", "cls", "ioc", "fok"})
ORDER_CLASSES = frozenset({"simple", "bracket"})


@dataclass(frozen=True, slots=True)
class OrderTicket:
    symbol: str
    qty: int
    side: str
    type: str
    time_in_force: str
    order_class: str
    client_order_id: str
    limit_price: float | None = None
    stop_price: float | None = None
    take_profit: float | None = None
    stop_loss: float | None = None


INVALID = 40010001  # Alpaca's code for a request it refuses to process (422)
FORBIDDEN = 40310000  # buying power / quantity (403)
UNAUTHORIZED = 40110000
NOT_FOUND = 40410000
NOT_CANCELABLE = 42210000


class AlpacaRefusal(Exception):
    """An answer Alpaca gives instead of doing what was asked: HTTP status, code, message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _refuse(message: str) -> AlpacaRefusal:
    return AlpacaRefusal(422, INVALID, message)


def _number(body: Mapping[str, Any], key: str, label: str | None = None) -> float | None:
    raw = body.get(key)
    if raw is None:
        return None
    name = label or key
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise _refuse(f"invalid {name}")
    try:
        value = float(raw)
    except ValueError:
        raise _refuse(f"invalid {name}") from None
    if not math.isfinite(value) or value <= 0:
        raise _refuse(f"{name} must be > 0")
    if value >= MAX_NUMBER:
        raise _refuse(f"{name} is too large")
    return value


def _price(body: Mapping[str, Any], key: str, label: str | None = None) -> float | None:
    value = _number(body, key, label)
    if value is not None:
        places = 100 if value >= 1 else 10_000
        if abs(value * places - round(value * places)) > 1e-6:
            raise _refuse(
                f"invalid {label or key} {value}. sub-penny increment does not fulfill "
                "minimum pricing criteria"
            )
    return value


def _choice(body: Mapping[str, Any], key: str, allowed: frozenset[str], default: str = "") -> str:
    raw = body.get(key, default) or default
    if not isinstance(raw, str) or raw not in allowed:
        raise _refuse(f"invalid {key}: {raw!r}")
    return raw


def parse_order_payload(body: object) -> OrderTicket:
    if not isinstance(body, Mapping):
        raise _refuse("request body format is invalid")
    if body.get("notional") is not None:
        raise _refuse("notional orders are not supported by this emulator")
    symbol = body.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        raise _refuse("symbol is required")
    qty = _number(body, "qty")
    if qty is None:
        raise _refuse("qty is required")
    if qty != int(qty):
        raise _refuse("fractional orders are not supported by this emulator")
    cid = body.get("client_order_id") or ""
    if not isinstance(cid, str):
        raise _refuse("invalid client_order_id")
    if len(cid) > MAX_CLIENT_ORDER_ID:
        raise _refuse(f"client_order_id must be no more than {MAX_CLIENT_ORDER_ID} characters")
    ticket = OrderTicket(
        symbol=symbol,
        qty=int(qty),
        side=_choice(body, "side", SIDES),
        type=_choice(body, "type", TYPES),
        time_in_force=_choice(body, "time_in_force", TIME_IN_FORCE),
        order_class=_choice(body, "order_class", ORDER_CLASSES, default="simple"),
        client_order_id=cid,
        limit_price=_price(body, "limit_price"),
        stop_price=_price(body, "stop_price"),
    )
    if ticket.type == "limit" and ticket.limit_price is None:
        raise _refuse("limit_price is required for limit orders")
    if ticket.type == "stop" and ticket.stop_price is None:
        raise _refuse("stop_price is required for stop orders")
    if ticket.order_class != "bracket":
        return ticket
    take_profit, stop_loss = body.get("take_profit"), body.get("stop_loss")
    if not isinstance(take_profit, Mapping) or not isinstance(stop_loss, Mapping):
        raise _refuse("bracket orders require take_profit and stop_loss")
    tp = _price(take_profit, "limit_price", "take_profit.limit_price")
    sl = _price(stop_loss, "stop_price", "stop_loss.stop_price")
    if tp is None or sl is None:
        raise _refuse("bracket orders require take_profit.limit_price and stop_loss.stop_price")
    if stop_loss.get("limit_price") is not None:
        raise _refuse("stop-limit stop-loss legs are not supported by this emulator")
    if ticket.time_in_force not in ("day", "gtc"):
        raise _refuse("bracket orders must be day or gtc")
    return replace(ticket, take_profit=tp, stop_loss=sl)


def check_bracket_levels(ticket: OrderTicket, base: float) -> None:
    if ticket.take_profit is None or ticket.stop_loss is None:
        return
    if ticket.side == "buy":
        if ticket.take_profit < base + 0.01:
            raise AlpacaRefusal(
                422, INVALID, f"take_profit.limit_price must be >= base_price + 0.01 ({base})"
            )
        if ticket.stop_loss > base - 0.01:
            raise AlpacaRefusal(
                422, INVALID, f"stop_loss.stop_price must be <= base_price - 0.01 ({base})"
            )
    else:
        if ticket.take_profit > base - 0.01:
            raise AlpacaRefusal(
                422, INVALID, f"take_profit.limit_price must be <= base_price - 0.01 ({base})"
            )
        if ticket.stop_loss < base + 0.01:
            raise AlpacaRefusal(
                422, INVALID, f"stop_loss.stop_price must be >= base_price + 0.01 ({base})"
            )
