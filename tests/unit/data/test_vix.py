"""Daily VIX: CBOE's VIX_History.csv layout, and closes from index aggregates."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from maxtrader.data import load_vix_daily, vix_closes_from_bars
from maxtrader.domain.errors import DataError
from maxtrader.domain.models import Bar

HEADER = "DATE,OPEN,HIGH,LOW,CLOSE\n"


def _write(tmp_path: Path, text: str, name: str = "VIX_History.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_shared_cboe_history(shared_data: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = shared_data / "noodles-rice_vix_dashboard" / "VIX_History_to_2025-04-30.csv"
    with caplog.at_level(logging.WARNING):
        vix = load_vix_daily(path)
    assert len(vix) == 8917
    assert next(iter(vix)) == date(1990, 1, 2)
    assert list(vix)[-1] == date(2025, 4, 30)
    assert list(vix) == sorted(vix)
    assert vix[date(1990, 1, 2)] == 17.24
    for missing in (date(1991, 3, 1), date(1997, 1, 31), date(1997, 11, 26), date(1999, 12, 31)):
        assert missing not in vix
    assert date(2022, 5, 30) in vix  # Cboe publishes values on some NYSE holidays
    assert "47 row(s) have open/close outside [low, high]" in caplog.text


def test_synthetic_rows_and_crlf(tmp_path: Path) -> None:
    text = HEADER + "01/02/2024,13.21,14.23,13.10,13.20\r\n01/03/2024,13.9,14.2,13.5,14.04\r\n"
    vix = load_vix_daily(_write(tmp_path, text.replace("\n", "\r\n")))
    assert vix == {date(2024, 1, 2): 13.20, date(2024, 1, 3): 14.04}


def test_rows_out_of_order_are_sorted_and_identical_repeats_accepted(tmp_path: Path) -> None:
    text = HEADER + "01/03/2024,1,20,1,14\n01/02/2024,1,20,1,13\n01/03/2024,1,20,1,14\n"
    assert list(load_vix_daily(_write(tmp_path, text)).items()) == [
        (date(2024, 1, 2), 13.0),
        (date(2024, 1, 3), 14.0),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("13/45/2024,1,2,1,1.5\n", r"row 1 \(line 2\), column 'DATE': '13/45/2024' is not a date"),
        ("01/02/2024,1,2,1,abc\n", r"row 1 \(line 2\), column 'CLOSE': 'abc' is not a positive"),
        ("01/02/2024,1,2,1,-3\n", r"row 1 \(line 2\), column 'CLOSE': '-3' is not a positive"),
        ("01/02/2024,1,2,1,nan\n", r"row 1 \(line 2\), column 'CLOSE': 'nan' is not a positive"),
        ("01/02/2024,1,2,1\n", r"row 1 \(line 2\) has 4 fields, the header 5"),
        (
            "01/02/2024,1,20,1,13\n01/02/2024,1,20,1,14\n",
            r"row 2 \(line 3\), column 'DATE': 2024-01-02 appears twice with different closes",
        ),
    ],
)
def test_bad_rows_name_file_row_and_column(tmp_path: Path, body: str, message: str) -> None:
    path = _write(tmp_path, HEADER + body)
    with pytest.raises(DataError, match=rf"VIX_History\.csv: {message}"):
        load_vix_daily(path)


def test_missing_file_empty_file_and_missing_close(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        load_vix_daily(tmp_path / "absent.csv")
    with pytest.raises(DataError, match="empty file"):
        load_vix_daily(_write(tmp_path, ""))
    with pytest.raises(DataError, match="no data rows"):
        load_vix_daily(_write(tmp_path, HEADER))
    with pytest.raises(DataError, match="no 'CLOSE' column"):
        load_vix_daily(_write(tmp_path, "DATE,OPEN\n01/02/2024,1\n"))


def test_closes_from_index_aggregates_are_keyed_by_new_york_date() -> None:
    # Polygon stamps a daily index aggregate at the start of its New York day (05:00 UTC in winter).
    bars = [
        Bar(
            symbol="I:VIX",
            ts=datetime(2024, 1, 3, 5, tzinfo=UTC),
            open=14,
            high=15,
            low=13,
            close=14.04,
            volume=0,
            minutes=1440,
        ),
        Bar(
            symbol="I:VIX",
            ts=datetime(2024, 1, 2, 5, tzinfo=UTC),
            open=13,
            high=14,
            low=13,
            close=13.2,
            volume=0,
            minutes=1440,
        ),
    ]
    assert list(vix_closes_from_bars(bars).items()) == [
        (date(2024, 1, 2), 13.2),
        (date(2024, 1, 3), 14.04),
    ]
