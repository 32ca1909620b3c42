"""A file load_bars cannot understand: a DataError naming the file, the row and the column."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maxtrader.data import load_bars
from maxtrader.domain.errors import DataError
from maxtrader.domain.models import Bar
from tests.unit.data.fuzzing import CSV_CELLS, FILE_BYTES

HEADER = "timestamp,open,high,low,close,volume,vwap"
GOOD = [
    "2024-06-03 13:30:00+00:00,100,101,99,100.5,10,100.2",
    "2024-06-03 13:31:00+00:00,100.5,102,100,101,20,101.1",
    "2024-06-03 13:32:00+00:00,101,101.5,100.5,101.2,30,",
]


def _with_row(tmp_path: Path, bad: str, *, header: str = HEADER) -> Path:
    path = tmp_path / "SPY_1m.csv"
    path.write_text("\n".join([header, GOOD[0], GOOD[1], bad, GOOD[2]]) + "\n")
    return path


WHERE = r"SPY_1m\.csv: row 3 \(line 4\), column"


BASE = ["2024-06-03 13:33:00+00:00", "100", "101", "99", "100", "1", ""]
COLUMNS = HEADER.split(",")


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("open", "abc", "'open': 'abc' is not a number"),
        ("close", "", "'close': missing value"),
        ("low", "-99", "'low': price -99.0 is not positive"),
        ("high", "inf", "'high': inf is not a finite price"),
        ("high", "98", "'high': high 98.0 is below low"),
        ("open", "102", "'open': open 102.0 is outside"),
        ("close", "98", "'close': close 98.0 is outside"),
        ("volume", "-1", "'volume': volume -1.0 is negative"),
        ("vwap", "0", "'vwap': vwap 0.0 is not a positive"),
        ("timestamp", "yesterday+00:00", r"'timestamp': 'yesterday\+00:00' has no UTC offset"),
        (
            "timestamp",
            "2024-13-45 13:33:00+00:00",
            "'timestamp': '2024-13-45 .*' is not a date-time",
        ),
        ("timestamp", "", "'timestamp': missing timestamp"),
        (
            "timestamp",
            "2024-06-03 13:33:00",
            "'timestamp': '2024-06-03 13:33:00' has no UTC offset",
        ),
        ("timestamp", "2024-06-03 13:33:15+00:00", "'timestamp': timestamp '.*' is not on a whole"),
    ],
)
def test_bad_cells_are_named(tmp_path: Path, column: str, value: str, message: str) -> None:
    cells = list(BASE)
    cells[COLUMNS.index(column)] = value
    if column == "high" and value == "98":
        cells[COLUMNS.index("open")] = cells[COLUMNS.index("close")] = "98.5"
    with pytest.raises(DataError, match=rf"{WHERE} {message}"):
        load_bars(_with_row(tmp_path, ",".join(cells)))


def test_epoch_errors_are_named(tmp_path: Path) -> None:
    path = tmp_path / "SPY.csv"
    path.write_text("t,o,h,l,c,v\n1717421400000,1,1,1,1,1\n1717421460000,1,1,1,1,1\n-5,1,1,1,1,1\n")
    with pytest.raises(
        DataError, match=r"SPY\.csv: row 3 \(line 4\), column 't': epoch -5 is out of range"
    ):
        load_bars(path)  # fmt: skip


def test_ambiguous_local_time_on_the_dst_change(tmp_path: Path) -> None:
    path = tmp_path / "SPY.csv"
    path.write_text("date,open,high,low,close,volume\n2024-11-03 01:30:00,1,1,1,1,1\n")
    message = r"row 1 \(line 2\), column 'date': .* is ambiguous or does not exist in America/"
    with pytest.raises(DataError, match=message):
        load_bars(path, tz="America/New_York")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "cannot be read as CSV or parquet"),
        (HEADER + "\n", "no data rows"),
        (HEADER + "\n" + GOOD[0] + ",extra,fields\n", "cannot be read as CSV or parquet"),
        ("timestamp,open,Open,high,low,close\n" + GOOD[0][:-6] + "\n", "column 'open' appears"),
        ("timestamp,open,high,low\n2024-06-03 13:30:00+00:00,1,1,1\n", "no 'close' column"),
        ("when,open,high,low,close\n2024-06-03,1,1,1,1\n", "no timestamp column"),
    ],
)  # fmt: skip
def test_files_of_the_wrong_shape(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "SPY_1m.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=rf"SPY_1m\.csv: {message}"):
        load_bars(path)


def test_missing_binary_and_corrupt_parquet_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"absent\.csv: no such file"):
        load_bars(tmp_path / "absent.csv")
    binary = tmp_path / "SPY.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage\x00\x00")
    with pytest.raises(DataError, match=r"SPY\.csv: "):
        load_bars(binary)
    corrupt = tmp_path / "SPY.parquet"
    corrupt.write_bytes(b"PAR1 this is not really parquet")
    with pytest.raises(DataError, match=r"SPY\.parquet: cannot be read"):
        load_bars(corrupt)


# --- fuzzing the CSV boundary ---------------------------------------------------------------


@pytest.mark.fuzz
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(row=st.integers(0, 2), column=st.integers(0, 6), cell=CSV_CELLS)
def test_a_fuzzed_cell_loads_or_is_a_named_data_error(
    tmp_path: Path, row: int, column: int, cell: str
) -> None:
    rows = [r.split(",") for r in GOOD]
    rows[row][column] = cell
    path = tmp_path / "SPY_1m.csv"
    path.write_text("\n".join([HEADER, *(",".join(r) for r in rows)]) + "\n")
    _loads_validly_or_names_the_file(path)


@pytest.mark.fuzz
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=FILE_BYTES)
def test_arbitrary_bytes_load_or_are_a_data_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "SPY_1m.csv"
    path.write_bytes(data)
    _loads_validly_or_names_the_file(path)


def _loads_validly_or_names_the_file(path: Path) -> None:
    try:
        loaded = load_bars(path)
    except DataError as exc:
        assert str(path) in str(exc)
        return
    for bars in loaded.bars.values():
        for bar in bars:
            Bar.model_validate(bar.model_dump())  # every returned bar satisfies the model
        assert all(a.ts < b.ts for a, b in itertools.pairwise(bars))


# --- the vectorised checks agree with the Bar model -------------------------------------------

_PRICE = st.one_of(
    st.floats(min_value=-5, max_value=200),
    st.sampled_from([0.0, 1e-300, 100.0, math.nan, math.inf, -math.inf]),
)


@pytest.mark.property
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(o=_PRICE, h=_PRICE, lo=_PRICE, c=_PRICE, v=st.floats(-2, 1e12) | st.just(math.nan))
def test_file_checks_accept_exactly_what_the_bar_model_accepts(
    *, tmp_path: Path, o: float, h: float, lo: float, c: float, v: float
) -> None:
    ts = datetime(2024, 6, 3, 13, 30, tzinfo=UTC)
    try:
        Bar(symbol="SPY", ts=ts, open=o, high=h, low=lo, close=c, volume=v)
        model_ok = True
    except ValueError:
        model_ok = False
    path = tmp_path / "SPY_1m.csv"
    path.write_text(f"{HEADER}\n{ts.isoformat()},{o!r},{h!r},{lo!r},{c!r},{v!r},\n")
    try:
        [bar] = load_bars(path).only()
    except DataError:
        assert not model_ok
        return
    assert model_ok
    assert (bar.open, bar.high, bar.low, bar.close) == (o, h, lo, c)
    assert bar.ts == ts and bar.closed_at == ts + timedelta(minutes=1)


def test_parquet_rows_are_named_without_csv_lines(tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(["2024-06-03 13:30", "2024-06-03 13:31"], utc=True),
            "open": [100.0, 100.0],
            "high": [101.0, 99.0],
            "low": [99.0, 99.5],
            "close": [100.0, 99.5],
            "volume": [1, 1],
        }
    )
    path = tmp_path / "SPY.parquet"
    frame.to_parquet(path)
    with pytest.raises(DataError, match=r"SPY\.parquet: row 2, column 'high': high 99.0 is below"):
        load_bars(path)
