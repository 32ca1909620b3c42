"""The replay's book: pending orders, open positions, realized P&L and the trade list, next to
the SafetyEngine (in-memory store) and the clock every entry and exit goes through.

``Book`` is shared by the entry side (backtest/entries.py), the exit side (backtest/exits.py)
and the session loop (backtest/engine.py); ``SessionCtx`` is what one session adds to it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.backtest.options_model import OptionModel, PricedContract
from maxtrader.backtest.results import TradeRecord
from maxtrader.backtest.settings import RunConfig
from maxtrader.domain.calendar import MarketCalendar, Session
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.models import AuditKind, Direction, OrderIntent, Regime, Signal
from maxtrader.domain.safety.context import AccountFlags
from maxtrader.domain.safety.engine import SafetyEngine

CLEAR_ACCOUNT = AccountFlags()


@dataclass(slots=True)
class Order:
    """An approved entry waiting for the next bar's open."""

    signal: Signal
    intent: OrderIntent
    regime: Regime
    max_hold: int
    risk: float
    contract: PricedContract | None


@dataclass(slots=True)
class Position:
    signal: Signal
    intent: OrderIntent
    regime: Regime
    symbol: str  # traded symbol
    direction: Direction  # on the underlying
    qty: int
    entry_time: datetime
    entry_price: float
    underlying_entry: float
    entry_fee: float
    risk: float
    time_stop_at: datetime
    contract: PricedContract | None
    mark: float = 0.0


@dataclass(slots=True)
class DayTally:
    """One session's counts, kept in its SessionRecord."""

    rejections: Counter[str] = field(default_factory=Counter)
    trips: Counter[str] = field(default_factory=Counter)
    verdicts: Counter[str] = field(default_factory=Counter)
    pnl: float = 0.0
    trades: int = 0


@dataclass(slots=True)
class SessionCtx:
    session: Session
    regime: Regime
    vix: float | None
    flatten_at: datetime
    start_equity: float
    today: DayTally


class Book:
    def __init__(
        self,
        config: RunConfig,
        calendar: MarketCalendar,
        options: OptionModel,
        clock: FixedClock,
    ) -> None:
        self.cfg = config
        self.options = options
        self.clock = clock
        self.store = InMemoryStateStore()
        self.safety = SafetyEngine(config.safety, self.store, clock, calendar=calendar)
        self.initial = config.backtest.initial_equity
        self.realized = 0.0
        self.positions: dict[str, Position] = {}
        self.pending: dict[str, list[Order]] = {}
        self.trades: list[TradeRecord] = []

    def equity(self) -> float:
        return self.initial + self.realized + sum(unrealized(p) for p in self.positions.values())

    def collect_events(self, ctx: SessionCtx) -> None:
        for event in self.safety.drain_events():
            if event.kind is AuditKind.BREAKER_TRIP:
                ctx.today.trips[event.subject] += 1


def unrealized(p: Position) -> float:
    if not p.mark:
        return 0.0
    if p.contract is not None:
        return (p.mark - p.entry_price) * p.qty * 100
    sign = 1.0 if p.direction is Direction.LONG else -1.0
    return sign * (p.mark - p.entry_price) * p.qty
