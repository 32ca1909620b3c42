"""The parity hooks of the backtester: an observer sees every entry decision and changes nothing;
a session's regimes given as a timeline replace the VIX-derived ones and, when they are the same,
change nothing either (the result JSON byte for byte)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from maxtrader.backtest.engine import Backtester, _Run
from maxtrader.backtest.settings import BacktestSettings, RunConfig, apply_overrides
from maxtrader.config import load_safety, load_strategies
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.models import AuditKind, Regime
from maxtrader.domain.regime import RegimeDetector, RegimeState
from maxtrader.parity.records import decisions_of
from maxtrader.parity.replay import ReplayRecorder
from maxtrader.trading.regime import DailyVix, RegimeTimeline

from .real import real_spy

pytestmark = pytest.mark.slow
START, END = date(2024, 7, 1), date(2024, 7, 31)
CALENDAR = MarketCalendar.xnys("2024-01-01", "2024-12-31")
EQUITY = ("strategies.wave_renko.instrument=equity",
          "strategies.vwap_mean_reversion.instrument=equity")  # fmt: skip


@pytest.fixture(scope="module")
def month() -> tuple[RunConfig, dict[str, list], dict[date, float]]:  # type: ignore[type-arg]
    bars, vix = real_spy(END)
    bars = [b for b in bars if b.ts.astimezone(NEW_YORK).date() >= START - timedelta(days=21)]
    cfg = apply_overrides(RunConfig(load_safety(), load_strategies(), BacktestSettings()), EQUITY)
    return cfg, {"SPY": bars}, vix


def test_an_observer_sees_every_entry_decision_and_changes_nothing(month) -> None:  # type: ignore[no-untyped-def]
    cfg, bars, vix = month
    plain = Backtester(cfg, CALENDAR).run(bars, vix, start=START, end=END)
    recorder = ReplayRecorder()
    run = _Run(Backtester(cfg, CALENDAR), bars, vix, None, start=START, end=END,
               observer=recorder)  # fmt: skip
    observed = run.execute(None, "in-sample")
    assert observed.model_dump_json() == plain.model_dump_json()
    ours = decisions_of(recorder.records)
    engines = decisions_of(r for s in observed.sessions for r in run.book.store.audit_log(
        s.day.isoformat()))  # fmt: skip
    assert ours.decisions == engines.decisions  # the engine's own VERDICT records, read back
    sessions = observed.sessions
    entries = ("approved", "rejected", "not_sent")  # verdicts also counts "exits"
    assert len(ours.signals) == sum(s.verdicts.get(k, 0) for s in sessions for k in entries)
    assert len(ours.signals) >= 10
    rejected = sum(s.verdicts.get("rejected", 0) for s in sessions)
    assert rejected == sum(1 for d in ours.decisions.values() if not getattr(d, "approved", True))
    assert rejected >= 1


def test_the_regimes_given_replace_the_vix_and_the_same_ones_change_nothing(month) -> None:  # type: ignore[no-untyped-def]
    cfg, bars, vix = month
    detector, daily = RegimeDetector(cfg.strategies.regime), DailyVix(vix, CALENDAR)
    same = {}
    for session in CALENDAR.sessions_between(START, END):
        state = detector.update(detector.start_session(session.day), daily.prior_close(session.day))
        same[session.day] = RegimeTimeline.constant(state, session.open)
    plain = Backtester(cfg, CALENDAR).run(bars, vix, start=START, end=END)
    given = Backtester(cfg, CALENDAR).run(bars, start=START, end=END, regimes=same)
    assert given.model_dump_json() == plain.model_dump_json()
    paused = {d: RegimeTimeline.constant(RegimeState(day=d, regime=Regime.EXTREME_CALM_PAUSE,
                                                     vix=9.0), CALENDAR.session(d).open)  # type: ignore[union-attr]
              for d in same}  # fmt: skip
    recorder = ReplayRecorder()
    none = Backtester(cfg, CALENDAR).run(bars, vix, start=START, end=END, regimes=paused,
                                         observer=recorder)  # fmt: skip
    assert none.trades == [] and plain.trades
    assert {s.regime for s in none.sessions} == {Regime.EXTREME_CALM_PAUSE}
    assert not [r for r in recorder.records if r.kind is AuditKind.SIGNAL]
