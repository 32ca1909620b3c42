"""Cold-start cost of the core: import time and config load, against bare pydantic/yaml imports.

Each figure is the median of fresh interpreter runs, so module caches do not flatter it.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

RUNS = 7


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
            "MarketCalendar.xnys() (pandas)",
            _time_import(
                "from maxtrader.domain.calendar import MarketCalendar; MarketCalendar.xnys()"
            ),
        ),
    ]
    print(f"{'what':45} {'median ms':>10} {'vs baseline':>12}")
    for name, seconds in rows:
        print(f"{name:45} {seconds * 1000:10.1f} {seconds / baseline:11.2f}x")


if __name__ == "__main__":
    main()
