"""The synthetic day does what it is for: with the default configs the backtester trades it,
exits by target and by stop, and the safety layer rejects at least one order."""

from __future__ import annotations

from maxtrader.backtest.engine import Backtester
from maxtrader.backtest.settings import BacktestSettings, RunConfig
from maxtrader.config.loader import default_config_dir, load_safety, load_strategies
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.simulate.synthetic import synthetic_session


def test_the_backtester_trades_the_synthetic_day_with_entries_exits_and_a_rejection() -> None:
    session = synthetic_session()
    config_dir = default_config_dir()
    config = RunConfig(load_safety(config_dir), load_strategies(config_dir), BacktestSettings())
    result = Backtester(config, MarketCalendar.xnys()).run(
        session.bars, session.vix_daily, start=session.day, end=session.day
    )
    assert result.metrics.trades >= 2
    assert {t.regime for t in result.trades} == {"ULTRA_LOW_VOL"}
    reasons = {str(t.exit_reason) for t in result.trades}
    assert any("target" in r for r in reasons) and any("stop" in r for r in reasons), reasons
    assert {t.side for t in result.trades} == {"long", "short"}
    assert sum(result.rejections.values()) >= 1
