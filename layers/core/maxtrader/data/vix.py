"""VIX files: daily closes keyed by New York date, and intraday readings.

    load_vix_daily(path) -> dict[date, float]          # sorted by date
    vix_closes_from_bars(bars) -> dict[date, float]    # Polygon "I:VIX" daily aggregates
    load_vix_intraday(path, *, tz=None) -> list[VixReading]   # 1- or 5-minute index bars
    vix_file_kind(path) -> "daily" | "intraday"        # which of the two loaders reads it

``load_vix_daily`` reads CBOE's ``VIX_History.csv`` layout (``DATE`` as MM/DD/YYYY, then
``OPEN, HIGH, LOW, CLOSE``; the close is the 16:15 ET value). A bar file written by
``maxtrader data fetch --symbol I:VIX --timespan day`` is read too (by its timestamp column).

Only the close is used. CBOE's legacy rows whose open/close lie outside [low, high] (1992-2006)
are kept, since the close itself is fine; they are counted in a logged warning. A row whose date
or close cannot be read, or a date listed twice with different closes, is a ``DataError``
naming the file, the row and the column.

``load_vix_intraday`` reads 1- or 5-minute VIX bars as vendors and charting tools export them
(CSV or parquet; any layout ``load_bars`` reads: Polygon ``I:VIX`` aggregates, TradingView,
Yahoo ``^VIX``...). Index bars carry no volume, and none is needed. Each bar, stamped at its
start, becomes one reading: its close, observed at the bar's END (start + length), so that a
replay can never use a value before it existed. Stricter than ``load_bars``: a NaN, infinite or
non-positive value, a timestamp that repeats or goes backwards, a bar off its 5-minute grid, a
length other than 1 or 5 minutes, naive times without ``tz`` (``--tz``), or more than one series
in the file is a ``DataError`` naming the file, the row and the column (nothing is dropped or
re-sorted silently: a regime replay must see exactly the readings the file holds).
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.errors import DataError
from maxtrader.domain.models import Bar
from maxtrader.domain.ports import VixReading

if TYPE_CHECKING:
    from maxtrader.data.frames import Table

logger = logging.getLogger(__name__)

_DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d")


VixFileKind = Literal["daily", "intraday"]
INTRADAY_MINUTES = (1, 5)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NS_PER_MINUTE = 60 * 1_000_000_000
_NS_PER_DAY = 1440 * _NS_PER_MINUTE


def load_vix_daily(path: str | Path) -> dict[date, float]:
    source = _existing(path)
    try:
        with source.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{source}: cannot be read as CSV: {exc}") from exc
    if not rows:
        raise DataError(f"{source}: empty file")
    header = [h.strip().lower() for h in rows[0]]
    if "date" not in header:
        return _from_bar_file(source)
    if "close" not in header:
        raise DataError(f"{source}: no 'CLOSE' column (columns are {', '.join(rows[0])})")
    at = {
        name: header.index(name)
        for name in ("date", "open", "high", "low", "close")
        if name in header
    }
    closes: dict[date, float] = {}
    inconsistent = 0
    for number, row in enumerate(rows[1:], start=1):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise DataError(
                f"{source}: row {number} (line {number + 1}) has {len(row)} fields, "
                f"the header {len(header)}"
            )
        day = _date(source, number, row[at["date"]])
        close = _price(source, number, "CLOSE", row[at["close"]])
        if day in closes and closes[day] != close:
            raise DataError(
                f"{source}: row {number} (line {number + 1}), column 'DATE': {day} appears "
                f"twice with different closes ({closes[day]} and {close})"
            )
        closes[day] = close
        if {"open", "high", "low"} <= at.keys():
            o, h, lo = (
                _price(source, number, k.upper(), row[at[k]]) for k in ("open", "high", "low")
            )
            inconsistent += not (lo <= o <= h and lo <= close <= h)
    if not closes:
        raise DataError(f"{source}: no data rows")
    if inconsistent:
        logger.warning(
            "%s: %d row(s) have open/close outside [low, high] (legacy CBOE data); "
            "their closes are used",
            source,
            inconsistent,
        )
    return dict(sorted(closes.items()))


def vix_closes_from_bars(bars: Iterable[Bar]) -> dict[date, float]:
    """Daily index aggregates (stamped at the day's start) -> {New York date: close}."""
    closes: dict[date, float] = {}
    for bar in bars:
        closes[bar.ts.astimezone(NEW_YORK).date()] = bar.close
    return dict(sorted(closes.items()))


def _from_bar_file(source: Path) -> dict[date, float]:
    from maxtrader.data.bars import load_bars  # noqa: PLC0415 - pandas only for this layout

    try:
        loaded = load_bars(source, rth_only=False, minutes=1440, index=True)
    except DataError as exc:
        raise DataError(
            f"{source}: neither CBOE VIX_History layout (DATE, CLOSE) nor bars: {exc}"
        ) from exc
    return vix_closes_from_bars(loaded.only())


def _date(source: Path, number: int, text: str) -> date:
    value = text.strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            continue
    raise DataError(
        f"{source}: row {number} (line {number + 1}), column 'DATE': {value!r} is not "
        "a date (MM/DD/YYYY)"
    )


def _price(source: Path, number: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise DataError(
            f"{source}: row {number} (line {number + 1}), column '{column}': {text.strip()!r} "
            "is not a positive number"
        )
    return value


# --- intraday ------------------------------------------------------------------------------------


def vix_file_kind(path: str | Path) -> VixFileKind:
    """Daily closes or intraday bars? CBOE's VIX_History layout (a DATE column of plain dates) is
    daily; a bar file is intraday when some day holds more than one row (one row a day: daily)."""
    source = _existing(path)
    if _is_cboe_layout(source):
        return "daily"
    # The zone of naive times cannot change how many rows share a day: read them as UTC.
    table = _read_index_table(source, tz="UTC")
    days = table.frame["ts"].to_numpy() // _NS_PER_DAY
    return "intraday" if len(set(days.tolist())) < len(days) else "daily"


def load_vix_intraday(path: str | Path, *, tz: str | None = None) -> list[VixReading]:
    """1- or 5-minute VIX bars -> one reading per bar (close, observed at the bar's end)."""
    source = _existing(path)
    if _is_cboe_layout(source):
        raise DataError(f"{source}: a daily VIX history (DATE, CLOSE): use load_vix_daily")
    table = _read_index_table(source, tz=tz)
    for warning in table.warnings:
        logger.warning("%s", warning)
    frame = table.frame
    ts = frame["ts"].to_numpy()
    _one_series(table)
    _strictly_increasing(table, ts)
    minutes = _bar_minutes(table, ts)
    _on_the_grid(table, ts, minutes)
    for column in ("close", "open", "high", "low"):
        _positive_finite(table, column)
    _count_inconsistent(table)
    # Whole minutes (read_table checks it), so whole seconds: fromtimestamp is exact and ~2x
    # faster than epoch + timedelta over a year of minutes.
    ends = ((ts + minutes * _NS_PER_MINUTE) // 1_000_000_000).tolist()
    return [
        VixReading(value=close, observed_at=datetime.fromtimestamp(end, UTC))
        for end, close in zip(ends, frame["close"].tolist(), strict=True)
    ]


def _existing(path: str | Path) -> Path:
    source = Path(path)
    if not source.is_file():
        raise DataError(f"{source}: no such file")
    return source


def _csv_head(source: Path) -> tuple[list[str], list[str]] | None:
    """The header and first data row of a CSV file (None for parquet or an unreadable file)."""
    from maxtrader.data.frames import PARQUET_SUFFIXES  # noqa: PLC0415 - pandas: intraday only

    if source.suffix.lower() in PARQUET_SUFFIXES:
        return None
    try:
        with source.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            first = next((row for row in reader if any(c.strip() for c in row)), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return None  # the bar reader names the problem
    return [h.strip().lower() for h in header], first


def _is_cboe_layout(source: Path) -> bool:
    head = _csv_head(source)
    if head is None or "date" not in head[0] or "close" not in head[0] or "time" in head[0]:
        return False  # (a Time column beside Date: intraday bars with a split stamp)
    header, first = head
    if len(first) != len(header):
        return True  # a daily file with a bad row: load_vix_daily names it
    value = first[header.index("date")].strip()
    for fmt in _DATE_FORMATS:
        try:
            datetime.strptime(value, fmt)  # noqa: DTZ007 - only: is it a plain date?
        except ValueError:
            continue
        return True
    return False


def _read_index_table(source: Path, *, tz: str | None) -> Table:
    from maxtrader.data.frames import SYMBOL_COLUMNS, read_table  # noqa: PLC0415 - pandas

    # Without a symbol column the file name would have to be one ("^VIX_5m.csv" is not): the
    # series is the VIX whatever the file is called.
    columns = _column_names(source)
    named = columns is not None and any(c in SYMBOL_COLUMNS for c in columns)
    return read_table(source, tz=tz, symbol=None if named else "VIX", index=True)


def _column_names(source: Path) -> list[str] | None:
    head = _csv_head(source)
    if head is not None:
        return head[0]
    try:
        import pyarrow.parquet as pq  # noqa: PLC0415 - parquet files only

        return [str(n).strip().lower() for n in pq.read_schema(source).names]
    except (ImportError, OSError, ValueError):  # unreadable: read_table says why
        return None


def _one_series(table: Table) -> None:
    symbols = sorted(set(table.frame["symbol"].tolist()))
    if len(symbols) != 1:
        raise DataError(
            f"{table.path}: holds {len(symbols)} series ({', '.join(symbols[:5])}): "
            "a VIX file holds one"
        )


def _strictly_increasing(table: Table, ts: object) -> None:
    import numpy as np  # noqa: PLC0415

    stamps = np.asarray(ts)
    bad = np.flatnonzero(stamps[1:] <= stamps[:-1])
    if not len(bad):
        return
    i = int(bad[0]) + 1
    rows = table.frame["row"].to_numpy()
    this, before = _iso(int(stamps[i])), _iso(int(stamps[i - 1]))
    problem = (
        f"timestamp {this} repeats row {int(rows[i - 1])}"
        if stamps[i] == stamps[i - 1]
        else f"timestamp {this} is before row {int(rows[i - 1])}'s {before}: rows must be "
        "in time order"
    )
    raise DataError(f"{table.where(int(rows[i]), table.time_column)}: {problem}")


def _bar_minutes(table: Table, ts: object) -> int:
    import numpy as np  # noqa: PLC0415

    frame = table.frame
    if "minutes" in frame.columns:  # written by write_bars
        stated = set(frame["minutes"].tolist())
        if len(stated) != 1:
            raise DataError(f"{table.path}: column 'minutes' holds several bar lengths {stated}")
        minutes = float(stated.pop())
    else:
        steps = np.diff(np.asarray(ts)) // _NS_PER_MINUTE
        steps = steps[steps < 1440]
        if not len(steps):
            raise DataError(
                f"{table.path}: one value per day, not 1- or 5-minute bars: "
                "a daily file (load_vix_daily)"
            )
        minutes = float(np.bincount(steps.astype(np.int64)).argmax())
    if minutes not in INTRADAY_MINUTES:
        raise DataError(
            f"{table.path}: {minutes:g}-minute bars; intraday VIX bars must be 1- or 5-minute"
        )
    return int(minutes)


def _on_the_grid(table: Table, ts: object, minutes: int) -> None:
    import numpy as np  # noqa: PLC0415

    stamps = np.asarray(ts)
    off = np.flatnonzero(stamps % (minutes * _NS_PER_MINUTE) != 0)
    if len(off):
        i = int(off[0])
        raise DataError(
            f"{table.where(int(table.frame['row'].iloc[i]), table.time_column)}: "
            f"timestamp {_iso(int(stamps[i]))} is not on the {minutes}-minute grid of the file"
        )


def _positive_finite(table: Table, column: str) -> None:
    import numpy as np  # noqa: PLC0415

    values = table.frame[column].to_numpy()
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(~np.isfinite(values) | (values <= 0))
    if len(bad):
        i = int(bad[0])
        raise DataError(
            f"{table.where(int(table.frame['row'].iloc[i]), column)}: "
            f"{float(values[i])!r} is not a positive number"
        )


def _count_inconsistent(table: Table) -> None:
    """Vendors' index bars sometimes put open/close a tick outside [low, high]: only the close
    is used, so they are kept and counted (as CBOE's legacy daily rows are)."""
    f = table.frame
    o, h, lo, c = (f[k].to_numpy() for k in ("open", "high", "low", "close"))
    inconsistent = int(((h < lo) | (o < lo) | (o > h) | (c < lo) | (c > h)).sum())
    if inconsistent:
        logger.warning(
            "%s: %d bar(s) have open/close outside [low, high]; their closes are used",
            table.path,
            inconsistent,
        )


def _iso(ns: int) -> str:
    return (_EPOCH + timedelta(microseconds=ns // 1000)).isoformat()
