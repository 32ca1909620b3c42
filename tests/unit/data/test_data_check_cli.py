"""``maxtrader data check``: load a file as a backtest would and print what loading found."""

from __future__ import annotations

from pathlib import Path

import pytest

from maxtrader.cli import main

ROWS = [
    "2024-06-03 06:30:00,100,101,99,100.5,10",  # naive US/Pacific = 09:30 New York
    "2024-06-03 06:31:00,100.5,102,100,101,20",
    "2024-06-03 06:31:00,100.5,102,100,101,20",
    "2024-06-03 13:05:00,101,101.5,100.5,101.2,30",  # 16:05 New York: after the close
]


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "SPY_1m.csv"
    path.write_text("date,open,high,low,close,volume\r\n" + "\r\n".join(ROWS) + "\r\n")
    return path


def test_check_prints_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "check", str(_file(tmp_path)), "--tz", "US/Pacific"]) == 0
    out = capsys.readouterr().out
    assert "4 row(s), 1-minute bars, time column 'date'" in out
    assert "SPY: 2 bar(s), 2024-06-03T13:30:00+00:00 .. 2024-06-03T13:31:00+00:00" in out
    assert "388 bar(s) missing in 1 session(s)" in out
    assert "warning: " in out and "dropped 1 duplicate row(s)" in out
    assert "dropped 1 bar(s) outside regular trading hours" in out


def test_check_all_hours_keeps_the_late_bar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["data", "check", str(_file(tmp_path)), "--tz", "US/Pacific", "--all-hours"]) == 0
    assert "SPY: 3 bar(s)" in capsys.readouterr().out


def test_check_without_tz_names_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["data", "check", str(_file(tmp_path))]) == 1
    err = capsys.readouterr().err
    assert "SPY_1m.csv: column 'date' holds naive timestamps" in err
