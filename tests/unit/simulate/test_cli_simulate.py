"""``maxtrader simulate``'s refusals: bad input is named, exit 2, and nothing is started."""

from __future__ import annotations

from pathlib import Path

import pytest

from maxtrader.cli import main
from maxtrader.simulate import local_stack


@pytest.fixture(autouse=True)
def _nothing_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("the local stack must not start on bad input")

    monkeypatch.setattr(local_stack.LocalStack, "start", refuse)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "2024-06-15"], "not an XNYS session"),
        (["--date", "12/06/2024"], "expected YYYY-MM-DD"),
        (["--vix", "vix.csv"], "--data files only"),
        (["--faults", "broker-5xx,meteor-strike"], "unknown drill"),
    ],
)
def test_bad_input_is_refused_with_its_reason(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", *args]) == 2
    assert message in capsys.readouterr().err


def test_a_date_outside_the_data_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "SPY.csv"
    stamps = [
        f"2024-06-03T{13 + (30 + m) // 60:02d}:{(30 + m) % 60:02d}:00+00:00" for m in range(30)
    ]
    rows = [f"{ts},500,501,499,500.5,1000" for ts in stamps]
    data.write_text("timestamp,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    assert main(["simulate", "--data", str(data), "--date", "2024-06-04"]) == 2
    assert "not in the data" in capsys.readouterr().err


def test_a_stage_symbol_the_data_lacks_is_not_traded_that_day(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A real file of SPY alone: the stage runs as a SPY-only deployment (QQQ, with no bar all
    day, would fail health's data freshness and hold every entry in safe mode)."""
    from maxtrader.cli.simulate_cmd import stage_for_symbols
    from maxtrader.config.loader import load_safety, load_stage

    with stage_for_symbols("staging", ["SPY"]) as config_dir:
        assert config_dir is not None
        stage = load_stage("staging", config_dir)
        assert stage.symbols == ["SPY"]
        assert stage.model_dump(exclude={"symbols"}) == load_stage("staging").model_dump(
            exclude={"symbols"}
        )
        assert load_safety(config_dir) == load_safety()
    assert not config_dir.exists()  # removed after the run
    assert "trades ['SPY'] only" in capsys.readouterr().err


def test_data_covering_the_stage_runs_with_its_own_configs() -> None:
    from maxtrader.cli.simulate_cmd import stage_for_symbols

    with stage_for_symbols("staging", ["QQQ", "SPY"]) as config_dir:
        assert config_dir is None


def test_data_with_none_of_the_stage_symbols_is_refused() -> None:
    from maxtrader.cli.simulate_cmd import stage_for_symbols
    from maxtrader.domain.errors import InvalidInputError

    refused = stage_for_symbols("staging", ["IWM"])
    with pytest.raises(InvalidInputError, match="no bars of the stage's symbols"):
        refused.__enter__()
