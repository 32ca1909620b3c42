"""The backtester: replay history through the same strategies, regime detector and SafetyEngine.

    from maxtrader.backtest import Backtester, RunConfig, BacktestSettings, apply_overrides
    result = Backtester(run_config, MarketCalendar.xnys()).run(bars, vix, start=d0, end=d1)
    result = Backtester(run_config, calendar).run(bars, vix_intraday=readings)  # intraday regime
    result.model_dump_json()                   # the JSON schema (backtest/results.py)
    render_html(result)                        # the self-contained report (backtest/report.py)
    walk_forward(base, grid, days, train=60, test=20, run=...)   # backtest/walkforward.py

Every decision (sizing, contract choice, exits, the session step, the regime) is the shared
trading core's (maxtrader/trading); the backtester adds the fill model and the bookkeeping.

Modules: engine (Backtester and the session loop), days (bars by session, a session's symbols
merged, every routed strategy stepped), book (orders, open trades, the replay's SafetyEngine),
entries (size via trading.entries, reserve, fill), exits (trading.exits' decisions, priced and
recorded; marks, end of session), fills (fill prices), options_model (Black-Scholes quotes and
the chain snapshot of synthetic contracts), metrics, results (pydantic result schema), summary
(assembly and slicing), settings (BacktestSettings and ``--set`` overrides), walkforward, report.

The names above load on first use, so ``import maxtrader.backtest.settings`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from maxtrader.backtest.engine import Backtester
    from maxtrader.backtest.report import render_html
    from maxtrader.backtest.results import BacktestResult
    from maxtrader.backtest.settings import BacktestSettings, RunConfig, apply_overrides
    from maxtrader.backtest.walkforward import walk_forward

__all__ = [
    "BacktestResult",
    "BacktestSettings",
    "Backtester",
    "RunConfig",
    "apply_overrides",
    "render_html",
    "walk_forward",
]

_HOME = {
    "Backtester": "engine",
    "BacktestResult": "results",
    "BacktestSettings": "settings",
    "RunConfig": "settings",
    "apply_overrides": "settings",
    "render_html": "report",
    "walk_forward": "walkforward",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'maxtrader.backtest' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"maxtrader.backtest.{module}"), name)
    globals()[name] = value
    return value
