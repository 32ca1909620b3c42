"""The monitor's unit-test world: a fake Broker that can fail in each way, on the memory adapters.

``FakeBroker`` keeps orders by client_order_id and positions by symbol; ``fill`` moves both as
the broker would (an order's cumulative quantity and average, the signed position). ``fail``
makes the next calls of a method raise (a 500, a timeout, a refusal, a bad shape).
``MonitorWorld`` builds the engine, the stores, the alerts and the service over them.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from maxtrader.adapters.alert_cooldown import Cooldown
from maxtrader.adapters.memory_alerts import InMemoryAlerts
from maxtrader.adapters.memory_session_store import InMemorySessionStore
from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.config.safety import Alerts as AlertsConfig
from maxtrader.config.safety import Monitor, SafetyConfig
from maxtrader.config.strategies import StrategiesConfig
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
from maxtrader.domain.calendar import MarketCalendar, Session
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import (
    BrokerRejectedError,
    BrokerUnavailableError,
    DuplicateClientOrderIdError,
)
from maxtrader.domain.models import Instrument, OrderIntent, OrderSide
from maxtrader.domain.safety.context import AccountFlags
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.domain.safety.state import Ticket
from maxtrader.operations.monitor import MonitorService
from tests.support.safety import make_engine, market

S = BrokerOrderStatus
WEEK = MarketCalendar(  # Monday 2024-06-03 to Friday, regular hours (09:30-16:00 New York)
    Session(
        day=date(2024, 6, d),
        open=datetime(2024, 6, d, 13, 30, tzinfo=UTC),
        close=datetime(2024, 6, d, 20, 0, tzinfo=UTC),
    )
    for d in range(3, 8)
)


@dataclass(frozen=True)
class FakeContext:
    """What the Powertools logger reads from a LambdaContext."""

    function_name: str = "maxtrader-staging-monitor"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:monitor"
    aws_request_id: str = "00000000-0000-0000-0000-00000000cafe"


def timeout() -> BrokerUnavailableError:
    return BrokerUnavailableError("timed out")


def server_error() -> BrokerUnavailableError:
    return BrokerUnavailableError("HTTP 500 internal", status=500)


class FakeBroker:
    """The Broker port in memory. Unsupported calls raise: the monitor must not make them."""

    def __init__(self, clock: FixedClock, equity: float = 100_000.0) -> None:
        self.clock_ = clock
        self.equity = equity
        self.orders: dict[str, BrokerOrder] = {}
        self.position_map: dict[str, BrokerPosition] = {}
        self.submitted: list[OrderRequest] = []
        self.canceled: list[str] = []
        self.calls: Counter[str] = Counter()
        self._failures: dict[str, deque[Exception]] = defaultdict(deque)

    # --- fault injection -------------------------------------------------------------------
    def fail(self, method: str, error: Exception, times: int = 1) -> None:
        self._failures[method].extend([error] * times)

    def _call(self, method: str) -> None:
        self.calls[method] += 1
        if self._failures[method]:
            raise self._failures[method].popleft()

    # --- the port --------------------------------------------------------------------------
    def account(self) -> BrokerAccount:
        self._call("account")
        return BrokerAccount(equity=self.equity, buying_power=4 * self.equity, cash=self.equity,
                             flags=AccountFlags(), paper=True)  # fmt: skip

    def clock(self) -> BrokerClock:
        self._call("clock")
        now = self.clock_.now()
        return BrokerClock(timestamp=now, is_open=True, next_open=now, next_close=now)

    def submit(self, order: OrderRequest) -> BrokerOrder:
        self._call("submit")
        if order.client_order_id in self.orders:
            raise DuplicateClientOrderIdError("client_order_id must be unique", status=422)
        self.submitted.append(order)
        placed = broker_order(order.client_order_id, order.symbol, order.side, order.qty,
                              at=self.clock_.now(), instrument=order.instrument,
                              status=S.PENDING)  # fmt: skip
        self.orders[order.client_order_id] = placed
        return placed

    def order_by_client_id(self, client_order_id: str) -> BrokerOrder | None:
        self._call("order_by_client_id")
        return self.orders.get(client_order_id)

    def open_orders(self) -> list[BrokerOrder]:
        self._call("open_orders")
        return [
            o
            for o in self.orders.values()
            if not o.status.terminal or any(not leg.status.terminal for leg in o.legs)
        ]

    def positions(self) -> list[BrokerPosition]:
        self._call("positions")
        return list(self.position_map.values())

    def cancel(self, broker_order_id: str) -> None:
        """Cancel a working order; a bracket leg takes its OCO partner with it (Alpaca's)."""
        self._call("cancel")
        known = [o for top in self.orders.values() for o in (top, *top.legs)
                 if o.broker_order_id == broker_order_id]  # fmt: skip
        if not known or known[0].status.terminal:
            raise BrokerRejectedError("HTTP 422 order is not cancelable", status=422)
        self.canceled.append(broker_order_id)
        done = {"status": S.CANCELED}
        for coid, o in self.orders.items():
            if o.broker_order_id == broker_order_id and not o.status.terminal:
                self.orders[coid] = o.model_copy(update=done)
            elif any(leg.broker_order_id == broker_order_id for leg in o.legs):
                legs = tuple(leg if leg.status.terminal else leg.model_copy(update=done)
                             for leg in o.legs)  # fmt: skip
                self.orders[coid] = o.model_copy(update={"legs": legs})

    def cancel_all(self) -> None:
        raise AssertionError("the monitor never cancels everything")

    def close_position(self, symbol: str) -> BrokerOrder:
        raise AssertionError("the monitor never closes a position by symbol")

    def close_all_positions(self, *, cancel_orders: bool = True) -> list[BrokerOrder]:
        raise AssertionError("the monitor never flattens the account")

    def option_chain(self, underlying: str, expiry: date) -> OptionChain:
        raise AssertionError("the monitor reads no option chain")

    # --- what tests drive -----------------------------------------------------------------
    def put(self, order: BrokerOrder) -> BrokerOrder:
        self.orders[order.client_order_id] = order
        return order

    def fill(self, client_order_id: str, qty: int, price: float, *, done: bool | None = None,
             leg: int | None = None) -> BrokerOrder:  # fmt: skip
        """``qty`` more units of the order (or of its ``leg``-th leg) at ``price``; the
        position moves with it. ``done``: terminal FILLED (default: when fully filled)."""
        parent = self.orders[client_order_id]
        target = parent.legs[leg] if leg is not None else parent
        total = target.filled_qty + qty
        avg = ((target.filled_avg_price or 0) * target.filled_qty + price * qty) / total
        finished = total == target.qty if done is None else done
        status = S.FILLED if finished else S.PARTIALLY_FILLED
        updated = target.model_copy(
            update={
                "filled_qty": total,
                "filled_avg_price": avg,
                "status": status,
                "filled_at": self.clock_.now(),
            }
        )
        if leg is not None:
            legs = list(parent.legs)
            legs[leg] = updated
            others = [o.model_copy(update={"status": S.CANCELED}) if i != leg and finished else o
                      for i, o in enumerate(legs)]  # fmt: skip
            self.orders[client_order_id] = parent.model_copy(update={"legs": tuple(others)})
        else:
            self.orders[client_order_id] = updated
        self.move_position(target.symbol, qty if target.side is OrderSide.BUY else -qty, price,
                           target.instrument)  # fmt: skip
        return updated

    def move_position(self, symbol: str, delta: int, price: float,
                      instrument: Instrument = Instrument.EQUITY) -> None:  # fmt: skip
        held = self.position_map.get(symbol)
        qty = (held.qty if held else 0) + delta
        if qty == 0:
            self.position_map.pop(symbol, None)
            return
        avg = held.avg_entry_price if held else price
        self.position_map[symbol] = BrokerPosition(
            symbol=symbol, qty=qty, avg_entry_price=avg, market_price=price, instrument=instrument
        )

    def set_price(self, symbol: str, price: float) -> None:
        held = self.position_map[symbol]
        self.position_map[symbol] = held.model_copy(update={"market_price": price})


def broker_order(
    client_order_id: str,
    symbol: str,
    side: OrderSide,
    qty: int,
    *,
    at: datetime,
    status: BrokerOrderStatus = S.OPEN,
    filled: int = 0,
    avg: float | None = None,
    legs: tuple[BrokerOrder, ...] = (),
    instrument: Instrument = Instrument.EQUITY,
    type_: OrderType = OrderType.MARKET,
    broker_order_id: str | None = None,
) -> BrokerOrder:
    return BrokerOrder(
        broker_order_id=broker_order_id or str(uuid.uuid4()),
        client_order_id=client_order_id,
        symbol=symbol,
        side=side,
        qty=qty,
        type=type_,
        status=status,
        filled_qty=filled,
        filled_avg_price=avg,
        submitted_at=at,
        filled_at=at if filled else None,
        legs=legs,
        instrument=instrument,
    )


def bracket_legs(symbol: str, side: OrderSide, qty: int, at: datetime, *, stop: float,
                 target: float) -> tuple[BrokerOrder, BrokerOrder]:  # fmt: skip
    """A bracket's take-profit (limit) and stop-loss legs, held until the parent fills."""
    close = OrderSide.SELL if side is OrderSide.BUY else OrderSide.BUY
    tp = broker_order(str(uuid.uuid4()), symbol, close, qty, at=at, status=S.PENDING,
                      type_=OrderType.LIMIT)  # fmt: skip
    sl = broker_order(str(uuid.uuid4()), symbol, close, qty, at=at + timedelta(microseconds=1),
                      status=S.PENDING, type_=OrderType.STOP)  # fmt: skip
    return (tp, sl)


@dataclass
class MonitorWorld:
    clock: FixedClock
    store: InMemoryStateStore = field(default_factory=InMemoryStateStore)
    sessions: InMemorySessionStore = field(default_factory=InMemorySessionStore)
    config: SafetyConfig = field(default_factory=SafetyConfig)
    strategies: StrategiesConfig = field(default_factory=StrategiesConfig)
    broker: FakeBroker = field(init=False)
    alerts: InMemoryAlerts = field(init=False)
    engine: SafetyEngine = field(init=False)

    def __post_init__(self) -> None:
        self.broker = FakeBroker(self.clock)
        self.alerts = InMemoryAlerts(self.clock, Cooldown.from_config(AlertsConfig()))
        self.engine = make_engine(self.store, self.clock, self.config)

    @property
    def monitor_config(self) -> Monitor:
        return self.config.monitor

    def service(self, **overrides: Any) -> MonitorService:
        parts: dict[str, Any] = {
            "engine": self.engine, "broker": self.broker, "sessions": self.sessions,
            "alerts": self.alerts, "calendar": WEEK, "strategies": self.strategies,
            "config": self.config.monitor, "clock": self.clock,
        }  # fmt: skip
        parts.update(overrides)
        return MonitorService(**parts)

    def reserve(self, intent: OrderIntent, **context: Any) -> Ticket:
        """Reserve through the engine (``context``: the market, e.g. an option's last price)."""
        verdict = self.engine.reserve(intent, market(**{"last_price": intent.est_price, **context}))
        assert verdict.approved, verdict.failures
        ticket = self.store.ticket(intent.client_order_id)
        assert ticket is not None
        return ticket

    def ticket(self, client_order_id: str) -> Ticket:
        found = self.store.ticket(client_order_id)
        assert found is not None
        return found

    def advance(self, **delta: float) -> None:
        self.clock.set(self.clock.now() + timedelta(**delta))

    def subjects(self) -> list[str]:
        return [s.alert.subject for s in self.alerts.sent]
