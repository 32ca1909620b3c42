"""A real shared-data day driven through the live-side core (``LiveStyle``), ready for parity.

    day = live_day(date(2024, 7, 2), EQUITY)   # the stores as the live functions left them
    day.sources()                               # DaySources over those stores
    day.with_log(records)                       # the same day, with another audit log

``with_log`` copies the day into a fresh ``InMemoryStateStore`` (the start-of-day equity and the
records given): a tampered audit log is a real store's content, not a stand-in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import cache

from maxtrader.adapters.memory_session_store import InMemorySessionStore
from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.backtest.settings import BacktestSettings, RunConfig, apply_overrides
from maxtrader.config import load_safety, load_strategies
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.models import AuditRecord, Bar
from maxtrader.domain.ports import SessionStore, StateStore
from maxtrader.parity import DaySources
from tests.support.live_session import BARS_KEPT, LiveStyle
from tests.unit.backtest.real import real_spy

CALENDAR = MarketCalendar.xnys("2024-01-01", "2024-12-31")
EQUITY = (
    "strategies.wave_renko.instrument=equity",
    "strategies.vwap_mean_reversion.instrument=equity",
)
_LOOKBACK = timedelta(days=21)  # enough prior sessions for every strategy's session start


@cache
def _real(end: date) -> tuple[tuple[Bar, ...], tuple[tuple[date, float], ...]]:
    bars, vix = real_spy(end)
    return tuple(bars), tuple(sorted(vix.items()))


@dataclass(frozen=True)
class LiveDay:
    day: date
    cfg: RunConfig
    live: LiveStyle
    state: StateStore
    sessions: SessionStore

    def sources(self) -> DaySources:
        return DaySources(self.state, self.sessions, CALENDAR, self.cfg.strategies, ("SPY",))

    def log(self) -> list[AuditRecord]:
        return self.state.audit_log(self.day.isoformat())

    def with_log(self, records: list[AuditRecord]) -> LiveDay:
        store = InMemoryStateStore()
        equity = self.state.start_of_day_equity(self.day.isoformat())
        assert equity is not None
        store.put_start_of_day_equity(self.day.isoformat(), equity)
        store.append_audit(records)
        return replace(self, state=store)

    def without_bar(self, bar: Bar) -> LiveDay:
        """The day with ``bar`` never stored (ingest missed it), everything else as it was."""
        store = InMemorySessionStore()
        kept = [b for b in self.live_bars() if b.ts != bar.ts or b.symbol != bar.symbol]
        store.put_bars(kept, expires_at=kept[-1].ts + BARS_KEPT)
        regime = self.sessions.regime(self.day)
        if regime is not None:
            store.save_regime(regime)
        return replace(self, sessions=store)

    def live_bars(self) -> list[Bar]:
        start = CALENDAR.session(self.day - _LOOKBACK) or CALENDAR.next_session(
            self.day - _LOOKBACK
        )
        session = CALENDAR.session(self.day)
        assert session is not None
        return self.sessions.bars("SPY", start.open, session.close)


def live_day(
    day: date,
    overrides: tuple[str, ...] = (),
    *,
    kill_switch: bool = False,
    since: date | None = None,
) -> LiveDay:
    """``day`` run live-style from a fresh account (``kill_switch``: engaged before the open);
    ``since``: every session from ``since`` to ``day`` run in turn, the state carried over."""
    first = since or day
    bars, vix = _real(day)
    kept = [b for b in bars if b.ts.astimezone(NEW_YORK).date() >= first - _LOOKBACK]
    cfg = apply_overrides(
        RunConfig(load_safety(), load_strategies(), BacktestSettings()), list(overrides)
    )
    live = LiveStyle(cfg, dict(vix), CALENDAR, audit_signals=True)
    if kill_switch:
        live.safety.engage_kill_switch("arn:aws:iam::123456789012:user/operator", "drill")
    live.run(kept, first, day)
    return LiveDay(day, cfg, live, live.store, live.sessions)
