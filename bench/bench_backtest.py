"""Backtest throughput: bars per second of MaxTrader's engine (strategies + regime + the whole
safety layer on the in-memory store) over the shared SPY 1-minute year, against backtesting.py
(PyPI ``backtesting``, the ``bench`` extra) running a comparable per-bar VWAP mean-reversion
strategy on the same bars.

Both sides are timed from bars in memory to a finished result (data loading excluded for both);
each figure is the best of ``RUNS`` runs. The baseline is as favourable to backtesting.py as its
idiom allows: the session VWAP and bands are precomputed vectorised (``self.I``), so its per-bar
``next()`` only compares two numbers and places a bracket order. MaxTrader's engine does more per
bar: incremental strategy state (Wave-Renko or VWAP), exits, marks, the safety engine's checks.

Rows: the engine as the CLI runs it (regime routing), the VWAP reversion forced on every session
(the like-for-like comparison), the engine with the pause strategy (checks every bar, never
signals), and the VWAP strategy alone (``step_many`` over every session, no engine), which splits
the like-for-like row into the strategy's cost and the engine + safety layer's.

How the engine gets its speed (results unchanged, byte for byte): prior-session history is split
once per run and each session's summaries (Wave-Renko's ATR series, Smart Money's candles) are
memoised (domain/strategies/history.py); each symbol's session is stepped at once on a mutable
working state (``step_many``); bars while flat with nothing pending are skipped.

Measured on 2026-11-24 (2 cores, other work running), before -> after this work: routed 57k ->
226k bars/s, VWAP every session 87k -> 143k, pause 329k -> 1.67M, the VWAP strategy alone 556k,
against backtesting.py's 81k-91k (routed 0.71x -> 2.5x, VWAP 1.07x -> 1.6x, strategy alone 6.1x).
Then a cheaper mark path (same store calls, results identical), old and new code run alternately
in the same session: routed 203k-214k -> 231k-239k bars/s (2.3x -> 2.6-2.7x), VWAP 134k-140k ->
136k-149k (1.5x -> 1.55-1.8x), pause and strategy alone unchanged (~1.65M, ~540k).
What remains in the VWAP row (timed inside one run): every minute a position is open the engine
marks it through ``SafetyEngine.mark_to_market`` (~14 us a call in the run, was ~18; ~9.5 us p50
isolated, was ~12; 11.2k calls a year: ~22% of the row) after pricing the option (Black-Scholes,
~6-8 us); each entry's ``reserve`` ~0.2 ms (17 checks, each a pydantic CheckResult, and the
audit record; ~0.1 ms p50 isolated), each fill ~80 us, each exit's ``reserve`` ~30 us: ~0.4 ms a
trade, ~17% of the row over 325 trades; the strategy itself is ~1.8 us a bar (~26%).

Issue 8 (2026-12-01) moved every decision into maxtrader/trading (sizing, the contract chosen
from a two-strike chain snapshot, exit triggers, the session step), results byte-identical.
Measured with 7 helpers sharing the 2 cores (load 5-10, so +-10% between identical runs): old
and new code alternated, CPU time, best of 3x3 runs: routed 235k -> 217k bars/s, VWAP every
session 155k -> 143k, pause 1.65M -> 1.40M (with gc off and 7 runs each: 1.44-1.56M old,
1.41-1.66M new); these bench rows back to back: routed 73-76k -> 78-82k, VWAP 54-55k ->
46-48k (the machine at 3x its quiet figures). Deterministically (cProfile call counts) the new
code makes 4% more calls in the VWAP row and 2% in the routed one: the second strike's contract
and quote (~35 us an entry) and one exit_on_bar call a bar in a position.
"""

from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SPY = SHARED / "dawsh2_ADMF-PC" / "SPY_1m.parquet"
VIX = SHARED / "noodles-rice_vix_dashboard" / "VIX_History_to_2025-04-30.csv"
RUNS = 3


def _maxtrader(
    bars: dict[str, Any], vix: dict[Any, float], route: str | None = None
) -> tuple[float, int, Any]:
    """The engine as the CLI runs it; ``route`` forces one strategy on every session."""
    from maxtrader.backtest.engine import Backtester
    from maxtrader.backtest.settings import BacktestSettings, RunConfig
    from maxtrader.config import load_safety, load_strategies
    from maxtrader.domain.calendar import MarketCalendar
    from maxtrader.domain.strategies.routing import strategy_for, strategy_named

    calendar = MarketCalendar.xnys()
    config = RunConfig(load_safety(), load_strategies(), BacktestSettings())
    router: Any = strategy_for
    if route is not None:
        router = lambda regime, cfg: strategy_named(route, cfg)  # noqa: E731
    best, result = float("inf"), None
    for _ in range(RUNS):
        started = time.perf_counter()
        result = Backtester(config, calendar, router=router).run(bars, vix)
        best = min(best, time.perf_counter() - started)
    assert result is not None
    return best, result.bars, result


def _strategy_alone(bars: list[Any], name: str) -> tuple[float, int]:
    """A strategy's step_many over every session of ``bars`` (no engine, no safety layer)."""
    from maxtrader.config import load_strategies
    from maxtrader.domain.calendar import MarketCalendar
    from maxtrader.domain.clock import NEW_YORK
    from maxtrader.domain.strategies.routing import strategy_named

    calendar = MarketCalendar.xnys()
    strategy: Any = strategy_named(name, load_strategies())
    days: dict[Any, list[Any]] = {}
    for bar in bars:
        days.setdefault(bar.ts.astimezone(NEW_YORK).date(), []).append(bar)
    best = float("inf")
    for _ in range(RUNS):
        started = time.perf_counter()
        for day, session_bars in days.items():
            session = calendar.session(day)
            state = strategy.start_session("SPY", session, [])
            strategy.step_many(state, session_bars)
        best = min(best, time.perf_counter() - started)
    return best, len(bars)


