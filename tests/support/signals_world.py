"""The signals path on the memory adapters: stores, queue, market data and a movable clock.

    world = SignalsWorld(symbols=("SPY",))
    world.market.add(bars)                  # what the vendor's REST answers
    world.push(bar)                         # process_bars([bar]) at the bar's close (+ lag)
    world.poll(at)                          # poll_closed_minutes(at) with the clock at ``at``
    world.queue.delivered / world.audit.audit_log(day) / world.sessions.strategy_state(...)

``minute(symbol, day, i)`` is a plausible 1-minute bar ``i`` minutes after the open of ``day``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

from maxtrader.adapters.memory_market_data import InMemoryMarketData
from maxtrader.adapters.memory_session_store import InMemorySessionStore
from maxtrader.adapters.memory_signal_queue import InMemorySignalQueue
from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.config import load_strategies
from maxtrader.config.strategies import StrategiesConfig
from maxtrader.domain.calendar import MarketCalendar, Session
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.models import Bar
from maxtrader.domain.ports import MarketData
from maxtrader.domain.regime import RegimeDetector, RegimeState
from maxtrader.signals import (
    SignalsDependencies,
    SignalsOutcome,
    poll_closed_minutes,
    process_bars,
)

CALENDAR = MarketCalendar.xnys("2024-01-01", "2024-12-31")
DAY = date(2024, 6, 4)  # a Tuesday session (the Monday before is a session too)
LAG = timedelta(seconds=2)


def session_of(day: date) -> Session:
    session = CALENDAR.session(day)
    assert session is not None
    return session


def minute(symbol: str, day: date, i: int, *, drift: float = 0.05) -> Bar:
    """Bar ``i`` minutes after ``day``'s open (a gentle sawtooth, valid OHLC)."""
    price = 500 + (i % 37) * drift + day.toordinal() % 7
    return Bar(symbol=symbol, ts=session_of(day).open + timedelta(minutes=i), open=price,
               high=price + 0.4, low=price - 0.4, close=price + 0.1, volume=1000 + i,
               vwap=price)  # fmt: skip


def session_bars(symbol: str, day: date, minutes: Iterable[int] | None = None) -> list[Bar]:
    session = session_of(day)
    count = int((session.close - session.open).total_seconds() // 60)
    return [minute(symbol, day, i) for i in (minutes if minutes is not None else range(count))]


class SignalsWorld:
    def __init__(
        self,
        symbols: Sequence[str] = ("SPY",),
        *,
        config: StrategiesConfig | None = None,
        market: InMemoryMarketData | None = None,
    ) -> None:
        self.config = config or load_strategies()
        self.sessions = InMemorySessionStore()
        self.audit = InMemoryStateStore()
        self.queue = InMemorySignalQueue()
        self.market = market if market is not None else InMemoryMarketData()
        self.clock = FixedClock(datetime(2024, 6, 4, 13, 0, tzinfo=UTC))
        self.market_builds = 0
        self.deps = SignalsDependencies.of(
            sessions=self.sessions, audit=self.audit, queue=self.queue,
            market_data=self._market, calendar=CALENDAR, strategies=self.config,
            symbols=symbols, clock=self.clock,
        )  # fmt: skip

    def _market(self) -> MarketData:
        self.market_builds += 1
        return self.market

    def store_regime(self, day: date, vix: float | None) -> RegimeState:
        detector = RegimeDetector(self.config.regime)
        state = detector.update(detector.start_session(day), vix)
        self.sessions.save_regime(state)
        return state

    def push(self, *bars: Bar, lag: timedelta = LAG) -> SignalsOutcome:
        self.clock.set(max(b.closed_at for b in bars) + lag)
        return process_bars(list(bars), self.deps)

    def poll(self, at: datetime) -> SignalsOutcome:
        self.clock.set(at)
        return poll_closed_minutes(at, self.deps)

    def last_bar_ts(self, symbol: str = "SPY") -> dict[str, datetime]:
        out = {}
        for name in self.deps.strategies:
            stored = self.sessions.strategy_state(name, symbol)
            assert stored is not None
            out[name] = stored.last_bar_ts
        return out
