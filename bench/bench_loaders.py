"""Bar loading speed: load_bars on real files against a bare pandas read of the same file.

load_bars does much more than the baseline (timestamp resolution, validation, de-duplication,
RTH filtering, a gap report, ``Bar`` objects), so the ratio says what that costs per bar.
Also the push-message model against bare ``json.loads``. Medians of a few warm runs.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RUNS = 3


def _median_seconds(work: Callable[[], object]) -> float:
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        work()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _push_messages(count: int) -> bytes:
    start = 1_711_460_400_000
    template = {"ev": "AM", "sym": "SPY", "v": 1200, "av": 250_000, "op": 520.1, "vw": 521.22,
                "o": 521.0, "c": 521.4, "h": 521.5, "l": 520.9, "a": 520.8, "z": 40}  # fmt: skip
    events = [
        {**template, "s": start + i * 60_000, "e": start + (i + 1) * 60_000} for i in range(count)
    ]
    return json.dumps(events).encode()


def main() -> None:
    import pandas as pd

    from maxtrader.data import load_bars, parse_minute_aggregates
    from maxtrader.domain.calendar import MarketCalendar

    MarketCalendar.xnys()  # built once per process; not what is measured here
    rows: list[tuple[str, int, float, float]] = []
    files = [
        ("SPY_1m.parquet (ADMF-PC)", SHARED / "dawsh2_ADMF-PC" / "SPY_1m.parquet", pd.read_parquet),
        ("SPY_1min.csv (leoxu, CRLF)", SHARED / "leoxu2023_tradingfsd_gpt" / "SPY_1min.csv",
         pd.read_csv),
    ]  # fmt: skip
    for name, path, bare in files:
        if not path.is_file():
            print(f"{name}: {path} absent, skipped")
            continue
        count = len(bare(path))
        baseline = _median_seconds(partial(bare, path))
        loaded = _median_seconds(partial(load_bars, path, rth_only=False))
        rows.append((name, count, baseline, loaded))
    payload = _push_messages(20_000)
    rows.append(
        (
            "push AM messages (json.loads baseline)",
            20_000,
            _median_seconds(lambda: json.loads(payload)),
            _median_seconds(lambda: [a.to_bar() for a in parse_minute_aggregates(payload)]),
        )
    )
    print(f"{'input':40} {'rows':>8} {'baseline rows/s':>16} {'ours rows/s':>12} {'ratio':>7}")
    for name, count, baseline, ours in rows:
        print(
            f"{name:40} {count:8d} {count / baseline:16,.0f} {count / ours:12,.0f} "
            f"{ours / baseline:6.1f}x"
        )


if __name__ == "__main__":
    main()
