"""load_bars against every shape in ../shared/data (real vendor files, see its README)."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date, time, timedelta
from functools import lru_cache
from pathlib import Path

import pytest

from maxtrader.data import LoadedBars, load_bars
from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.errors import DataError
from maxtrader.domain.models import Bar

EARLY_CLOSES_2024 = {date(2024, 7, 3), date(2024, 11, 29), date(2024, 12, 24)}


@lru_cache(maxsize=16)
def _load(path: Path, tz: str | None = None, rth_only: bool = True) -> LoadedBars:
    return load_bars(path, tz=tz, rth_only=rth_only)


def _per_day(bars: list[Bar]) -> Counter[date]:
    return Counter(b.ts.astimezone(NEW_YORK).date() for b in bars)


def _assert_clean_series(bars: list[Bar]) -> None:
    assert all(a.ts < b.ts for a, b in itertools.pairwise(bars)), "sorted, unique"
    assert all(b.ts.utcoffset() == timedelta(0) for b in bars), "aware UTC"


def test_admf_parquet_keeps_regular_hours_with_early_closes(shared_data: Path) -> None:
    loaded = _load(shared_data / "dawsh2_ADMF-PC" / "SPY_1m.parquet")
    bars = loaded.bars["SPY"]
    _assert_clean_series(bars)
    assert loaded.report.minutes == 1
    per_day = _per_day(bars)
    assert len(per_day) == 256
    for day, count in per_day.items():
        expected = 354 if day == date(2025, 4, 2) else 210 if day in EARLY_CLOSES_2024 else 390
        assert count == expected, day
    local_times = {b.ts.astimezone(NEW_YORK).time() for b in bars}
    assert min(local_times) == time(9, 30)
    assert max(local_times) == time(15, 59)  # the 16:00 auction bar and extended hours are gone
    half_day = [b for b in bars if b.ts.astimezone(NEW_YORK).date() == date(2024, 7, 3)]
    assert half_day[-1].ts.astimezone(NEW_YORK).time() == time(12, 59)
    assert loaded.report.outside_rth_dropped == 102_236 - len(bars)


def test_admf_parquet_gap_report_names_the_short_last_day(shared_data: Path) -> None:
    gaps = _load(shared_data / "dawsh2_ADMF-PC" / "SPY_1m.parquet").report.gaps["SPY"]
    assert gaps.sessions == 256
    assert gaps.missing_sessions == ()
    assert list(gaps.missing_bars) == [date(2025, 4, 2)]
    missing = gaps.missing_bars[date(2025, 4, 2)]
    assert len(missing) == 36
    assert missing[0].astimezone(NEW_YORK).time() == time(15, 24)


@pytest.mark.parametrize(
    ("name", "minutes", "last_day_bars"), [("SPY_5m.csv", 5, 71), ("SPY_15m.csv", 15, 24)]
)
def test_admf_csv_utc_iso(shared_data: Path, name: str, minutes: int, last_day_bars: int) -> None:
    loaded = _load(shared_data / "dawsh2_ADMF-PC" / name)
    bars = loaded.only()
    _assert_clean_series(bars)
    assert loaded.report.minutes == minutes
    assert all(b.minutes == minutes for b in bars)
    per_day = _per_day(bars)
    assert per_day[date(2025, 4, 2)] == last_day_bars
    assert per_day[date(2024, 7, 3)] == 210 // minutes
    assert loaded.report.gaps["SPY"].missing_bar_count == 390 // minutes - last_day_bars


def test_leoxu_crlf_et_offsets_with_extended_hours(shared_data: Path) -> None:
    path = shared_data / "leoxu2023_tradingfsd_gpt" / "SPY_1min.csv"
    rth = _load(path)
    everything = _load(path, rth_only=False)
    assert len(everything.only()) == 49_720
    bars = rth.only()
    _assert_clean_series(bars)
    assert len(bars) == 24_570
    assert set(_per_day(bars).values()) == {390}
    assert rth.report.gaps["SPY"].complete
    assert all(b.vwap is not None for b in bars)
    # The same minute as the ADMF-PC file (README: identical values on the overlap).
    first = next(b for b in bars if b.ts.astimezone(NEW_YORK).date() == date(2024, 3, 26))
    admf = _load(shared_data / "dawsh2_ADMF-PC" / "SPY_1m.parquet").bars["SPY"][0]
    assert (first.ts, first.open, first.close) == (admf.ts, admf.open, admf.close)


def test_chemcoder_naive_pacific_with_duplicated_days(shared_data: Path) -> None:
    loaded = _load(shared_data / "chemcoder-2020_stratback" / "SPY_5m.csv", tz="US/Pacific")
    bars = loaded.only()
    _assert_clean_series(bars)
    assert loaded.report.time_column == "date"
    assert loaded.report.duplicates_dropped == 579
    assert loaded.report.resorted
    assert any("579 duplicate" in w for w in loaded.warnings)
    assert bars[0].ts.astimezone(NEW_YORK).time() == time(9, 30)  # 06:30 Pacific
    gaps = loaded.report.gaps["SPY"]
    assert gaps.missing_sessions == (date(2023, 2, 10),)
    assert _per_day(bars)[date(2022, 11, 23)] == 48


def test_chemcoder_epoch_column_agrees_with_local_column(shared_data: Path) -> None:
    path = shared_data / "chemcoder-2020_stratback" / "QQQ_5m.csv"
    by_epoch = _load(path)  # no tz: the unambiguous epoch-millisecond column is used
    by_local = _load(path, tz="US/Pacific")
    assert by_epoch.report.time_column == "datetime"
    assert by_epoch.only() == by_local.only()
    assert not any("disagrees" in w for w in by_local.warnings)


@pytest.mark.parametrize("sym", ["AAPL", "MSFT", "NVDA", "TSLA", "ADBE", "BA", "ENPH"])
def test_chemcoder_stocks_load(shared_data: Path, sym: str) -> None:
    loaded = _load(shared_data / "chemcoder-2020_stratback" / f"{sym}_5m.csv", tz="US/Pacific")
    bars = loaded.bars[sym]
    _assert_clean_series(bars)
    assert bars[0].ts.astimezone(NEW_YORK).date() == date(2022, 2, 2)
    assert bars[0].ts.astimezone(NEW_YORK).time() == time(9, 30)
    assert loaded.report.duplicates_dropped > 0
    assert max(_per_day(bars).values()) == 78


def test_aapl_spreadsheet_dates_need_the_local_column(shared_data: Path) -> None:
    path = shared_data / "chemcoder-2020_stratback" / "AAPL_5m.csv"
    with pytest.raises(DataError, match=r"AAPL_5m\.csv: row 1 \(line 2\), column 'datetime'"):
        load_bars(path)  # its epoch column was mangled to 1.64E+12 by a spreadsheet
    bars = _load(path, tz="US/Pacific").only()
    assert bars[0].open == 174.75


@pytest.mark.parametrize(
    ("sym", "rows", "first"), [("SPY", 8039, date(1993, 1, 29)), ("QQQ", 6503, date(1999, 3, 10))]
)
def test_trey_daily_adjusted_prices(shared_data: Path, sym: str, rows: int, first: date) -> None:
    loaded = _load(shared_data / "Trey722_Leveraged_ETFs" / f"{sym}_daily.csv")
    bars = loaded.bars[sym]
    assert loaded.report.minutes == 1440
    assert len(bars) == rows
    assert loaded.report.gaps[sym].complete
    assert any("float rounding" in w for w in loaded.warnings)
    assert bars[0].ts.astimezone(NEW_YORK).date() == first


def test_options_chain_is_not_a_bar_file(shared_data: Path) -> None:
    path = shared_data / "JRCon1_Options-Data-Retrieval" / "SPY_options_chain.csv"
    with pytest.raises(DataError, match=r"SPY_options_chain\.csv: no timestamp column"):
        load_bars(path)


def test_cboe_vix_history_is_not_an_intraday_bar_file(shared_data: Path) -> None:
    path = shared_data / "noodles-rice_vix_dashboard" / "VIX_History_to_2025-04-30.csv"
    with pytest.raises(DataError, match="column 'date' holds naive timestamps"):
        load_bars(path)
    # With a zone it parses, and then names CBOE's first legacy row with open above high.
    with pytest.raises(DataError, match=r"VIX_History_to_2025-04-30\.csv: row \d+ \(line \d+\)"):
        load_bars(path, tz="America/Chicago")
