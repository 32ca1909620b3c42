"""The core's ``OrderRequest`` -> alpaca-py's order request, prices on Alpaca's tick.

Equity entries are brackets (market or limit parent, stop-loss and take-profit legs), option
entries limit orders, exits market orders; all ``day``. Prices are rounded to 0.01, or 0.0001
below $1 for equities, since Alpaca refuses sub-penny prices.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from alpaca.trading.enums import OrderClass, TimeInForce
from alpaca.trading.enums import OrderSide as AlpacaSide
from alpaca.trading.requests import (
    LimitOrderRequest,
    MarketOrderRequest,
    StopLossRequest,
    TakeProfitRequest,
)

from maxtrader.domain.broker import OrderRequest, OrderType
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import Instrument


def tick(price: float, instrument: Instrument) -> float:
    step = "0.01" if price >= 1 or instrument is Instrument.OPTION else "0.0001"
    return float(Decimal(str(price)).quantize(Decimal(step), rounding=ROUND_HALF_UP))


def alpaca_order(order: OrderRequest) -> Any:
    """The alpaca-py request for ``order``; InvalidInputError (nothing sent) when it has none."""
    fields: dict[str, Any] = {
        "symbol": order.symbol,
        "qty": order.qty,
        "side": AlpacaSide(order.side.value),
        "time_in_force": TimeInForce.DAY,
        "client_order_id": order.client_order_id,
    }
    if order.take_profit is not None and order.stop_loss is not None:
        fields |= {
            "order_class": OrderClass.BRACKET,
            "take_profit": TakeProfitRequest(limit_price=tick(order.take_profit, order.instrument)),
            "stop_loss": StopLossRequest(stop_price=tick(order.stop_loss, order.instrument)),
        }
    if order.type is OrderType.MARKET:
        return MarketOrderRequest(**fields)
    if order.type is OrderType.LIMIT and order.limit_price is not None:
        return LimitOrderRequest(limit_price=tick(order.limit_price, order.instrument), **fields)
    raise InvalidInputError(
        f"{order.type.value} orders are not sent: an OrderRequest carries no stop price"
    )
