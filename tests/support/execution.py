"""Builders for the execute tests: signal messages, a fake Broker that can fail, wired deps.

``FakeBroker`` keeps orders by client_order_id and refuses a reused one (422) as Alpaca does;
``script(call, *steps)`` queues what the next calls of ``submit`` / ``lookup`` / ``account`` /
``chain`` do instead of answering normally:

    "unavailable"          raise BrokerUnavailableError, nothing done (a 5xx / 429 / refused)
    "accept_then_timeout"  place the order, then raise BrokerUnavailableError (no answer)
    "accept_then_garble"   place the order, then raise BrokerResponseError (malformed body)
    "land_late"            raise BrokerUnavailableError; the order appears after the next lookup
    "reject"               raise BrokerRejectedError (403 insufficient buying power)
    "crash_after_accept"   place the order, then raise ``Crash`` (the process dies: BaseException)
    "crash_before_send"    raise ``Crash`` with nothing placed
"""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from maxtrader.adapters.alert_cooldown import Cooldown
from maxtrader.adapters.memory_alerts import InMemoryAlerts
from maxtrader.config.safety import SafetyConfig
from maxtrader.config.strategies import StrategiesConfig
from maxtrader.domain.broker import (
    BrokerAccount,
    BrokerClock,
    BrokerOrder,
    BrokerOrderStatus,
    BrokerPosition,
    OptionChain,
    OrderRequest,
)
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import (
    BrokerRejectedError,
    BrokerResponseError,
    BrokerUnavailableError,
    DuplicateClientOrderIdError,
)
from maxtrader.domain.models import AuditKind, Direction, OptionRight, Regime, Signal
from maxtrader.domain.options import OptionContract, OptionQuote, occ_symbol
from maxtrader.domain.ports import StateStore
from maxtrader.domain.regime import RegimeState
from maxtrader.domain.safety.context import AccountFlags
from maxtrader.execution import ExecutionDeps
from maxtrader.trading.signal_message import SignalMessage
from tests.support.safety import make_engine

START = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)  # Monday 10:00 New York
TODAY = date(2024, 6, 3)
EQUITY_STRATEGIES = StrategiesConfig.model_validate({"wave_renko": {"instrument": "equity"}})
OPTION_STRATEGIES = StrategiesConfig()


class Crash(BaseException):
    """The Lambda died mid-call (a timeout kills the process: nothing after it runs)."""


def message(
    *,
    minute: int = 0,
    side: Direction = Direction.LONG,
    entry: float = 500.0,
    risk: float = 5.0,
    signal_id: str | None = None,
    decided_at: datetime | None = None,
    strategy: str = "wave_renko",
) -> SignalMessage:
    """A signal on the bar ``minute`` minutes after 09:59 New York, decided at its close."""
    bar_ts = START - timedelta(minutes=1) + timedelta(minutes=minute)
    stop = entry - risk if side is Direction.LONG else entry + risk
    target = entry + 2 * risk if side is Direction.LONG else entry - 2 * risk
    fields: dict[str, Any] = dict(
        strategy=strategy, symbol="SPY", side=side, entry=entry, stop=stop, target=target,
        bar_ts=bar_ts, regime=Regime.NORMAL_VOL, reason="test",
    )  # fmt: skip
    signal = Signal(id=signal_id, **fields) if signal_id else Signal.create(**fields)
    regime = RegimeState(
        day=TODAY, regime=Regime.NORMAL_VOL, anchor=Regime.NORMAL_VOL, vix=17.0,
        observed_at=bar_ts, reason="test",
    )  # fmt: skip
    return SignalMessage(
        signal=signal,
        regime=regime,
        last_price=entry,
        decided_at=decided_at or bar_ts + timedelta(minutes=1),
    )


def chain_around(
    spot: float, right: OptionRight, *, ask: float = 2.0, as_of: datetime = START
) -> OptionChain:
    quotes = []
    for strike in (spot - 1, spot, spot + 1):
        contract = OptionContract(
            symbol=occ_symbol("SPY", TODAY, right, strike), underlying="SPY", right=right,
            strike=strike, expiry=TODAY,
        )  # fmt: skip
        quotes.append(OptionQuote(contract=contract, bid=round(ask - 0.05, 2), ask=ask))
    return OptionChain(underlying="SPY", expiry=TODAY, as_of=as_of, quotes=tuple(quotes))


