"""Synthetic sessions and a scripted strategy, so engine tests control every price and signal."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from maxtrader.backtest.engine import Backtester
from maxtrader.backtest.results import BacktestResult
from maxtrader.backtest.settings import BacktestSettings, RunConfig, apply_overrides
from maxtrader.config.safety import SafetyConfig
from maxtrader.config.strategies import StrategiesConfig
from maxtrader.domain.calendar import MarketCalendar, Session
from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.models import Bar, Direction, Instrument, Regime, Signal

CALENDAR = MarketCalendar.xnys("2024-01-01", "2025-12-31")


def ny(day: date, hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime.combine(day, time(h, m), tzinfo=NEW_YORK)


def flat_session(
    day: date,
    price: float = 500.0,
    symbol: str = "SPY",
    overrides: Mapping[str, tuple[float, float, float, float]] | None = None,
) -> list[Bar]:
    """Every RTH minute of ``day`` at ``price`` (+/- 2 cents), with OHLC overrides by "HH:MM"."""
    session = CALENDAR.session(day)
    assert session is not None, day
    bars = []
    ts = session.open
    overrides = overrides or {}
    while ts < session.close:
        key = ts.astimezone(NEW_YORK).strftime("%H:%M")
        o, h, lo, c = overrides.get(key, (price, price + 0.02, price - 0.02, price))
        bars.append(Bar(symbol=symbol, ts=ts, open=o, high=h, low=lo, close=c, volume=1000))
        ts += timedelta(minutes=1)
    return bars


@dataclass
class ScriptState:
    day: date
    last_ts: datetime | None = None


@dataclass
class Scripted:
    """Emits (side, stop, target) with entry = close when the bar starting at "HH:MM" (any
    symbol) or "SYMBOL@HH:MM" closes."""

    plan: dict[str, tuple[Direction, float, float]]
    instrument: Instrument = Instrument.EQUITY
    max_hold_minutes: int = 600
    name: str = "wave_renko"  # a known strategy: per-strategy limits count under it
    regime: Regime = Regime.NORMAL_VOL
    min_rr: float = 0.0
    history_sessions: int = 1
    histories: list[int] = field(default_factory=list)

    def start_session(self, symbol: str, session: Session, history: Sequence[Bar]) -> ScriptState:
        assert all(b.ts < session.open for b in history), "look-ahead in history"
        self.histories.append(len(history))
        return ScriptState(session.day)

    def step(self, state: ScriptState, bar: Bar) -> tuple[ScriptState, list[Signal]]:
        hhmm = bar.ts.astimezone(NEW_YORK).strftime("%H:%M")
        key = f"{bar.symbol}@{hhmm}" if f"{bar.symbol}@{hhmm}" in self.plan else hhmm
        out = []
        if key in self.plan:
            side, stop, target = self.plan[key]
            out.append(
                Signal.create(
                    strategy=self.name,
                    symbol=bar.symbol,
                    side=side,
                    entry=bar.close,
                    stop=stop,
                    target=target,
                    bar_ts=bar.ts,
                    regime=self.regime,
                )
            )
        return ScriptState(state.day, bar.ts), out

    def load_state(self, data: str | bytes) -> ScriptState:  # pragma: no cover - not used
        raise NotImplementedError


def run_config(*overrides: str) -> RunConfig:
    # The scenarios size 1000 shares on $0.50 stops (5x equity) and gap 30 cents past $1 stops:
    # allow that notional, and that much risk over the reservation without a breach.
    safety = SafetyConfig.model_validate(
        {"limits": {"max_notional_x_equity": 8.0}, "figures": {"breach_tolerance_pct": 0.5}}
    )
    base = RunConfig(safety, StrategiesConfig(), BacktestSettings())
    return apply_overrides(base, list(overrides))


def run(
    bars: Sequence[Bar],
    strategy: Any,
    *overrides: str,
    vix: float = 15.0,
    start: date | None = None,
) -> BacktestResult:
    days = sorted({b.ts.astimezone(NEW_YORK).date() for b in bars})
    vix_series = {CALENDAR.previous_sessions(d, 1)[0].day: vix for d in days}
    router: Callable[[Regime, StrategiesConfig], Any] = lambda regime, cfg: strategy  # noqa: E731
    bt = Backtester(run_config(*overrides), CALENDAR, router=router)
    return bt.run({bars[0].symbol: list(bars)}, vix_series, start=start)
