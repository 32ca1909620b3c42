"""Parity: a hand-driven, live-style loop over a real month makes the backtester's decisions.

The loop (``LiveStyle``, tests/support/live_session.py) is shaped like the Lambdas: the regime
is computed before the open and stored; every bar, each strategy's state is loaded from its
stored JSON, stepped with that one bar and saved again (as the session store would hold it);
exits are decided from the STORED tickets (``open_tickets``), not from a book; entries are sized
and reserved through the same safety engine. Only the fill model is the backtester's (next
open, modelled option quotes), since fills are the market's answer and not a decision. The two
drivers' audit logs (every verdict, reservation and fill, entries and exits) must be the same,
record by record.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from maxtrader.backtest.engine import Backtester, _Run
from maxtrader.backtest.settings import BacktestSettings, RunConfig, apply_overrides
from maxtrader.config import load_safety, load_strategies
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.models import AuditKind, AuditRecord
from tests.support.live_session import LiveStyle
from tests.unit.backtest.real import real_spy

START, END = date(2024, 7, 1), date(2024, 7, 31)  # with the 2024-07-03 early close
CALENDAR = MarketCalendar.xnys("2024-01-01", "2024-12-31")
EQUITY = (
    "strategies.wave_renko.instrument=equity",
    "strategies.vwap_mean_reversion.instrument=equity",
)


def _comparable(record: AuditRecord) -> tuple[Any, ...]:
    def norm(value: Any) -> Any:
        if isinstance(value, float):
            return round(value, 6)
        if isinstance(value, dict):
            return {k: norm(v) for k, v in value.items()}
        if isinstance(value, list):
            return [norm(v) for v in value]
        return value

    return record.ts, record.kind, record.subject, record.actor, norm(record.detail)


@pytest.mark.slow
@pytest.mark.parametrize("overrides", [(), EQUITY], ids=["option", "equity"])
def test_a_live_style_loop_makes_the_backtesters_decisions_on_a_real_month(
    overrides: tuple[str, ...],
) -> None:
    bars, vix = real_spy(END)
    bars = [b for b in bars if b.ts.astimezone(NEW_YORK).date() >= START - timedelta(days=21)]
    cfg = apply_overrides(
        RunConfig(load_safety(), load_strategies(), BacktestSettings()), list(overrides)
    )
    replay = _Run(Backtester(cfg, CALENDAR), {"SPY": bars}, vix, None, start=START, end=END)
    result = replay.execute(None, "parity")
    live = LiveStyle(cfg, vix, CALENDAR)
    live.run(bars, START, END)
    days = [s.day.isoformat() for s in result.sessions]
    ours = [_comparable(r) for d in days for r in replay.book.store.audit_log(d)]
    theirs = [_comparable(r) for d in days for r in live.store.audit_log(d)]
    verdicts = [r for r in ours if r[1] is AuditKind.VERDICT]
    assert len(result.trades) >= 10 and len(verdicts) >= 2 * len(result.trades)
    assert {t.strategy for t in result.trades} >= {"wave_renko", "vwap_reversion"}
    assert theirs == ours
