"""Walk-forward: pick parameters on each training window only, report the stitched test windows.

    grid = parse_grid(["strategies.wave_renko.min_rr=1.5,2", "backtest.initial_equity=5e4,1e5"])
    splits = split_windows(days, train=60, test=20)     # rolling by ``test`` sessions
    result = walk_forward(base, grid, days, train=60, test=20, run=run_fn, objective="pnl")

How it stays honest and cheap: the engine is causal (a decision on a day sees nothing later), so
each grid point is replayed ONCE over the whole span and every window reads its slice of that
replay: the training slice to score the point, the test slice of the point picked. The score uses
only training-window trades; ties go to the earlier grid point. The stitched test windows are the
out-of-sample result. One consequence, said plainly: the safety state entering a test window
(drawdown peak, weekly/monthly loss) is the picked point's own history, as if it had been traded
all along.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from maxtrader.backtest.metrics import compute_metrics
from maxtrader.backtest.results import BacktestResult, Metrics, WindowRecord
from maxtrader.backtest.settings import OverrideError, RunConfig, apply_overrides, parse_assignment
from maxtrader.backtest.summary import build_result, slice_result

Objective = Literal["pnl", "sharpe", "profit_factor", "avg_r"]
GridPoint = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Window:
    train: tuple[date, ...]
    test: tuple[date, ...]


def parse_walk_forward(text: str) -> tuple[int, int]:
    train, sep, test = text.partition(":")
    try:
        values = int(train), int(test)
    except ValueError:
        values = (0, 0)
    if not sep or values[0] <= 0 or values[1] <= 0:
        raise OverrideError(f"--walk-forward {text!r}: expected TRAIN_DAYS:TEST_DAYS, e.g. 60:20")
    return values


def parse_grid(items: Sequence[str]) -> list[tuple[str, list[str]]]:
    """``key=v1,v2`` items -> [(key, [v1, v2])]; the keys are checked like ``--set`` keys."""
    grid: list[tuple[str, list[str]]] = []
    for item in items:
        key, raw = parse_assignment(item)
        values = [v.strip() for v in raw.split(",") if v.strip()]
        if not values:
            raise OverrideError(f"{key}: the grid needs at least one value")
        if any(k == key for k, _ in grid):
            raise OverrideError(f"{key}: given twice in --grid")
        grid.append((key, values))
    return grid


def grid_points(grid: Sequence[tuple[str, Sequence[str]]]) -> list[GridPoint]:
    keys = [k for k, _ in grid]
    return [
        tuple(zip(keys, combo, strict=True)) for combo in itertools.product(*(v for _, v in grid))
    ]


def split_windows(days: Sequence[date], train: int, test: int) -> list[Window]:
    """Rolling windows: train on ``train`` sessions, test on the next ``test``, step ``test``."""
    ordered = sorted(set(days))
    windows: list[Window] = []
    start = 0
    while start + train < len(ordered):
        test_days = ordered[start + train : start + train + test]
        windows.append(Window(tuple(ordered[start : start + train]), tuple(test_days)))
        start += test
    return windows


def score(metrics: Metrics, objective: Objective) -> float:
    if objective == "pnl":
        return metrics.pnl
    if objective == "sharpe":
        return metrics.sharpe if metrics.sharpe is not None else float("-inf")
    if objective == "avg_r":
        return metrics.avg_r if metrics.trades else float("-inf")
    if metrics.profit_factor is None:
        return float("inf") if metrics.trades else float("-inf")
    return metrics.profit_factor


def walk_forward(
    base: RunConfig,
    grid: Sequence[tuple[str, Sequence[str]]],
    days: Sequence[date],
    *,
    train: int,
    test: int,
    run: Callable[[RunConfig], BacktestResult],
    objective: Objective = "pnl",
) -> BacktestResult:
    windows = split_windows(days, train, test)
    if not windows:
        raise OverrideError(
            f"--walk-forward {train}:{test}: {len(set(days))} sessions are not enough for one "
            "training window and a test day"
        )
    points = grid_points(grid)
    # Validate every point before replaying anything (a typo fails fast, naming its key).
    configs = [apply_overrides(base, point) for point in points]
    replays = [run(cfg) for cfg in configs]

    out_trades = []
    out_sessions = []
    records: list[WindowRecord] = []
    for window in windows:
        scores = []
        for replay in replays:
            part = slice_result(replay, set(window.train))
            scores.append(
                score(compute_metrics(part.trades, part.sessions, replay.initial_equity), objective)
            )
        best = max(range(len(points)), key=lambda i: (scores[i], -i))
        picked = slice_result(replays[best], set(window.test))
        out_trades.extend(picked.trades)
        out_sessions.extend(picked.sessions)
        records.append(
            WindowRecord(
                train_start=window.train[0],
                train_end=window.train[-1],
                test_start=window.test[0],
                test_end=window.test[-1],
                params=dict(points[best]),
                train_score=scores[best],
                test_pnl=sum(t.pnl for t in picked.trades),
                test_trades=len(picked.trades),
            )
        )
    first = replays[0]
    result = build_result(
        trades=out_trades,
        sessions=out_sessions,
        initial_equity=first.initial_equity,
        bars=first.bars,
        label=f"out-of-sample (walk-forward {train}:{test}, objective {objective})",
        out_of_sample=True,
        settings={**first.settings, "walk_forward": f"{train}:{test}", "objective": objective},
        notes=[
            "Out-of-sample: every figure comes from test windows whose parameters were picked "
            "on the preceding training window only.",
            f"{len(points)} grid point(s), each replayed once over all {first.bars:,} bars; "
            f"windows of {train} training and {test} test sessions, rolling by {test}.",
            *first.notes,
        ],
    )
    return result.model_copy(update={"windows": records})
