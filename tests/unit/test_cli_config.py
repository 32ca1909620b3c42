from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from maxtrader.cli import main


def edited_copy(tmp_path: Path, config_dir: Path, *edits: tuple[str, str]) -> Path:
    """A copy of configs/ whose safety.yaml has each (old, new) replaced once."""
    target = tmp_path / "configs"
    shutil.copytree(config_dir, target)
    safety = target / "safety.yaml"
    text = safety.read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    safety.write_text(text)
    return target


def test_valid_config_exits_zero_with_a_summary(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "validate", "--config-dir", str(config_dir)]) == 0
    out = capsys.readouterr().out
    assert "config OK" in out
    assert "stage production: paper trading, symbols SPY,QQQ" in out
    assert "placeholder contacts: oncall@example.com" in out


def test_broken_config_exits_two_with_one_line_per_problem(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = edited_copy(
        tmp_path,
        config_dir,
        ("max_premium: 500", "max_premium: lots"),
        ("max_exposure_pct: 0.03", "max_exposure_pct: 3"),
        ("price_collar_pct", "price_colar_pct"),
    )
    safety = broken / "safety.yaml"
    assert main(["config", "validate", "--config-dir", str(broken), "--stage", "staging"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == f"3 problem(s) in {broken}"
    assert sorted(err[:-1]) == sorted(
        [
            f"{safety}: limits.max_premium: wrong type: Input should be a valid number, "
            "unable to parse string as a number (got 'lots')",
            f"{safety}: limits.max_exposure_pct: out of range: "
            "Input should be less than or equal to 1 (got 3)",
            f"{safety}: limits.price_colar_pct: unknown key",
        ]
    )


def test_missing_directory_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "validate", "--config-dir", str(tmp_path / "nope")]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_console_script_is_installed(config_dir: Path) -> None:
    exe = Path(sys.executable).with_name("maxtrader")
    result = subprocess.run(
        [str(exe), "config", "validate", "--config-dir", str(config_dir), "--stage", "staging"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "stage staging: paper trading" in result.stdout


def test_the_shipped_config_has_no_warning(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "validate", "--config-dir", str(config_dir)]) == 0
    captured = capsys.readouterr()
    assert "warning" not in captured.err and "warning" not in captured.out


def test_opening_a_regime_the_specification_closes_is_warned(
    tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    opened = edited_copy(
        tmp_path,
        config_dir,
        (
            "UNKNOWN:            {max_daily_trades: 0, max_concurrent_positions: 0}",
            "UNKNOWN:            {max_daily_trades: 4, max_concurrent_positions: 2}",
        ),
    )
    safety = opened / "safety.yaml"
    # Valid (exit 0), and said once even though two stage files load the same safety.yaml.
    assert main(["config", "validate", "--config-dir", str(opened)]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"warning: {safety}: regime_overrides.UNKNOWN: admits entries (max_daily_trades 4, "
        "max_concurrent_positions 2); the specification keeps UNKNOWN at 0/0, no entries"
    ]
    assert "safety.yaml, strategies.yaml: valid (1 warning(s))" in captured.out
