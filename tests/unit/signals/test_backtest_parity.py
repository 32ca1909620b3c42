"""The signals path, bar by bar on the memory adapters, makes the backtester's signals.

Over real SPY minutes (../shared/data) the backtester replays July 2024 (prior daily VIX close,
both wave_renko and vwap_reversion sessions, the 2024-07-03 early close). The live path gets
the same regime stored before each open, starts its session states from REST history
(``MarketData`` over the same bars), and is pushed every bar alone, as the bars queue delivers
them. The signals it hands on must be exactly the ones the backtester routes to sizing, in the
same order, with the same ids and levels.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import pytest

from maxtrader.adapters.memory_market_data import InMemoryMarketData
from maxtrader.backtest.engine import Backtester, _Run
from maxtrader.backtest.settings import BacktestSettings, RunConfig
from maxtrader.config import load_safety, load_strategies
from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.models import Bar, Signal
from maxtrader.trading.regime import DailyVix
from tests.support.signals_world import CALENDAR, SignalsWorld
from tests.unit.backtest.real import real_spy

START, END = date(2024, 7, 1), date(2024, 7, 31)


class _Recording(_Run):
    """The backtester's run, recording the signals each session routes to sizing."""

    routed: list[Signal]

    def _replay(
        self,
        bars: Sequence[Bar],
        signals_at: dict[int, tuple[str, tuple[Signal, ...]]],
        strategies: Any,
        ctx: Any,
        timeline: Any,
    ) -> None:
        if not hasattr(self, "routed"):
            self.routed = []
        self.routed += [s for i in sorted(signals_at) for s in signals_at[i][1]]
        super()._replay(bars, signals_at, strategies, ctx, timeline)


@pytest.mark.slow
def test_bar_by_bar_the_signals_path_hands_on_the_backtesters_signals() -> None:
    bars, vix = real_spy(END)
    bars = [b for b in bars if b.ts.astimezone(NEW_YORK).date() >= START - timedelta(days=21)]
    cfg = RunConfig(load_safety(), load_strategies(), BacktestSettings())
    replay = _Recording(Backtester(cfg, CALENDAR), {"SPY": bars}, vix, None, start=START, end=END)
    replay.execute(None, "parity")

    world = SignalsWorld(("SPY",), config=cfg.strategies, market=InMemoryMarketData(bars))
    daily = DailyVix(vix, CALENDAR)
    for bar in bars:
        day = bar.ts.astimezone(NEW_YORK).date()
        if not START <= day <= END:
            continue
        if world.sessions.regime(day) is None:
            world.store_regime(day, daily.prior_close(day))  # the premarket/regime function
        outcome = world.push(bar)
        assert outcome.stepped == 1 and outcome.polled == 0  # no gap in this data

    live = [m.signal for m in world.queue.delivered]
    assert len(replay.routed) >= 10
    assert {s.strategy for s in replay.routed} >= {"wave_renko", "vwap_reversion"}
    assert live == replay.routed
    # every signal handed on is audited once, stamped with its bar's close
    audited = [r for d in sorted({s.bar_ts.astimezone(NEW_YORK).date() for s in live})
               for r in world.audit.audit_log(d.isoformat())]  # fmt: skip
    assert [r.subject for r in audited] == [s.id for s in live]
    assert all(r.ts == s.bar_ts + timedelta(minutes=1) for r, s in zip(audited, live, strict=True))
