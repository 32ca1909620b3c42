"""Walk-forward: windows, grid parsing, and picking on the training window only."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from maxtrader.backtest.results import BacktestResult, SessionRecord
from maxtrader.backtest.settings import BacktestSettings, OverrideError, RunConfig
from maxtrader.backtest.summary import build_result
from maxtrader.backtest.walkforward import (
    grid_points,
    parse_grid,
    parse_walk_forward,
    split_windows,
    walk_forward,
)
from maxtrader.config.safety import SafetyConfig
from maxtrader.config.strategies import StrategiesConfig
from maxtrader.domain.models import Regime

from .test_metrics import trade

DAYS = [date(2024, 1, 1) + timedelta(days=i) for i in range(10)]
BASE = RunConfig(SafetyConfig(), StrategiesConfig(), BacktestSettings())


def test_windows_roll_by_the_test_length_and_never_overlap_train_and_test():
    windows = split_windows(DAYS, 4, 2)
    assert [(w.train[0].day, w.test[0].day, len(w.test)) for w in windows] == [
        (1, 5, 2),
        (3, 7, 2),
        (5, 9, 2),
    ]
    for w in windows:
        assert max(w.train) < min(w.test)
    tested = [d for w in windows for d in w.test]
    assert len(tested) == len(set(tested))


def test_grid_and_walk_forward_parsing():
    grid = parse_grid(["strategies.wave_renko.min_rr=1.5,2", "backtest.initial_equity=1e4"])
    assert grid_points(grid) == [
        (("strategies.wave_renko.min_rr", "1.5"), ("backtest.initial_equity", "1e4")),
        (("strategies.wave_renko.min_rr", "2"), ("backtest.initial_equity", "1e4")),
    ]
    assert parse_walk_forward("60:20") == (60, 20)
    for bad in ("60", "a:b", "0:5", "5:-1"):
        with pytest.raises(OverrideError):
            parse_walk_forward(bad)
    with pytest.raises(OverrideError, match="min_rrr"):
        walk_forward(
            BASE,
            parse_grid(["strategies.wave_renko.min_rrr=1,2"]),
            DAYS,
            train=4,
            test=2,
            run=lambda cfg: pytest.fail("ran before validating"),
        )


def _replay(good_days: set[date]) -> BacktestResult:
    trades = [trade(d, 0, 100.0 if d in good_days else -100.0) for d in DAYS]
    sessions = [
        SessionRecord(
            day=d,
            regime=Regime.NORMAL_VOL,
            vix=15,
            strategy="wave_renko",
            start_equity=1e4,
            pnl=0,
            trades=1,
        )
        for d in DAYS
    ]
    return build_result(trades=trades, sessions=sessions, initial_equity=1e4, bars=10)


def test_parameters_are_picked_on_train_only_and_the_test_windows_are_stitched():
    # Point A wins every training window's days 1-6 but loses on 7-10; B is the reverse.
    # A honest picker picks A for every window, and reports A's test losses.
    a = _replay(set(DAYS[:6]))
    b = _replay(set(DAYS[6:]))
    replays = {"1.5": a, "2.0": b}
    result = walk_forward(
        BASE,
        parse_grid(["strategies.wave_renko.min_rr=1.5,2.0"]),
        DAYS,
        train=4,
        test=2,
        run=lambda cfg: replays[str(cfg.strategies.wave_renko.min_rr)],
    )
    assert result.out_of_sample and "out-of-sample" in result.label
    picks = [w.params["strategies.wave_renko.min_rr"] for w in result.windows]
    assert picks[0] == "1.5"  # trained on days 1-4: A +400, B -400
    assert [t.entry_time.date() for t in result.trades] == DAYS[4:]
    assert result.start == DAYS[4]
    # window 3 trains on days 5-8 (A: +200-200 = 0, B: -200+200 = 0): the tie goes to A
    assert picks == ["1.5", "1.5", "1.5"]
    assert result.metrics.pnl == pytest.approx(200 - 400)  # A on days 5-10: +,+,-,-,-,-
