"""Strategy throughput on real SPY minutes: step() bars/s, the live load/step/save cycle, and
start_session cost, against a baseline loop that only reads each bar (same run, same bars)."""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from maxtrader.config.strategies import StrategiesConfig
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.models import Bar
from maxtrader.domain.strategies.base import Strategy
from maxtrader.domain.strategies.routing import STRATEGY_NAMES, strategy_named

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "dawsh2_ADMF-PC" / "SPY_1m.parquet"
SESSIONS = 60


def _days() -> tuple[MarketCalendar, dict[date, list[Bar]]]:
    from maxtrader.data import load_bars

    calendar = MarketCalendar.xnys("2024-01-01", "2025-12-31")
    bars = load_bars(DATA, symbol="SPY", calendar=calendar).bars["SPY"]
    by_day: dict[date, list[Bar]] = defaultdict(list)
    for bar in bars:
        by_day[bar.ts.astimezone(NEW_YORK).date()].append(bar)
    return calendar, dict(sorted(by_day.items())[: SESSIONS + 10])


def _starts(
    strategy: Strategy[Any], calendar: MarketCalendar, by_day: dict[date, list[Bar]]
) -> tuple[list[tuple[Any, list[Bar]]], list[float]]:
    days = sorted(by_day)
    out, costs = [], []
    for i in range(10, len(days)):
        history = [b for d in days[i - strategy.history_sessions : i] for b in by_day[d]]
        session = calendar.session(days[i])
        assert session is not None
        t = time.perf_counter()
        state = strategy.start_session("SPY", session, history)
        costs.append(time.perf_counter() - t)
        out.append((state, by_day[days[i]]))
    return out, costs


def main() -> None:
    calendar, by_day = _days()
    all_bars = [b for d in sorted(by_day)[10:] for b in by_day[d]]
    t = time.perf_counter()
    total = 0.0
    for bar in all_bars:
        total += bar.close
    baseline = len(all_bars) / (time.perf_counter() - t)
    print(f"{len(all_bars)} bars, {SESSIONS} sessions")
    print(f"{'what':32} {'bars/s':>10} {'vs baseline':>12} {'start ms':>9} {'signals':>8}")
    print(f"{'baseline: read each bar':32} {baseline:10.0f} {1.0:11.3f}x")
    config = StrategiesConfig()
    for name in STRATEGY_NAMES:
        strategy = strategy_named(name, config)
        starts, costs = _starts(strategy, calendar, by_day)
        for reload in (False, True):
            signals = 0
            t = time.perf_counter()
            for initial, bars in starts:
                state = initial
                for bar in bars:
                    if reload:
                        state = strategy.load_state(state.model_dump_json())
                    state, out = strategy.step(state, bar)
                    signals += len(out)
            rate = len(all_bars) / (time.perf_counter() - t)
            label = f"{name}{' + JSON reload' if reload else ''}"
            start_ms = statistics.median(costs) * 1000
            print(f"{label:32} {rate:10.0f} {rate / baseline:11.3f}x {start_ms:9.2f} {signals:8d}")


if __name__ == "__main__":
    main()
