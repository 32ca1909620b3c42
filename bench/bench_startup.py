"""Cold-start cost of the core: import time and config load, against bare pydantic/yaml imports.

Each figure is the median of fresh interpreter runs, so module caches do not flatter it.

Measured on 2 cores shared with other jobs (median of 7, old and new code alternated, so the
absolute figures swing with the load): when the calendar moved from exchange_calendars (pandas)
to the compiled session table, MarketCalendar.xnys() fell from 0.8-3.4 s to 55-165 ms (15-20x)
and the bar path's cold start from 1.85-4.5 s to 0.33-1.2 s (about 4x).
"""

from __future__ import annotations

import statistics
import subprocess
import sys

RUNS = 7
# What a cold signals Lambda does before its first bar: the bar-path modules, the strategy
# config, today's session (tests/unit/data/test_import_cost.py runs a whole bar and checks that
# none of this imports pandas).
BAR_PATH = (
    "import maxtrader.data.push, maxtrader.domain.regime, maxtrader.domain.ports; "
    "from maxtrader.domain.strategies.routing import strategy_for; "
    "from maxtrader.config import load_strategies; "
    "from maxtrader.domain.calendar import MarketCalendar; "
    "import datetime; load_strategies(); "
    "MarketCalendar.xnys().session(datetime.date(2024, 7, 3))"
)


def _time_import(statement: str) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    samples = [
        float(subprocess.check_output([sys.executable, "-c", code], text=True))  # noqa: S603
        for _ in range(RUNS)
    ]
    return statistics.median(samples)


def main() -> None:
    baseline = _time_import("import pydantic, yaml")
    rows = [
        ("baseline: import pydantic, yaml", baseline),
        ("import maxtrader.domain.models", _time_import("import maxtrader.domain.models")),
        (
            "load_config(stage='production')",
            _time_import(
                "from maxtrader.config import load_config; load_config(stage='production')"
            ),
        ),
        (
            "MarketCalendar.xnys() (compiled table)",
            _time_import(
                "from maxtrader.domain.calendar import MarketCalendar; MarketCalendar.xnys()"
            ),
        ),
        (
            "MarketCalendar.from_exchange_calendars (pandas)",
            _time_import(
                "from maxtrader.domain.calendar import MarketCalendar; "
                "MarketCalendar.from_exchange_calendars('2015-01-01', '2030-12-31')"
            ),
        ),
        ("bar path: imports, config, calendar", _time_import(BAR_PATH)),
    ]
    print(f"{'what':50} {'median ms':>10} {'vs baseline':>12}")
    for name, seconds in rows:
        print(f"{name:50} {seconds * 1000:10.1f} {seconds / baseline:11.2f}x")


if __name__ == "__main__":
    main()
