"""The replay's book: pending orders, open trades, realized P&L and the trade list, next to
the SafetyEngine (in-memory store) and the clock every entry and exit goes through.

``Book`` is shared by the entry side (backtest/entries.py), the exit side (backtest/exits.py)
and the session loop (backtest/engine.py); ``SessionCtx`` is what one session adds to it.

An open trade's position is the safety ``Ticket`` its entry fill produced (the one position
model, trading/positions.py: ``Ticket.direction`` is the side of the contract, a bought put is
LONG); beside it the trade keeps what the report and the option model need.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.backtest.options_model import OptionModel, PricedContract
from maxtrader.backtest.results import TradeRecord
from maxtrader.backtest.settings import RunConfig
from maxtrader.domain.calendar import MarketCalendar, Session
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.models import AuditKind, Direction, OrderIntent, Regime, Signal
from maxtrader.domain.safety.context import AccountFlags
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.domain.safety.state import Ticket
from maxtrader.trading.exits import ExitPlan

if TYPE_CHECKING:
    from maxtrader.backtest.decisions import DecisionObserver

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
class OpenTrade:
    """An open position (``ticket``) and the trade's bookkeeping. ``entry_price`` is the fill's
    own price (the ticket's average is computed and may differ in the last bit)."""

    signal: Signal
    ticket: Ticket
    plan: ExitPlan
    regime: Regime
    entry_time: datetime
    entry_price: float
    underlying_entry: float
    entry_fee: float
    risk: float
    contract: PricedContract | None
    mark: float = 0.0
    # +1 / -1 by the ticket's direction and its multiplier, read on every mark
    sign: float = field(init=False)
    multiplier: int = field(init=False)

    def __post_init__(self) -> None:
        self.sign = 1.0 if self.ticket.direction is Direction.LONG else -1.0
        self.multiplier = self.ticket.multiplier


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
    """One session's frame. ``regime`` and ``vix`` are those in force at the decision being
    made (constant with the daily VIX; updated bar by bar with an intraday series);
    ``flatten_positions``: the regime in force flattens open positions."""

    session: Session
    regime: Regime
    vix: float | None
    flatten_at: datetime
    start_equity: float
    today: DayTally
    flatten_positions: bool = False


class Book:
    def __init__(
        self,
        config: RunConfig,
        calendar: MarketCalendar,
        options: OptionModel,
        clock: FixedClock,
        observer: DecisionObserver | None = None,
    ) -> None:
        self.cfg = config
        self.observer = observer  # sees every entry decision (backtest/decisions.py)
        self.options = options
        self.clock = clock
        self.store = InMemoryStateStore()
        self.safety = SafetyEngine(config.safety, self.store, clock, calendar=calendar)
        self.initial = config.backtest.initial_equity
        self.realized = 0.0
        self.positions: dict[str, OpenTrade] = {}
        self.pending: dict[str, list[Order]] = {}
        self.trades: list[TradeRecord] = []

    def equity(self) -> float:
        return self.initial + self.realized + sum(unrealized(p) for p in self.positions.values())

    def collect_events(self, ctx: SessionCtx) -> None:
        for event in self.safety.drain_events():
            if event.kind is AuditKind.BREAKER_TRIP:
                ctx.today.trips[event.subject] += 1


def unrealized(p: OpenTrade) -> float:
    if not p.mark:
        return 0.0
    return pnl_of(p, p.mark)


def pnl_of(p: OpenTrade, price: float) -> float:
    """Fee-less P&L of the open quantity at ``price`` (of the contract held)."""
    return p.sign * (price - p.entry_price) * p.ticket.qty * p.multiplier
