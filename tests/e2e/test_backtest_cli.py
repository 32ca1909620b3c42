"""``maxtrader backtest`` end to end on a few sessions of the real SPY 1-minute data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maxtrader.backtest.results import BacktestResult
from maxtrader.cli import main

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
VIX = SHARED / "noodles-rice_vix_dashboard" / "VIX_History_to_2025-04-30.csv"


@pytest.fixture(scope="module")
def spy_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five weeks of the real parquet as a UTC CSV (a different input shape, and faster)."""
    if not SHARED.is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    import pandas as pd

    frame = pd.read_parquet(SHARED / "dawsh2_ADMF-PC" / "SPY_1m.parquet")
    frame = frame[(frame.timestamp >= "2024-03-26") & (frame.timestamp < "2024-05-01")]
    path = tmp_path_factory.mktemp("data") / "SPY_1m.csv"
    frame[["timestamp", "open", "high", "low", "close", "volume"]].to_csv(path, index=False)
    return path


def test_a_run_writes_json_and_a_self_contained_report(spy_csv, tmp_path, capsys):
    out, report = tmp_path / "r.json", tmp_path / "r.html"
    code = main(
        [
            "backtest",
            "--data",
            str(spy_csv),
            "--vix",
            str(VIX),
            "--start",
            "2024-04-01",
            "--json",
            str(out),
            "--report",
            str(report),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = BacktestResult.model_validate_json(out.read_text())
    assert result.start is not None and result.start.isoformat() == "2024-04-01"
    assert result.end is not None and result.end.isoformat() == "2024-04-30"
    assert result.bars == 22 * 390  # April 2024: 22 sessions
    assert result.elapsed_s > 0
    assert result.trades, "April 2024 trades under the default config"
    data = json.loads(out.read_text())
    assert {
        "metrics",
        "by_regime",
        "by_strategy",
        "rejections",
        "trades",
        "bars",
        "elapsed_s",
    } <= set(data)
    html = report.read_text()
    assert "<svg" in html and "Trades (" in html
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert "ALL" in captured.out and "rejections:" in captured.out
    assert "sessions" not in captured.err  # no progress bar when stderr is not a terminal


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ("strategies.wave_renko.min_rrr=2", "strategies.wave_renko.min_rrr"),
        ("safety.limits.max_daily_trades=-3", "safety.limits.max_daily_trades"),
        ("backtest.initial_equity=lots", "backtest.initial_equity"),
    ],
)
def test_a_bad_set_exits_2_naming_the_key_and_writes_nothing(
    spy_csv, tmp_path, capsys, setting, named
):
    out = tmp_path / "r.json"
    code = main(["backtest", "--data", str(spy_csv), "--set", setting, "--json", str(out)])
    assert code == 2
    assert named in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2024-13-01"], "--start"),
        (["--walk-forward", "5:3"], "--grid"),
        (["--grid", "strategies.wave_renko.min_rr=1,2"], "--walk-forward"),
        (["--symbols", "QQQ"], "QQQ"),
    ],
)
def test_bad_arguments_exit_2(spy_csv, capsys, args, message):
    assert main(["backtest", "--data", str(spy_csv), *args]) == 2
    assert message in capsys.readouterr().err


def test_bars_that_are_not_1_minute_exit_2(tmp_path, capsys):
    five = tmp_path / "SPY_5m.csv"
    minutes = [13 * 60 + 30 + 5 * i for i in range(12)]  # 09:30 EDT onwards, every 5 min
    rows = ["timestamp,open,high,low,close,volume"] + [
        f"2024-06-04T{m // 60:02d}:{m % 60:02d}:00+00:00,500,501,499,500,100" for m in minutes
    ]
    five.write_text("\n".join(rows) + "\n")
    assert main(["backtest", "--data", str(five)]) == 2
    assert "5-minute" in capsys.readouterr().err


