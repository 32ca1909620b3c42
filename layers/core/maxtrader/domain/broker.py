"""What the core knows of a broker: plain validated values, nothing vendor-shaped.

The ``Broker`` port (domain/ports.py) speaks these; the Alpaca adapter builds them from alpaca-py's
models and rejects any answer that does not fit (``BrokerResponseError``), so nothing downstream
ever sees a half-understood broker response.

Quantities are whole units (shares or contracts); prices are per unit (per share, or per option
share: x100 per contract, as ``OrderIntent.est_price``).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AwareDatetime, Field, model_validator

from maxtrader.domain.models import (
    DomainModel,
    Instrument,
    OrderSide,
    Price,
    Quantity,
    Symbol,
)
from maxtrader.domain.options import OptionQuote
from maxtrader.domain.safety.context import AccountFlags

Money = Annotated[float, Field(allow_inf_nan=False)]
ClientOrderId = Annotated[str, Field(min_length=1, max_length=48)]  # Alpaca's limit is 48


class BrokerAccount(DomainModel):
    """The account as the broker reports it."""

    equity: Money
    buying_power: Money
    cash: Money
    flags: AccountFlags
    paper: bool
    status: Annotated[str, Field(min_length=1)] = "ACTIVE"  # Alpaca's; only ACTIVE may trade

    @property
    def active(self) -> bool:
        return self.status == "ACTIVE"


class BrokerClock(DomainModel):
    """The broker's view of the market clock (compared with the calendar by the health check)."""

    timestamp: AwareDatetime
    is_open: bool
    next_open: AwareDatetime
    next_close: AwareDatetime


class BrokerOrderStatus(StrEnum):
    """The order states the core distinguishes (the adapter maps the broker's many onto these;
    docs/broker.md has Alpaca's table). Any state but the terminal ones may still fill."""

    PENDING = "pending"  # accepted, not yet working (accepted, pending_new, held, suspended)
    OPEN = "open"  # working at the broker, nothing filled (new, pending_cancel, done_for_day)
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"  # canceled or expired with no further fills
    REJECTED = "rejected"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset(
    {BrokerOrderStatus.FILLED, BrokerOrderStatus.CANCELED, BrokerOrderStatus.REJECTED}
)


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"


class OrderRequest(DomainModel):
    """One order to submit: an equity bracket (entry with stop-loss and take-profit legs), an
    option limit order, or a plain market order (exits).

    ``client_order_id`` is the idempotency key the broker enforces: at most one order per id.
    """

    client_order_id: ClientOrderId
    symbol: Symbol
    side: OrderSide
    qty: Quantity
    instrument: Instrument
    type: OrderType = OrderType.MARKET
    limit_price: Price | None = None
    stop_loss: Price | None = None  # bracket legs (equity entries only)
    take_profit: Price | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.type is OrderType.LIMIT and self.limit_price is None:
            raise ValueError("a limit order needs limit_price")
        if self.type is not OrderType.LIMIT and self.limit_price is not None:
            raise ValueError(f"limit_price given to a {self.type.value} order")
        bracket = (self.stop_loss is None, self.take_profit is None)
        if bracket not in ((True, True), (False, False)):
            raise ValueError("a bracket needs both stop_loss and take_profit")
        if self.stop_loss is not None and self.instrument is Instrument.OPTION:
            raise ValueError("option orders carry no bracket legs")
        return self

    @property
    def is_bracket(self) -> bool:
        return self.stop_loss is not None


class BrokerOrder(DomainModel):
    """An order as the broker holds it."""

    broker_order_id: Annotated[str, Field(min_length=1)]
    client_order_id: Annotated[str, Field(min_length=1)]
    symbol: Symbol
    side: OrderSide
    qty: Quantity
    type: OrderType
    status: BrokerOrderStatus
    filled_qty: Annotated[int, Field(ge=0)] = 0
    filled_avg_price: Price | None = None
    limit_price: Price | None = None
    stop_price: Price | None = None
    submitted_at: AwareDatetime
    filled_at: AwareDatetime | None = None
    legs: tuple[BrokerOrder, ...] = ()  # a bracket's take-profit and stop-loss orders
    instrument: Instrument = Instrument.EQUITY

    @model_validator(mode="after")
    def _fills_consistent(self) -> Self:
        if self.filled_qty > self.qty:
            raise ValueError(f"filled_qty ({self.filled_qty}) exceeds qty ({self.qty})")
        if self.filled_qty > 0 and self.filled_avg_price is None:
            raise ValueError("filled_avg_price is required when filled_qty > 0")
        return self


class BrokerPosition(DomainModel):
    """A position as the broker holds it. ``qty`` is signed: negative is short."""

    symbol: Symbol
    qty: int
    avg_entry_price: Price
    market_price: Price | None = None
    instrument: Instrument = Instrument.EQUITY

    @model_validator(mode="after")
    def _not_flat(self) -> Self:
        if self.qty == 0:
            raise ValueError("a broker position has a non-zero quantity")
        return self


class OptionChain(DomainModel):
    """The contracts of one underlying for one expiry with their latest quotes, at ``as_of``."""

    underlying: Symbol
    expiry: date
    as_of: AwareDatetime
    quotes: tuple[OptionQuote, ...]
