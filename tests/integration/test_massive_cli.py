"""``maxtrader data fetch`` end to end: the real client, the emulator, a file load_bars reads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from maxtrader.cli import main
from maxtrader.data import load_bars, load_vix_daily
from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.models import Bar
from maxtrader.emulators.massive import MassiveEmulator

KEY = "cli-key"


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[MassiveEmulator]:
    monkeypatch.delenv("POLYGON_API_KEY", raising=False)
    monkeypatch.setenv("MASSIVE_API_KEY", KEY)
    with MassiveEmulator(api_key=KEY) as emu:
        yield emu


def _session_bars(day: date) -> list[Bar]:
    """Pre-market, the regular session, the 16:00 auction bar and after-hours, one a minute."""
    start = datetime(day.year, day.month, day.day, 8, 0, tzinfo=UTC)  # 04:00 New York (EDT)
    bars = []
    for i in range(16 * 60):
        price = 510 + (i % 31) * 0.1
        bars.append(Bar(symbol="SPY", ts=start + timedelta(minutes=i), open=price,
                        high=price + 0.2, low=price - 0.2, close=price + 0.1, volume=1000 + i,
                        vwap=price))  # fmt: skip
    return bars


def _fetch(emu: MassiveEmulator, *args: str) -> int:
    return main(["data", "fetch", "--base-url", emu.base_url, *args])


@pytest.mark.parametrize("suffix", ["csv", "parquet", "csv.gz"])
def test_fetch_writes_a_file_load_bars_reads_back(
    emulator: MassiveEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    recorded = _session_bars(date(2024, 6, 3)) + _session_bars(date(2024, 6, 4))
    emulator.add_bars(recorded)
    out = tmp_path / f"spy.{suffix}"
    code = _fetch(emulator, "--symbol", "SPY", "--from", "2024-06-03", "--to", "2024-06-04",
                  "--out", str(out))  # fmt: skip
    assert code == 0
    assert f"wrote {len(recorded)} 1 minute bar(s) of SPY" in capsys.readouterr().out
    assert load_bars(out, rth_only=False).bars == {"SPY": recorded}
    rth = load_bars(out).bars["SPY"]
    assert len(rth) == 2 * 390
    assert {b.ts.astimezone(NEW_YORK).time().isoformat() for b in rth[:1] + rth[-1:]} == {
        "09:30:00",
        "15:59:00",
    }


def test_fetch_index_daily_closes_for_the_regime(emulator: MassiveEmulator, tmp_path: Path) -> None:
    days = [date(2025, 1, 2), date(2025, 1, 3), date(2025, 1, 6)]
    aggs = [
        {"t": int(datetime(d.year, d.month, d.day, tzinfo=NEW_YORK).timestamp() * 1000),
         "o": 17 + i, "h": 18 + i, "l": 16 + i, "c": 17.5 + i}
        for i, d in enumerate(days)
    ]  # fmt: skip
    emulator.add_aggs("I:VIX", aggs, timespan="day")
    out = tmp_path / "vix.csv"
    code = _fetch(emulator, "--symbol", "I:VIX", "--timespan", "day", "--from", "2025-01-01",
                  "--to", "2025-01-31", "--out", str(out))  # fmt: skip
    assert code == 0
    assert load_vix_daily(out) == {d: 17.5 + i for i, d in enumerate(days)}


def test_missing_key_is_a_clear_usage_error(
    emulator: MassiveEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("MASSIVE_API_KEY")
    out = tmp_path / "spy.csv"
    code = _fetch(emulator, "--symbol", "SPY", "--from", "2024-06-03", "--to", "2024-06-03",
                  "--out", str(out))  # fmt: skip
    assert code == 2
    assert "set MASSIVE_API_KEY (or POLYGON_API_KEY)" in capsys.readouterr().err
    assert not out.exists()
    assert emulator.requests == []


def test_polygon_key_variable_is_accepted(
    emulator: MassiveEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MASSIVE_API_KEY")
    monkeypatch.setenv("POLYGON_API_KEY", KEY)
    emulator.add_bars(_session_bars(date(2024, 6, 3))[:5])
    out = tmp_path / "spy.csv"
    assert _fetch(emulator, "--symbol", "SPY", "--from", "2024-06-03", "--to", "2024-06-03",
                  "--out", str(out)) == 0  # fmt: skip


@pytest.mark.faults
def test_a_failed_fetch_leaves_the_old_file_untouched(
    emulator: MassiveEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "spy.csv"
    out.write_text("previous contents\n")
    emulator.inject(200, b"not json")
    code = _fetch(emulator, "--symbol", "SPY", "--from", "2024-06-03", "--to", "2024-06-03",
                  "--out", str(out))  # fmt: skip
    assert code == 1
    err = capsys.readouterr().err
    assert "the server's answer is not JSON" in err
    assert err.rstrip().endswith("nothing written")
    assert out.read_text() == "previous contents\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spy.csv"]  # no temp file left


def test_empty_answer_and_bad_arguments(
    emulator: MassiveEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "spy.csv"
    assert _fetch(emulator, "--symbol", "SPY", "--from", "2024-06-03", "--to", "2024-06-03",
                  "--out", str(out)) == 1  # fmt: skip
    assert "no SPY bars from 2024-06-03 to 2024-06-03" in capsys.readouterr().err
    assert _fetch(emulator, "--symbol", "SPY", "--from", "2024-06-04", "--to", "2024-06-03",
                  "--out", str(out)) == 2  # fmt: skip
    with pytest.raises(SystemExit) as exc:
        _fetch(emulator, "--symbol", "SPY", "--from", "06/03/2024", "--to", "2024-06-03",
               "--out", str(out))  # fmt: skip
    assert exc.value.code == 2
    assert "'06/03/2024' is not a date (YYYY-MM-DD)" in capsys.readouterr().err
    assert not out.exists()