def test_a_missing_data_file_exits_2(tmp_path, capsys):
    assert main(["backtest", "--data", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv" in capsys.readouterr().err


def test_walk_forward_reports_stitched_out_of_sample_windows(spy_csv, tmp_path, capsys):
    out = tmp_path / "wf.json"
    code = main(
        [
            "backtest",
            "--data",
            str(spy_csv),
            "--vix",
            str(VIX),
            "--start",
            "2024-04-01",
            "--walk-forward",
            "8:4",
            "--grid",
            "strategies.wave_renko.min_rr=1.5,2.5",
            "--json",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    result = BacktestResult.model_validate_json(out.read_text())
    assert result.out_of_sample and "out-of-sample" in result.label
    assert len(result.windows) == 4  # 22 sessions: tests of 4, 4, 4, 2 after 8 of training
    tested = [s.day for s in result.sessions]
    assert tested[0] == result.windows[0].test_start and len(tested) == 14
    for w in result.windows:
        assert w.train_end < w.test_start
        assert w.params["strategies.wave_renko.min_rr"] in {"1.5", "2.5"}


def test_a_progress_bar_is_drawn_only_on_a_terminal(spy_csv, capsys, monkeypatch):
    import sys

    args = ["backtest", "--data", str(spy_csv), "--start", "2024-04-22", "--end", "2024-04-24"]
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "3/3 sessions" in err and "█" in err


def test_a_run_leaves_logging_as_it_found_it(spy_csv, tmp_path, capsys):
    """Regression: the CLI once set the maxtrader.data logger to ERROR for the whole process,
    which silenced the VIX loader's warnings for everything that ran after it."""
    import logging

    data_logger = logging.getLogger("maxtrader.data")
    before = (data_logger.level, list(data_logger.filters))
    args = ["backtest", "--data", str(spy_csv), "--start", "2024-04-29", "--end", "2024-04-30"]
    assert main(args) == 0
    assert (data_logger.level, list(data_logger.filters)) == before
    err = capsys.readouterr().err
    # Load warnings (the 16:00 auction bars dropped) are printed once, not once per channel.
    assert err.count("outside regular trading hours") == 1


def test_an_intraday_vix_file_replays_the_regime_bar_by_bar(spy_csv, tmp_path, capsys, monkeypatch):
    """--vix with an intraday series goes through data.vix's kind and loader (stand-ins here
    that read a plain CSV, so the wiring is tested whichever loader is installed). A series
    holding each session's prior close all day long must trade exactly as the daily default."""
    from datetime import datetime, timedelta

    from maxtrader.data import vix as vix_data
    from maxtrader.data.vix import load_vix_daily
    from maxtrader.domain.calendar import MarketCalendar
    from maxtrader.domain.ports import VixReading

    calendar = MarketCalendar.xnys("2024-03-01", "2024-05-31")
    closes = load_vix_daily(VIX)
    series = tmp_path / "vix_1m.csv"
    lines = ["observed_at,value"]
    for session in calendar.sessions_between(
        datetime(2024, 4, 1).date(), datetime(2024, 4, 30).date()
    ):
        prior = calendar.previous_sessions(session.day, 1)[0].day
        t = session.open
        while t < session.close:
            lines.append(f"{t.isoformat()},{closes[prior]}")
            t += timedelta(minutes=1)
    series.write_text("\n".join(lines) + "\n")

    def kind(path: Path) -> str:
        return "intraday" if path == series else "daily"

    def load_intraday(path: Path, *, tz: str | None = None) -> list[VixReading]:
        rows = path.read_text().splitlines()[1:]
        return [
            VixReading(value=float(v), observed_at=datetime.fromisoformat(t))
            for t, v in (row.split(",") for row in rows)
        ]

    monkeypatch.setattr(vix_data, "vix_file_kind", kind, raising=False)
    monkeypatch.setattr(vix_data, "load_vix_intraday", load_intraday, raising=False)
    runs = {}
    for name, vix_file in (("daily", VIX), ("intraday", series)):
        out = tmp_path / f"{name}.json"
        args = ["backtest", "--data", str(spy_csv), "--vix", str(vix_file), "--start", "2024-04-01"]
        assert main([*args, "--json", str(out)]) == 0, capsys.readouterr().err
        runs[name] = BacktestResult.model_validate_json(out.read_text())
    assert runs["intraday"].settings["regime_source"] == "intraday"
    assert runs["daily"].settings["regime_source"] == "prior_close"
    assert runs["daily"].trades and runs["intraday"].trades == runs["daily"].trades
