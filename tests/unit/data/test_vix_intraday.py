"""Intraday VIX files: 1- or 5-minute index bars (no volume) -> readings observed at bar end.

No intraday VIX is among the shared data (its README says none was found), so every file here
is written by the test in the layouts vendors and charting tools export.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from maxtrader.data import load_bars, load_vix_daily, load_vix_intraday, vix_file_kind, write_bars
from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.errors import DataError
from maxtrader.domain.models import Bar
from maxtrader.domain.ports import VixReading
from tests.unit.data.fuzzing import CSV_CELLS, FILE_BYTES

# 2024-07-02 09:30 New York (EDT) = 13:30 UTC; three 5-minute bars.
START = datetime(2024, 7, 2, 13, 30, tzinfo=UTC)
CLOSES = [12.61, 12.83, 12.70]
OHLC = [(12.50, 12.70, 12.40), (12.61, 12.90, 12.55), (12.83, 12.85, 12.66)]  # open, high, low


def expected(minutes: int = 5) -> list[VixReading]:
    step = timedelta(minutes=minutes)
    return [VixReading(c, START + i * step + step) for i, c in enumerate(CLOSES)]


def rows(stamp: Callable[[datetime], object], minutes: int = 5) -> list[str]:
    """One CSV row per bar: ``stamp(start)`` then open, high, low, close."""
    step = timedelta(minutes=minutes)
    return [
        f"{stamp(START + i * step)},{o},{h},{lo},{c}"
        for i, ((o, h, lo), c) in enumerate(zip(OHLC, CLOSES, strict=True))
    ]


def write(tmp_path: Path, text: str, name: str = "VIX_5m.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- the layouts -----------------------------------------------------------------------------


def _tradingview(tmp_path: Path) -> Path:  # epoch seconds, no volume
    return write(
        tmp_path, "time,open,high,low,close\n" + "\n".join(rows(lambda t: int(t.timestamp())))
    )


def _yahoo(tmp_path: Path) -> Path:  # New York offsets, Volume 0, Adj Close
    body = [
        f"{r},{r.rsplit(',', 1)[1]},0" for r in rows(lambda t: t.astimezone(NEW_YORK).isoformat())
    ]
    text = "Datetime,Open,High,Low,Close,Adj Close,Volume\r\n" + "\r\n".join(body) + "\r\n"
    return write(tmp_path, "\ufeff" + text, name="^VIX.csv")  # BOM, CRLF, a name no symbol fits


def _naive_new_york(tmp_path: Path) -> Path:  # charting tools: local wall-clock, needs tz
    local = rows(lambda t: t.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M"))
    return write(tmp_path, "datetime,Open,High,Low,Close\n" + "\n".join(local))


def _split_date_time(tmp_path: Path) -> Path:  # NinjaTrader / Sierra Chart: Date and Time apart
    local = rows(lambda t: t.astimezone(NEW_YORK).strftime("%m/%d/%Y,%H:%M"))
    return write(tmp_path, "Date,Time,Open,High,Low,Close\n" + "\n".join(local))


def _polygon_fetch(tmp_path: Path) -> Path:  # `maxtrader data fetch --symbol I:VIX`, as written
    bars = [
        Bar(symbol="I:VIX", ts=START + i * timedelta(minutes=5), open=o, high=h, low=lo,
            close=c, volume=0, minutes=5)
        for i, ((o, h, lo), c) in enumerate(zip(OHLC, CLOSES, strict=True))
    ]  # fmt: skip
    path = tmp_path / "I_VIX_5m.csv"
    write_bars(bars, path)
    return path


def _parquet_indexed(tmp_path: Path) -> Path:  # a DataFrame with a tz-aware index, no volume
    import pandas as pd

    index = pd.DatetimeIndex([START + i * timedelta(minutes=5) for i in range(3)], name="time")
    frame = pd.DataFrame(
        {"open": [o for o, _, _ in OHLC], "high": [h for _, h, _ in OHLC],
         "low": [lo for _, _, lo in OHLC], "close": CLOSES},
        index=index,
    )  # fmt: skip
    path = tmp_path / "vix.parquet"
    frame.to_parquet(path)
    return path


LAYOUTS = {
    "tradingview": (_tradingview, None),
    "yahoo": (_yahoo, None),
    "naive new york": (_naive_new_york, "America/New_York"),
    "polygon fetch": (_polygon_fetch, None),
    "split date and time": (_split_date_time, "America/New_York"),
    "parquet": (_parquet_indexed, None),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_layout_gives_closes_observed_at_bar_end(tmp_path: Path, layout: str) -> None:
    make, tz = LAYOUTS[layout]
    path = make(tmp_path)
    assert vix_file_kind(path) == "intraday"
    assert load_vix_intraday(path, tz=tz) == expected()


def test_one_minute_bars(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "timestamp,open,high,low,close\n" + "\n".join(rows(lambda t: t.isoformat(), minutes=1)),
        name="VIX_1m.csv",
    )
    readings = load_vix_intraday(path)
    assert readings == expected(minutes=1)
    assert readings[0].observed_at == datetime(2024, 7, 2, 13, 31, tzinfo=UTC)


def test_no_volume_warning_for_index_bars_but_still_for_equity_bars(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _tradingview(tmp_path)
    with caplog.at_level(logging.WARNING):
        load_vix_intraday(path)
    assert "no volume column" not in caplog.text
    equity = write(tmp_path, path.read_text(), name="SPY_5m.csv")
    assert any("no volume column" in w for w in load_bars(equity).warnings)
    assert not any("no volume column" in w for w in load_bars(equity, index=True).warnings)
    assert [b.volume for b in load_bars(equity, index=True).only()] == [0, 0, 0]


def test_a_vendor_tick_outside_the_range_keeps_the_close_and_is_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = "time,open,high,low,close\n" + "\n".join(rows(lambda t: int(t.timestamp())))
    text = text.replace("12.5,12.7,12.4,12.61", "12.75,12.7,12.4,12.61")  # open above high
    with caplog.at_level(logging.WARNING):
        readings = load_vix_intraday(write(tmp_path, text))
    assert [r.value for r in readings] == CLOSES
    assert "1 bar(s) have open/close outside [low, high]" in caplog.text


# --- daily or intraday ----------------------------------------------------------------------


def test_kind_of_daily_files(tmp_path: Path, shared_data: Path) -> None:
    cboe = shared_data / "noodles-rice_vix_dashboard" / "VIX_History_to_2025-04-30.csv"
    assert vix_file_kind(cboe) == "daily"
    yahoo_daily = write(
        tmp_path, "Date,Open,High,Low,Close,Adj Close,Volume\n2024-07-01,12,13,11,12.2,12.2,0\n"
        "2024-07-02,12,13,11,12.3,12.3,0\n", name="vix_daily.csv",
    )  # fmt: skip
    assert vix_file_kind(yahoo_daily) == "daily"
    # TradingView's daily export: epoch seconds at the session's open, one row a day, no volume
    days = [datetime(2024, 7, d, 13, 30, tzinfo=UTC) for d in (1, 2, 3)]
    tv = "time,open,high,low,close\n" + "\n".join(
        f"{int(d.timestamp())},12,13,11,12.5" for d in days
    )
    tv_daily = write(tmp_path, tv, name="CBOE_DLY_VIX, 1D.csv")
    assert vix_file_kind(tv_daily) == "daily"
    assert list(load_vix_daily(tv_daily).values()) == [12.5, 12.5, 12.5]


def test_a_daily_file_is_not_read_as_intraday(tmp_path: Path) -> None:
    cboe = write(tmp_path, "DATE,OPEN,HIGH,LOW,CLOSE\n07/01/2024,12,13,11,12.2\n", name="V.csv")
    with pytest.raises(DataError, match=r"V\.csv: a daily VIX history .*load_vix_daily"):
        load_vix_intraday(cboe)
    days = [datetime(2024, 7, d, 13, 30, tzinfo=UTC) for d in (1, 2, 3)]
    daily_bars = write(
        tmp_path,
        "time,open,high,low,close\n"
        + "\n".join(f"{int(d.timestamp())},12,13,11,12.5" for d in days),
    )
    with pytest.raises(DataError, match=r"VIX_5m\.csv: one value per day"):
        load_vix_intraday(daily_bars)


# --- errors name the file, the row and the column -----------------------------------------------

HEADER = "timestamp,open,high,low,close"
GOOD = rows(lambda t: t.isoformat())
WHERE = r"VIX_5m\.csv: row 2 \(line 3\), column"


def _with_second_row(tmp_path: Path, row: str) -> Path:
    return write(tmp_path, "\n".join([HEADER, GOOD[0], row, GOOD[2]]) + "\n")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "2024-07-02T13:35:00+00:00,12.6,12.9,12.5,nan",
            rf"{WHERE} 'close': missing value",
        ),
        ("2024-07-02T13:35:00+00:00,12.6,12.9,12.5,", rf"{WHERE} 'close': missing value"),
        ("2024-07-02T13:35:00+00:00,12.6,12.9,12.5,0", rf"{WHERE} 'close': 0.0 is not a positive"),
        (
            "2024-07-02T13:35:00+00:00,12.6,12.9,12.5,-3",
            rf"{WHERE} 'close': -3.0 is not a positive",
        ),
        (
            "2024-07-02T13:35:00+00:00,12.6,12.9,12.5,inf",
            rf"{WHERE} 'close': inf is not a positive",
        ),
        ("2024-07-02T13:35:00+00:00,-1,12.9,12.5,12.8", rf"{WHERE} 'open': -1.0 is not a positive"),
        (
            "2024-07-02T13:35:00+00:00,12.6,1e400,12.5,12.8",
            rf"{WHERE} 'high': inf is not a positive",
        ),
        (
            "2024-07-02T13:30:00+00:00,12.6,12.9,12.5,12.8",
            rf"{WHERE} 'timestamp': timestamp 2024-07-02T13:30:00\+00:00 repeats row 1",
        ),
        (
            "2024-07-02T13:25:00+00:00,12.6,12.9,12.5,12.8",
            rf"{WHERE} 'timestamp': timestamp 2024-07-02T13:25:00\+00:00 is before row 1's",
        ),
        ("2024-07-02 13:35:00,12.6,12.9,12.5,12.8", rf"{WHERE} 'timestamp': .* has no UTC offset"),
    ],
)
def test_bad_rows(tmp_path: Path, row: str, message: str) -> None:
    path = _with_second_row(tmp_path, row)
    with pytest.raises(DataError, match=message):
        load_vix_intraday(path)


def test_a_bar_off_the_five_minute_grid(tmp_path: Path) -> None:
    minutes = (30, 35, 40, 47, 50, 55)
    body = [f"2024-07-02T13:{m}:00+00:00,12.6,12.9,12.5,12.8" for m in minutes]
    with pytest.raises(
        DataError,
        match=r"VIX_5m\.csv: row 4 \(line 5\), column 'timestamp': timestamp "
        r"2024-07-02T13:47:00\+00:00 is not on the 5-minute grid",
    ):
        load_vix_intraday(write(tmp_path, HEADER + "\n" + "\n".join(body)))


@pytest.mark.parametrize("make", [_naive_new_york, _split_date_time])
def test_naive_times_without_tz_ask_for_it(tmp_path: Path, make: Callable[[Path], Path]) -> None:
    with pytest.raises(DataError, match=r"naive timestamps.*--tz"):
        load_vix_intraday(make(tmp_path))


def test_a_bad_time_in_a_split_stamp_is_named(tmp_path: Path) -> None:
    text = _split_date_time(tmp_path).read_text().replace("09:35", "9:3x")
    with pytest.raises(
        DataError, match=r"row 2 \(line 3\), column 'date\+time': '07/02/2024 9:3x' is not a date"
    ):
        load_vix_intraday(write(tmp_path, text), tz="America/New_York")


@pytest.mark.parametrize(
    ("minutes", "message"),
    [(15, "15-minute bars; intraday VIX bars must be 1- or 5-minute"), (2, "2-minute bars")],
)
def test_other_bar_lengths_are_refused(tmp_path: Path, minutes: int, message: str) -> None:
    body = rows(lambda t: t.isoformat(), minutes=minutes)
    with pytest.raises(DataError, match=message):
        load_vix_intraday(write(tmp_path, HEADER + "\n" + "\n".join(body)))


def test_two_series_in_one_file_are_refused(tmp_path: Path) -> None:
    body = [f"{s},{r}" for s, r in zip(("I:VIX", "I:VIX", "I:VIX9D"), GOOD, strict=True)]
    with pytest.raises(DataError, match=r"holds 2 series \(I:VIX, I:VIX9D\)"):
        load_vix_intraday(write(tmp_path, "ticker," + HEADER + "\n" + "\n".join(body)))


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"absent\.csv: no such file"):
        load_vix_intraday(tmp_path / "absent.csv")
    with pytest.raises(DataError, match=r"absent\.csv: no such file"):
        vix_file_kind(tmp_path / "absent.csv")
    with pytest.raises(DataError, match=r"VIX_5m\.csv: no data rows"):
        load_vix_intraday(write(tmp_path, HEADER + "\n"))


# --- properties and fuzzing at the file boundary ----------------------------------------------

_FORMATS: dict[str, Callable[[datetime], str]] = {
    "utc iso": lambda t: t.isoformat(),
    "new york offset": lambda t: t.astimezone(NEW_YORK).isoformat(),
    "epoch s": lambda t: str(int(t.timestamp())),
    "epoch ms": lambda t: str(int(t.timestamp()) * 1000),
    "naive new york": lambda t: t.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M:%S"),
}


@pytest.mark.property
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    minutes=st.sampled_from([1, 5]),
    gaps=st.lists(st.just(1) | st.integers(2, 3000), min_size=2, max_size=39),
    closes=st.lists(st.floats(5, 90, allow_nan=False), min_size=40, max_size=40),
    fmt=st.sampled_from(sorted(_FORMATS)),
    first=st.datetimes(datetime(2016, 1, 1), datetime(2035, 1, 1)),
)
def test_any_increasing_series_reads_back_exactly(  # noqa: PLR0917 - hypothesis' arguments
    tmp_path: Path, minutes: int, gaps: list[int], closes: list[float], fmt: str, first: datetime
) -> None:
    """Whatever the spacing (sessions, nights, DST changes) and the time format, each bar is one
    reading: its close, observed at its start + its length, in file order."""
    assume(gaps.count(1) * 2 > len(gaps))  # mostly back-to-back bars: the length is inferable
    step = timedelta(minutes=minutes)
    origin = first.replace(tzinfo=UTC, second=0, microsecond=0)
    origin -= timedelta(minutes=origin.minute % minutes)
    stamps = [origin + k * step for k in itertools.accumulate(gaps, initial=0)]
    body = [f"{_FORMATS[fmt](t)},{c},{c},{c},{c}" for t, c in zip(stamps, closes, strict=False)]
    path = write(tmp_path, HEADER + "\n" + "\n".join(body) + "\n")
    tz = "America/New_York" if fmt == "naive new york" else None
    try:
        readings = load_vix_intraday(path, tz=tz)
    except DataError as exc:  # a naive time in a DST gap or overlap: refused, by name
        assert fmt == "naive new york" and "daylight-saving" in str(exc)
        return
    assert readings == [VixReading(c, t + step) for t, c in zip(stamps, closes, strict=False)]
    utc_days = [t.date() for t in stamps[: len(closes)]]
    assert vix_file_kind(path) == ("intraday" if len(set(utc_days)) < len(utc_days) else "daily")


@pytest.mark.fuzz
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(row=st.integers(0, 2), column=st.integers(0, 4), cell=CSV_CELLS)
def test_a_fuzzed_cell_loads_validly_or_is_a_named_data_error(
    tmp_path: Path, row: int, column: int, cell: str
) -> None:
    cells = [r.split(",") for r in GOOD]
    cells[row][column] = cell
    path = write(tmp_path, "\n".join([HEADER, *(",".join(r) for r in cells)]) + "\n")
    _loads_validly_or_names_the_file(path)


@pytest.mark.fuzz
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=FILE_BYTES)
def test_arbitrary_bytes_load_or_are_a_data_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "VIX_5m.csv"
    path.write_bytes(data)
    _loads_validly_or_names_the_file(path)
    try:
        assert vix_file_kind(path) in ("daily", "intraday")
    except DataError as exc:
        assert str(path) in str(exc)


def _loads_validly_or_names_the_file(path: Path) -> None:
    try:
        readings = load_vix_intraday(path, tz="America/New_York")
    except DataError as exc:
        assert str(path) in str(exc)
        return
    assert readings, "a load that succeeds returns readings"
    for reading in readings:
        assert math.isfinite(reading.value) and reading.value > 0
        assert reading.observed_at.tzinfo is not None and reading.observed_at.second == 0
    assert all(a.observed_at < b.observed_at for a, b in itertools.pairwise(readings))
