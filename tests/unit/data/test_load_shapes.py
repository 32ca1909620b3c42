"""load_bars on small hand-written files, one vendor quirk at a time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import pandas as pd
import pytest

from maxtrader.data import load_bars
from maxtrader.data.export import write_bars
from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.errors import DataError
from maxtrader.domain.models import Bar

HEADER = "timestamp,open,high,low,close,volume\n"
# 2024-06-03 (Mon) 09:30 New York is 13:30 UTC.
ROWS_UTC = [
    "2024-06-03 13:30:00+00:00,100,101,99,100.5,10",
    "2024-06-03 13:31:00+00:00,100.5,102,100,101,20",
    "2024-06-03 13:32:00+00:00,101,101.5,100.5,101.2,30",
]


def _csv(tmp_path: Path, text: str, name: str = "SPY_1m.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def _ny(bar: Bar) -> tuple[date, time]:
    local = bar.ts.astimezone(NEW_YORK)
    return local.date(), local.time()


def _reference() -> list[Bar]:
    return [
        Bar(symbol="SPY", ts=datetime(2024, 6, 3, 13, 30 + i, tzinfo=UTC), open=o, high=h,
            low=lo, close=c, volume=v)
        for i, (o, h, lo, c, v) in enumerate(
            [(100, 101, 99, 100.5, 10), (100.5, 102, 100, 101, 20), (101, 101.5, 100.5, 101.2, 30)]
        )
    ]  # fmt: skip


def test_utc_iso(tmp_path: Path) -> None:
    loaded = load_bars(_csv(tmp_path, HEADER + "\n".join(ROWS_UTC) + "\n"))
    assert loaded.bars == {"SPY": _reference()}
    assert loaded.report.minutes == 1
    [gap_warning] = loaded.warnings  # nothing dropped; only the gap report speaks
    assert "gaps: SPY: 1 session(s), 387 bar(s) missing in 1 session(s)" in gap_warning


def test_et_offsets_crlf_bom_and_upper_case_headers(tmp_path: Path) -> None:
    rows = [r.replace("13:3", "09:3").replace("+00:00", "-04:00") for r in ROWS_UTC]
    text = "\ufeffDateTime,Open,High,Low,Close,Volume\r\n" + "\r\n".join(rows) + "\r\n"
    assert load_bars(_csv(tmp_path, text)).only() == _reference()


def test_iso_t_and_z(tmp_path: Path) -> None:
    rows = [r.replace(" ", "T").replace("+00:00", "Z") for r in ROWS_UTC]
    assert load_bars(_csv(tmp_path, HEADER + "\n".join(rows))).only() == _reference()


@pytest.mark.parametrize(("scale", "unit"), [(1, "s"), (1000, "ms"), (10**9, "ns")])
def test_epoch_numbers_in_any_unit(tmp_path: Path, scale: int, unit: str) -> None:
    base = int(datetime(2024, 6, 3, 13, 30, tzinfo=UTC).timestamp())
    rows = [f"{(base + 60 * i) * scale},{r.split(',', 1)[1]}" for i, r in enumerate(ROWS_UTC)]
    assert load_bars(_csv(tmp_path, "t,o,h,l,c,v\n" + "\n".join(rows))).only() == _reference()


def test_naive_times_need_an_explicit_zone(tmp_path: Path) -> None:
    rows = [r.replace("13:3", "06:3").replace("+00:00", "") for r in ROWS_UTC]  # Pacific
    path = _csv(tmp_path, "date,open,high,low,close,volume\n" + "\n".join(rows))
    with pytest.raises(DataError, match=r"SPY_1m\.csv: column 'date' holds naive timestamps.*tz="):
        load_bars(path)
    assert load_bars(path, tz="US/Pacific").only() == _reference()
    assert load_bars(path, tz="America/Los_Angeles").only() == _reference()
    with pytest.raises(DataError, match="unknown time zone 'Mars/Olympus'"):
        load_bars(path, tz="Mars/Olympus")


def test_tz_is_ignored_with_a_warning_when_times_carry_offsets(tmp_path: Path) -> None:
    loaded = load_bars(_csv(tmp_path, HEADER + "\n".join(ROWS_UTC)), tz="US/Pacific")
    assert loaded.only() == _reference()
    assert any("tz='US/Pacific' ignored" in w for w in loaded.warnings)


def test_parquet_with_naive_and_aware_datetimes(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "timestamp": pd.to_datetime([r.split(",")[0] for r in ROWS_UTC], utc=True),
            "open": [100, 100.5, 101], "high": [101, 102, 101.5], "low": [99, 100, 100.5],
            "close": [100.5, 101, 101.2], "volume": [10, 20, 30],
        }
    )  # fmt: skip
    aware = tmp_path / "SPY.parquet"
    frame.to_parquet(aware)
    assert load_bars(aware).only() == _reference()
    indexed = tmp_path / "SPY_indexed.parquet"
    frame.set_index("timestamp").to_parquet(indexed)
    assert load_bars(indexed).only() == _reference()
    naive = tmp_path / "SPY_naive.parquet"
    frame.assign(
        timestamp=frame["timestamp"].dt.tz_convert(NEW_YORK).dt.tz_localize(None)
    ).to_parquet(naive)
    with pytest.raises(DataError, match="naive timestamps"):
        load_bars(naive)
    assert load_bars(naive, tz="America/New_York").only() == _reference()


def test_duplicates_and_disorder_are_counted(tmp_path: Path) -> None:
    rows = [ROWS_UTC[2], ROWS_UTC[0], ROWS_UTC[1], ROWS_UTC[0], ROWS_UTC[2]]
    loaded = load_bars(_csv(tmp_path, HEADER + "\n".join(rows)))
    assert loaded.only() == _reference()
    assert loaded.report.duplicates_dropped == 2
    assert loaded.report.resorted
    assert f"{tmp_path / 'SPY_1m.csv'}: dropped 2 duplicate row(s)" in loaded.warnings


def test_conflicting_repeat_of_a_timestamp_keeps_the_last(tmp_path: Path) -> None:
    corrected = "2024-06-03 13:31:00+00:00,100.5,102,100,101.9,25"
    loaded = load_bars(_csv(tmp_path, HEADER + "\n".join([*ROWS_UTC, corrected])))
    assert loaded.only()[1].close == 101.9
    assert loaded.report.conflicts_dropped == 1
    assert any("1 row(s) repeat a timestamp with other values (first at row 2)" in w
               for w in loaded.warnings)  # fmt: skip


def _session_rows(day: str, start: str, end: str, offset: str = "-04:00") -> list[str]:
    times = pd.date_range(f"{day} {start}", f"{day} {end}", freq="1min")
    return [f"{t:%Y-%m-%d %H:%M:%S}{offset},10,11,9,10,1" for t in times]


def test_extended_hours_and_the_closing_auction_bar_are_outside_rth(tmp_path: Path) -> None:
    rows = _session_rows("2024-06-03", "04:00", "19:59")
    path = _csv(tmp_path, HEADER + "\n".join(rows))
    loaded = load_bars(path)
    bars = loaded.only()
    assert len(bars) == 390
    assert (_ny(bars[0])[1], _ny(bars[-1])[1]) == (time(9, 30), time(15, 59))
    assert loaded.report.outside_rth_dropped == len(rows) - 390
    assert loaded.report.gaps["SPY"].complete
    everything = load_bars(path, rth_only=False)
    assert len(everything.only()) == len(rows)
    assert everything.report.outside_rth_dropped == 0
    assert everything.report.gaps["SPY"].complete  # gaps are judged on regular hours


def test_half_day_post_close_bars_are_dropped(tmp_path: Path) -> None:
    # 2024-07-03 closes at 13:00; the vendor still sends bars to 16:00.
    loaded = load_bars(
        _csv(tmp_path, HEADER + "\n".join(_session_rows("2024-07-03", "09:30", "16:00")))
    )
    bars = loaded.only()
    assert len(bars) == 210
    assert _ny(bars[-1])[1] == time(12, 59)


def test_gap_report_names_missing_minutes_and_sessions(tmp_path: Path) -> None:
    monday = _session_rows("2024-06-03", "09:30", "15:59")
    wednesday = _session_rows("2024-06-05", "09:30", "15:59")
    del monday[100:103]  # 11:10-11:12 missing
    loaded = load_bars(_csv(tmp_path, HEADER + "\n".join(monday + wednesday)))
    gaps = loaded.report.gaps["SPY"]
    assert gaps.sessions == 3
    assert gaps.missing_sessions == (date(2024, 6, 4),)
    missing = gaps.missing_bars[date(2024, 6, 3)]
    assert [t.astimezone(NEW_YORK).time() for t in missing] == [
        time(11, 10),
        time(11, 11),
        time(11, 12),
    ]
    assert "1 session(s) missing (2024-06-04); 3 bar(s) missing in 1 session(s)" in gaps.summary()


def test_five_minute_bars_and_weekend_rows(tmp_path: Path) -> None:
    rows = _session_rows("2024-06-03", "09:30", "15:55")[::5] + _session_rows(
        "2024-06-08", "10:00", "10:10"
    )
    loaded = load_bars(_csv(tmp_path, HEADER + "\n".join(rows), name="QQQ_5m.csv"))
    assert loaded.report.minutes == 5
    assert [b.minutes for b in loaded.bars["QQQ"]] == [5] * 78
    assert loaded.report.outside_rth_dropped == 11  # Saturday
    assert loaded.report.gaps["QQQ"].complete


def test_multi_symbol_file_and_symbol_selection(tmp_path: Path) -> None:
    text = "ticker,window_start,open,high,low,close,volume\n" + "\n".join(
        f"{sym},{int(datetime(2024, 6, 3, 13, 30 + i, tzinfo=UTC).timestamp() * 1e9)},10,11,9,10,1"
        for sym in ("SPY", "QQQ") for i in range(3)
    )  # fmt: skip
    path = _csv(tmp_path, text, name="flat.csv")
    loaded = load_bars(path)
    assert loaded.symbols == ["QQQ", "SPY"]
    assert [len(v) for v in loaded.bars.values()] == [3, 3]
    with pytest.raises(DataError, match="holds 2 symbols"):
        loaded.only()
    assert list(load_bars(path, symbol="QQQ").bars) == ["QQQ"]
    with pytest.raises(DataError, match="no rows for symbol IWM"):
        load_bars(path, symbol="IWM")


def test_symbol_from_argument_or_file_name(tmp_path: Path) -> None:
    text = HEADER + "\n".join(ROWS_UTC)
    assert list(load_bars(_csv(tmp_path, text, name="qqq.csv")).bars) == ["QQQ"]
    assert list(load_bars(_csv(tmp_path, text, name="bars.csv"), symbol="IWM").bars) == ["IWM"]
    with pytest.raises(DataError, match="cannot infer a symbol"):
        load_bars(_csv(tmp_path, text, name="my data!.csv"))


def test_no_volume_column_is_zero_volume_with_a_warning(tmp_path: Path) -> None:
    text = "timestamp,open,high,low,close\n" + "\n".join(r.rsplit(",", 1)[0] for r in ROWS_UTC)
    loaded = load_bars(_csv(tmp_path, text))
    assert [b.volume for b in loaded.only()] == [0, 0, 0]
    assert any("no volume column" in w for w in loaded.warnings)


def test_daily_bars_keep_sessions_only(tmp_path: Path) -> None:
    rows = [f"2024-06-0{d} 00:00:00-04:00,10,11,9,10,1" for d in (3, 4, 5, 8)]  # 8th: Saturday
    loaded = load_bars(_csv(tmp_path, "Date,Open,High,Low,Close,Volume\n" + "\n".join(rows)))
    assert loaded.report.minutes == 1440
    assert [_ny(b)[0].day for b in loaded.only()] == [3, 4, 5]
    assert loaded.report.gaps["SPY"].complete


def test_blank_lines_keep_row_numbers(tmp_path: Path) -> None:
    text = (
        HEADER
        + ROWS_UTC[0]
        + "\n\n"
        + ROWS_UTC[1]
        + "\n"
        + "2024-06-03 13:32:00+00:00,1,0.5,2,1,1\n\n"
    )
    with pytest.raises(DataError, match=r"row 4 \(line 5\), column 'high': high 0.5 is below low"):
        load_bars(_csv(tmp_path, text))


def test_write_bars_round_trip_keeps_minutes_for_a_single_bar(tmp_path: Path) -> None:
    one = _reference()[:1]
    for name in ("one.csv", "one.parquet", "one.csv.gz"):
        write_bars(one, tmp_path / name)
        assert load_bars(tmp_path / name).bars == {"SPY": one}
    with pytest.raises(DataError, match="unknown file type"):
        write_bars(one, tmp_path / "one.txt")
    with pytest.raises(DataError, match="no such directory"):
        write_bars(one, tmp_path / "absent" / "one.csv")


def test_a_stamp_split_into_date_and_time_columns_is_read_as_one(tmp_path: Path) -> None:
    """NinjaTrader, Sierra Chart and Kibot exports: Date and Time apart, local wall-clock time."""
    rows = [f"06/03/2024,09:3{i},{r.split(',', 1)[1]}" for i, r in enumerate(ROWS_UTC)]
    path = _csv(tmp_path, "Date,Time,Open,High,Low,Close,Volume\n" + "\n".join(rows) + "\n")
    loaded = load_bars(path, tz="America/New_York")
    assert loaded.only() == _reference()
    assert loaded.report.time_column == "date+time"
    assert not any("disagrees" in w or "cross-checked" in w for w in loaded.warnings)
    with pytest.raises(DataError, match=r"column 'date\+time' holds naive timestamps"):
        load_bars(path)


def test_date_and_time_columns_beside_a_full_timestamp_are_left_alone(tmp_path: Path) -> None:
    rows = [f"{r.split(',', 1)[0]},06/03/2024,09:3{i},{r.split(',', 1)[1]}" for i, r in
            enumerate(ROWS_UTC)]  # fmt: skip
    text = "timestamp,date,time,open,high,low,close,volume\n" + "\n".join(rows) + "\n"
    loaded = load_bars(_csv(tmp_path, text))
    assert loaded.only() == _reference() and loaded.report.time_column == "timestamp"