def _frame(bars: list[Any]) -> Any:
    import pandas as pd

    from maxtrader.domain.clock import NEW_YORK

    index = pd.DatetimeIndex([b.ts for b in bars]).tz_convert(NEW_YORK)
    return pd.DataFrame(
        {
            "Open": [b.open for b in bars],
            "High": [b.high for b in bars],
            "Low": [b.low for b in bars],
            "Close": [b.close for b in bars],
            "Volume": [b.volume for b in bars],
        },
        index=index,
    )


def _backtesting_py(frame: Any) -> tuple[float, int, Any]:
    import numpy as np
    import pandas as pd
    from backtesting import Backtest, Strategy  # type: ignore[import-untyped]

    day = pd.Series(frame.index.date, index=frame.index)

    def vwap_bands(high: Any, low: Any, close: Any, volume: Any) -> Any:
        tp = (pd.Series(high) + pd.Series(low) + pd.Series(close)) / 3
        vol = pd.Series(volume, dtype=float)
        keys = day.to_numpy()
        pv = (tp * vol).groupby(keys).cumsum()
        v = vol.groupby(keys).cumsum().replace(0, np.nan)
        vwap = pv / v
        var = ((tp**2) * vol).groupby(keys).cumsum() / v - vwap**2
        width = np.maximum(2.0 * np.sqrt(var.clip(lower=0)), 0.0005 * pd.Series(close))
        return np.vstack([vwap.to_numpy(), (vwap - width).to_numpy(), (vwap + width).to_numpy()])

    class VwapReversion(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            d = self.data
            self.bands = self.I(vwap_bands, d.High, d.Low, d.Close, d.Volume, overlay=True)

        def next(self) -> None:
            if len(self.data.Close) < 2 or self.position:
                return
            close, prev = self.data.Close[-1], self.data.Close[-2]
            vwap, lower, upper = self.bands[0][-1], self.bands[1][-1], self.bands[2][-1]
            if prev < lower < close and vwap > close:
                stop = min(self.data.Low[-10:]) * 0.999
                if stop < close and (vwap - close) >= 1.5 * (close - stop):
                    self.buy(size=100, sl=stop, tp=vwap)
            elif prev > upper > close and vwap < close:
                stop = max(self.data.High[-10:]) * 1.001
                if stop > close and (close - vwap) >= 1.5 * (stop - close):
                    self.sell(size=100, sl=stop, tp=vwap)

    best, stats = float("inf"), None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(RUNS):
            started = time.perf_counter()
            bt = Backtest(
                frame, VwapReversion, cash=1_000_000, commission=0.0, finalize_trades=True
            )
            stats = bt.run()
            best = min(best, time.perf_counter() - started)
    return best, len(frame), stats


def main() -> None:
    if not SPY.is_file():
        print(f"skipped: {SPY} not found")
        return
    from maxtrader.data import load_bars
    from maxtrader.data.vix import load_vix_daily

    logging.disable(logging.WARNING)
    bars = load_bars(SPY, symbol="SPY").bars
    vix = load_vix_daily(VIX)
    ours, n_ours, result = _maxtrader(bars, vix)
    vwap, n_vwap, vwap_result = _maxtrader(bars, vix, route="vwap_reversion")
    idle, n_idle, idle_result = _maxtrader(bars, vix, route="pause")
    alone, n_alone = _strategy_alone(bars["SPY"], "vwap_reversion")
    try:
        import backtesting  # noqa: F401
    except ImportError:
        print("backtesting.py is not installed: pip install -e '.[bench]'")
        theirs, n_theirs, stats = float("nan"), 0, None
    else:
        theirs, n_theirs, stats = _backtesting_py(_frame(bars["SPY"]))
    base = n_theirs / theirs
    rows = [
        ("MaxTrader, regime-routed (as the CLI runs)", n_ours, ours, result),
        ("MaxTrader, VWAP reversion every session", n_vwap, vwap, vwap_result),
        ("MaxTrader engine alone (pause: steps, no signal)", n_idle, idle, idle_result),
    ]
    print(f"{'engine':50} {'bars':>7} {'seconds':>8} {'bars/s':>9} {'ratio':>7} {'trades':>7}")
    for name, n, seconds, res in rows:
        print(
            f"{name:50} {n:7d} {seconds:8.2f} {n / seconds:9,.0f} {n / seconds / base:6.2f}x "
            f"{res.metrics.trades:7d}"
        )
    print(
        f"{'VWAP reversion alone (step_many, no engine)':50} {n_alone:7d} "
        f"{alone:8.2f} {n_alone / alone:9,.0f} {n_alone / alone / base:6.2f}x {'-':>7}"
    )
    trades = stats["# Trades"] if stats is not None else "-"
    print(
        f"{'backtesting.py, VWAP reversion (baseline)':50} {n_theirs:7d} {theirs:8.2f} "
        f"{base:9,.0f} {1:6.2f}x {trades:>7}"
    )
    print("ratio = bars/s over backtesting.py's bars/s (aim >= 5x); safety layer on in MaxTrader")
    print(
        "The pause row is the engine's own floor (bars while flat are skipped); the gap between "
        "the VWAP rows is the engine + safety layer's work per signal and per bar in a position."
    )


if __name__ == "__main__":
    main()
