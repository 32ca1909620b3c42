"""The synthetic day does what it is for: with the default configs the backtester trades it,
exits by target and by stop, and the safety layer rejects at least one order. Its entries come
early enough, and close enough together, for the drills that need them (the loss streak's three
losing closes within the rapid-loss window, the broker faults' submissions)."""

from __future__ import annotations

from datetime import timedelta

from maxtrader.backtest.engine import Backtester
from maxtrader.backtest.results import BacktestResult
from maxtrader.backtest.settings import BacktestSettings, RunConfig
from maxtrader.config.loader import default_config_dir, load_safety, load_strategies
from maxtrader.config.safety import SafetyConfig
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import NEW_YORK
from maxtrader.simulate.drills import KillSwitchMidday, StoreThrottling
from maxtrader.simulate.synthetic import SyntheticSession, synthetic_session


def _run() -> tuple[SyntheticSession, SafetyConfig, BacktestResult]:
    session = synthetic_session()
    config_dir = default_config_dir()
    safety = load_safety(config_dir)
    config = RunConfig(safety, load_strategies(config_dir), BacktestSettings())
    result = Backtester(config, MarketCalendar.xnys()).run(
        session.bars, session.vix_daily, start=session.day, end=session.day
    )
    return session, safety, result


def test_the_backtester_trades_the_synthetic_day_with_entries_exits_and_a_rejection() -> None:
    _, _, result = _run()
    assert result.metrics.trades >= 3
    assert {t.regime for t in result.trades} == {"ULTRA_LOW_VOL"}
    reasons = {str(t.exit_reason) for t in result.trades}
    assert any("target" in r for r in reasons) and any("stop" in r for r in reasons), reasons
    assert {t.side for t in result.trades} == {"long", "short"}
    assert result.rejections.get("trade_frequency", 0) >= 1  # the same-bar pair


def test_the_entries_fit_the_rapid_loss_window_before_the_drills_windows() -> None:
    session, safety, result = _run()
    cal = MarketCalendar.xnys().session(session.day)
    assert cal is not None
    entries = sorted(t.entry_time for t in result.trades)
    window = timedelta(minutes=safety.breakers.rapid_loss.window_minutes)
    needed = safety.breakers.rapid_loss.losses
    # Entered this close together, the trades the loss-streak drill turns against (stopped a
    # few minutes after each entry) close within the window.
    assert len(entries) >= needed and entries[needed - 1] - entries[0] <= window * 2 / 3
    throttled = cal.open + timedelta(minutes=StoreThrottling.window[0])
    assert max(t.exit_time for t in result.trades) < throttled
    assert all(e.astimezone(NEW_YORK).hour < 12 for e in entries), KillSwitchMidday.name
