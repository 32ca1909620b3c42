"""When an emulated Alpaca order fills from a bar, and at what price (rules: alpaca_book.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from maxtrader.domain.models import Bar

if TYPE_CHECKING:
    from maxtrader.emulators.alpaca_book import EmulatedOrder


def trigger_price(order: EmulatedOrder, bar: Bar) -> float | None:
    buy = order.side == "buy"
    if order.type == "market":
        return bar.open
    if order.type == "limit":
        limit = level(order.limit_price)
        if buy:
            return min(bar.open, limit) if bar.low <= limit else None
        return max(bar.open, limit) if bar.high >= limit else None
    if order.type == "stop":
        stop = level(order.stop_price)
        if buy:
            return max(bar.open, stop) if bar.high >= stop else None
        return min(bar.open, stop) if bar.low <= stop else None
    return None


def level(price: float | None) -> float:
    if price is None:
        raise ValueError("an order of this type always carries its price")
    return price
