"""Fakes for the scheduled operations' unit tests: a broker and a market that can fail.

``FakeBroker`` holds positions and open orders; ``fills_after`` says after how many position
reads the closing orders have filled (None: never, the "not flat" case); ``fail`` names the
calls that raise ``BrokerUnavailableError``; ``skew`` offsets its clock from the test's.
``FakeMarket`` answers ``latest_vix`` with a reading, None, or a ``DataError``, and is its own
client factory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from maxtrader.domain.broker import (
    BrokerAccount,
    BrokerClock,
    BrokerOrder,
    BrokerOrderStatus,
    BrokerPosition,
    OptionChain,
    OrderRequest,
    OrderType,
)
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import Clock
from maxtrader.domain.errors import BrokerUnavailableError, DataError
from maxtrader.domain.models import Bar, OrderSide
from maxtrader.domain.ports import VixReading
from maxtrader.domain.safety.context import AccountFlags


def order(symbol: str, at: datetime, qty: int = 10) -> BrokerOrder:
    return BrokerOrder(
        broker_order_id=f"b-{symbol}-{qty}",
        client_order_id=f"c-{symbol}-{qty}",
        symbol=symbol,
        side=OrderSide.SELL,
        qty=qty,
        type=OrderType.LIMIT,
        limit_price=500.0,
        status=BrokerOrderStatus.OPEN,
        submitted_at=at,
    )


@dataclass
class FakeBroker:
    now: Clock  # the test's clock (the broker's own is ``clock()``, offset by ``skew``)
    calendar: MarketCalendar
    equity: float = 100_000.0
    flags: AccountFlags = field(default_factory=AccountFlags)
    held: dict[str, int] = field(default_factory=dict)
    working: list[BrokerOrder] = field(default_factory=list)
    fills_after: int | None = 1  # position reads after a close before it is filled
    fail: set[str] = field(default_factory=set)
    skew: timedelta = timedelta(0)
    clock_open: bool | None = None  # None: what the calendar says
    calls: list[str] = field(default_factory=list)
    _closing: dict[str, int] = field(default_factory=dict)  # symbol -> reads left

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name in self.fail:
            raise BrokerUnavailableError(f"{name}: HTTP 503")

    def account(self) -> BrokerAccount:
        self._call("account")
        return BrokerAccount(
            equity=self.equity,
            buying_power=self.equity,
            cash=self.equity,
            flags=self.flags,
            paper=True,
        )

    def clock(self) -> BrokerClock:
        self._call("clock")
        now = self.clock_now()
        is_open = self.calendar.is_open(now) if self.clock_open is None else self.clock_open
        return BrokerClock(
            timestamp=now + self.skew, is_open=is_open, next_open=now, next_close=now
        )

    def clock_now(self) -> datetime:
        return self.now.now()

    def positions(self) -> list[BrokerPosition]:
        self._call("positions")
        for symbol in list(self._closing):
            self._closing[symbol] -= 1
            if self._closing[symbol] <= 0:
                self.held.pop(symbol, None)
                del self._closing[symbol]
        return [
            BrokerPosition(symbol=s, qty=q, avg_entry_price=500.0) for s, q in self.held.items()
        ]

    def open_orders(self) -> list[BrokerOrder]:
        self._call("open_orders")
        return list(self.working)

    def cancel_all(self) -> None:
        self._call("cancel_all")
        self.working.clear()

    def close_all_positions(self, *, cancel_orders: bool = True) -> list[BrokerOrder]:
        self._call("close_all_positions")
        if cancel_orders:
            self.working.clear()
        if self.fills_after is not None:
            self._closing = dict.fromkeys(self.held, self.fills_after)
        return [order(s, self.clock_now(), abs(q)) for s, q in self.held.items()]

    # --- unused by the operations ------------------------------------------------------------
    def submit(self, order: OrderRequest) -> BrokerOrder:
        raise NotImplementedError

    def order_by_client_id(self, client_order_id: str) -> BrokerOrder | None:
        raise NotImplementedError

    def cancel(self, broker_order_id: str) -> None:
        raise NotImplementedError

    def close_position(self, symbol: str) -> BrokerOrder:
        raise NotImplementedError

    def option_chain(self, underlying: str, expiry: object) -> OptionChain:
        raise NotImplementedError


@dataclass
class FakeMarket:
    """Also its own factory (the operations take ``Callable[[], MarketData]``): calling it
    builds the client, or raises ``build_error`` as a secret that cannot be read would."""

    reading: VixReading | None = None
    error: str | None = None  # raise DataError with this message
    build_error: Exception | None = None
    calls: int = 0

    def __call__(self) -> FakeMarket:
        if self.build_error is not None:
            raise self.build_error
        return self

    def latest_vix(self) -> VixReading | None:
        self.calls += 1
        if self.error is not None:
            raise DataError(self.error)
        return self.reading

    def minute_bars(self, symbol: str, start: datetime, end: datetime) -> list[Bar]:
        raise NotImplementedError
