"""The backtester: replay history through the same strategies, regime detector and SafetyEngine.

    from maxtrader.backtest import Backtester, RunConfig, BacktestSettings, apply_overrides
    result = Backtester(run_config, MarketCalendar.xnys()).run(bars, vix, start=d0, end=d1)
    result.model_dump_json()                   # the JSON schema (backtest/results.py)
    render_html(result)                        # the self-contained report (backtest/report.py)
    walk_forward(base, grid, days, train=60, test=20, run=...)   # backtest/walkforward.py

Modules: engine (Backtester and the session loop), days (bars by session, a session's symbols
merged), book (orders, positions, the replay's SafetyEngine), entries (size, reserve, fill),
exits (exits, marks, end of session), fills (fill and exit rules), options_model (Black-Scholes
quotes of synthetic contracts), metrics, results (pydantic result schema), summary (assembly and
slicing), settings (BacktestSettings and ``--set`` overrides), walkforward, report.
"""