@dataclass
class FakeBroker:
    """A broker with Alpaca's one rule that matters here: one order per client_order_id."""

    time: FixedClock  # (``clock`` is the port's method)
    account_state: BrokerAccount = field(
        default_factory=lambda: BrokerAccount(
            equity=100_000.0,
            buying_power=400_000.0,
            cash=100_000.0,
            flags=AccountFlags(),
            paper=True,
        )
    )
    chain: OptionChain | None = None
    orders: dict[str, BrokerOrder] = field(default_factory=dict)
    requests: list[OrderRequest] = field(default_factory=list)  # every submit that arrived
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    order_status: BrokerOrderStatus = BrokerOrderStatus.PENDING
    _script: dict[str, deque[str]] = field(default_factory=lambda: defaultdict(deque))
    _late: list[OrderRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, call: str, *steps: str) -> None:
        self._script[call].extend(steps)

    def _step(self, call: str) -> str | None:
        self.calls[call] += 1
        queue = self._script[call]
        return queue.popleft() if queue else None

    # --- the port -------------------------------------------------------------------------
    def account(self) -> BrokerAccount:
        if self._step("account") == "unavailable":
            raise BrokerUnavailableError("account: timed out")
        return self.account_state

    def clock(self) -> BrokerClock:
        raise NotImplementedError("execute never reads the broker's clock")

    def option_chain(self, underlying: str, expiry: date) -> OptionChain:
        if self._step("chain") == "unavailable":
            raise BrokerUnavailableError("option contracts: HTTP 500")
        if self.chain is None or self.chain.underlying != underlying:
            return OptionChain(underlying=underlying, expiry=expiry, as_of=START, quotes=())
        return self.chain

    def submit(self, order: OrderRequest) -> BrokerOrder:
        with self._lock:
            step = self._step("submit")
            self.requests.append(order)
            if step == "unavailable":
                raise BrokerUnavailableError("submit: HTTP 503", status=503, code=50310000)
            if step == "reject":
                raise BrokerRejectedError(
                    "submit: HTTP 403 [40310000] insufficient buying power",
                    status=403,
                    code=40310000,
                )
            if step == "crash_before_send":
                raise Crash
            if step == "land_late":
                self._late.append(order)
                raise BrokerUnavailableError("submit: timed out")
            if order.client_order_id in self.orders:
                raise DuplicateClientOrderIdError(
                    "submit: HTTP 422 [40010001] client_order_id must be unique",
                    status=422,
                    code=40010001,
                )
            placed = self._place(order)
            if step == "accept_then_timeout":
                raise BrokerUnavailableError("submit: timed out")
            if step == "accept_then_garble":
                raise BrokerResponseError("submit: the answer is not JSON")
            if step == "crash_after_accept":
                raise Crash
            return placed

    def order_by_client_id(self, client_order_id: str) -> BrokerOrder | None:
        with self._lock:
            step = self._step("lookup")
            if step == "unavailable":
                raise BrokerUnavailableError("order lookup: HTTP 500", status=500)
            found = self.orders.get(client_order_id)
            for late in self._late:  # a send that was slow to land lands now, after this look
                if late.client_order_id not in self.orders:
                    self._place(late)
            self._late.clear()
            return found

    def open_orders(self) -> list[BrokerOrder]:
        return [o for o in self.orders.values() if not o.status.terminal]

    def positions(self) -> list[BrokerPosition]:
        return []

    def cancel(self, broker_order_id: str) -> None:
        raise NotImplementedError

    def cancel_all(self) -> None:
        raise NotImplementedError

    def close_position(self, symbol: str) -> BrokerOrder:
        raise NotImplementedError

    def close_all_positions(self, *, cancel_orders: bool = True) -> list[BrokerOrder]:
        raise NotImplementedError

    def _place(self, order: OrderRequest) -> BrokerOrder:
        placed = BrokerOrder(
            broker_order_id=str(uuid.uuid4()),
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            qty=order.qty,
            type=order.type,
            status=self.order_status,
            limit_price=order.limit_price,
            submitted_at=self.time.now(),
            instrument=order.instrument,
        )
        self.orders[order.client_order_id] = placed
        return placed


def broker_answers(store: StateStore, event: str | None = None) -> list[list[dict[str, Any]]]:
    """The broker answers of each BROKER_RESPONSE audit record of the day (``event``: only the
    records of that outcome)."""
    found: list[list[dict[str, Any]]] = []
    for record in store.audit_log("2024-06-03"):
        answers = record.detail.get("answers")
        wanted = event is None or record.detail.get("event") == event
        if record.kind is AuditKind.BROKER_RESPONSE and isinstance(answers, list) and wanted:
            found.append([dict(a) for a in answers if isinstance(a, dict)])
    return found


@dataclass
class Rig:
    deps: ExecutionDeps
    broker: FakeBroker
    alerts: InMemoryAlerts
    sleeps: list[float]


def rig(
    store: StateStore,
    clock: FixedClock,
    *,
    strategies: StrategiesConfig = EQUITY_STRATEGIES,
    config: SafetyConfig | None = None,
    broker: FakeBroker | None = None,
    sleep: Callable[[float], None] | None = None,
) -> Rig:
    """Execute's dependencies on ``store`` (seeded with the day's figures) and a fake broker;
    the injected sleep records its waits and moves the clock by them."""
    sleeps: list[float] = []

    def wait(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)

    fake = broker or FakeBroker(clock)
    alerts = InMemoryAlerts(clock, Cooldown(timedelta(minutes=15)))
    engine = make_engine(store, clock, config)
    deps = ExecutionDeps(
        broker=fake,
        engine=engine,
        alerts=alerts,
        calendar=MarketCalendar.xnys(date(2024, 5, 1), date(2024, 7, 31)),
        strategies=strategies,
        clock=clock,
        sleep=sleep or wait,
    )
    return Rig(deps, fake, alerts, sleeps)
