"""Reading a vendor bar file (CSV or parquet) into one normalized table.

Vendors disagree on nearly everything: column names and case, CRLF line endings, timestamps as
UTC ISO text, ISO text with New York offsets, naive local wall-clock time, or epoch
milliseconds/nanoseconds. This module resolves those differences and nothing else; checking the
values and building ``Bar`` objects is ``bars.py``'s job.

The normalized frame has the columns ``row`` (1-based data row of the file, for error messages),
``symbol``, ``ts`` (int64 nanoseconds since the epoch, UTC), ``open``, ``high``, ``low``,
``close``, ``volume`` and ``vwap`` (float64, NaN when the file has none).

Every problem is a ``DataError`` naming the file, the row and the column.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from maxtrader.domain.errors import DataError

TIME_COLUMNS = ("timestamp", "datetime", "date", "time", "ts", "t", "window_start", "date_time")
SYMBOL_COLUMNS = ("symbol", "ticker", "sym")
VALUE_COLUMNS: dict[str, tuple[str, ...]] = {
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c"),
    "volume": ("volume", "v", "vol"),
    "vwap": ("vwap", "vw"),
}
PARQUET_SUFFIXES = (".parquet", ".pq")
NS_PER_MINUTE = 60 * 1_000_000_000
_SYMBOL = re.compile(r"^[A-Za-z0-9:._\-]{1,64}$")
# An offset (or Z) right after a clock time: "…13:30:00+00:00", "…09:30-04:00", "…T13:30Z".
_HAS_OFFSET = r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})$"


@dataclass
class Table:
    """A file read and normalized; ``warnings`` are things the caller should be told."""

    path: Path
    frame: pd.DataFrame
    time_column: str
    time_kind: str  # "epoch", "aware" (text or datetime with an offset) or "naive"
    warnings: list[str] = field(default_factory=list)

    def where(self, row: int, column: str) -> str:
        """``row`` is the 1-based data row; in a CSV with a header that is line ``row + 1``."""
        line = "" if self.path.suffix.lower() in PARQUET_SUFFIXES else f" (line {row + 1})"
        return f"{self.path}: row {row}{line}, column '{column}'"


def symbol_from_name(path: Path) -> str:
    """``SPY_1m.parquet`` -> ``SPY``; ``qqq.csv.gz`` -> ``QQQ``."""
    stem = path.name.split(".")[0] if "_" not in path.name else path.name.split("_")[0]
    return stem.upper()


def read_table(
    path: Path,
    *,
    tz: str | None = None,
    time_column: str | None = None,
    symbol: str | None = None,
    index: bool = False,
) -> Table:
    """``index``: the file holds index values (VIX, SPX), computed, not traded, so it has no
    volume column by nature: volume is 0 without the warning an equity file gets."""
    raw = _read_raw(path)
    names = _column_map(path, raw)
    if time_column is None:
        _join_date_and_time(raw, names)
    time_col = _pick_time_column(path, raw, names, tz, time_column)
    table = Table(path=path, frame=pd.DataFrame(), time_column=time_col, time_kind="")
    ts, kind = _parse_times(table, raw[names[time_col]], time_col, tz)
    table.time_kind = kind
    if tz is not None and kind != "naive":
        table.warnings.append(f"tz={tz!r} ignored: column '{time_col}' is unambiguous ({kind})")
    _cross_check(table, raw, names, ts, tz)

    out = pd.DataFrame({"row": raw.index.to_numpy() + 1, "ts": ts})
    for column, aliases in VALUE_COLUMNS.items():
        found = next((a for a in aliases if a in names and a != time_col), None)
        if found is None:
            if column in ("open", "high", "low", "close"):
                raise DataError(f"{path}: no '{column}' column (columns are {', '.join(names)})")
            out[column] = 0.0 if column == "volume" else np.nan
            if column == "volume" and not index:
                table.warnings.append(f"{path}: no volume column; volume set to 0")
            continue
        out[column] = _numbers(table, raw[names[found]], found, optional=column == "vwap")
    if "minutes" in names:  # written by write_bars: the bar length, so one bar is enough
        out["minutes"] = _numbers(table, raw[names["minutes"]], "minutes", optional=False)
    out["symbol"] = _symbols(table, raw, names, symbol)
    if symbol is not None:
        out = out[out["symbol"] == symbol]
        if out.empty:
            raise DataError(f"{path}: no rows for symbol {symbol}")
    table.frame = out.reset_index(drop=True)
    return table


def _read_raw(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
        if path.suffix.lower() in PARQUET_SUFFIXES or magic == b"PAR1":
            frame = pd.read_parquet(path)
            if not isinstance(frame.index, pd.RangeIndex):  # e.g. a timestamp index: a column
                frame = frame.reset_index()
        else:
            # Blank lines are kept (and dropped below) so that row numbers match the file;
            # index_col=False and ParserWarning-as-error: a row with extra fields is an error,
            # never silently turned into an index or truncated.
            with warnings.catch_warnings():
                warnings.simplefilter("error", pd.errors.ParserWarning)
                frame = pd.read_csv(
                    path,
                    skip_blank_lines=False,
                    encoding="utf-8-sig",
                    low_memory=False,
                    index_col=False,
                )
    except (
        ValueError,
        OSError,
        UnicodeDecodeError,
        pd.errors.ParserError,
        pd.errors.ParserWarning,
    ) as exc:
        raise DataError(f"{path}: cannot be read as CSV or parquet: {exc}") from exc
    except ImportError as exc:  # pyarrow is needed for parquet
        raise DataError(f"{path}: reading parquet needs pyarrow ({exc})") from exc
    frame = frame.dropna(how="all")
    if frame.empty:
        raise DataError(f"{path}: no data rows")
    return frame


def _column_map(path: Path, raw: pd.DataFrame) -> dict[str, str]:
    """Lower-cased, stripped name -> the file's own column name."""
    names: dict[str, str] = {}
    for col in raw.columns:
        key = str(col).strip().lower()
        if key in names:
            raise DataError(f"{path}: column '{key}' appears twice")
        names[key] = col
    return names


def _classify(series: pd.Series) -> str:
    """epoch, aware, naive: how a timestamp column must be read."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return "aware" if getattr(series.dtype, "tz", None) is not None else "naive"
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return "epoch"
    text = series.dropna().astype(str).str.strip()
    if text.empty:
        return "naive"
    looks_numeric = re.fullmatch(r"[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?", text.iloc[0])
    if looks_numeric and pd.to_numeric(text, errors="coerce").notna().all():
        return "epoch"
    aware = text.str.contains(_HAS_OFFSET, regex=True)
    return "aware" if aware.iloc[0] else "naive"


# Charting tools and some vendors (NinjaTrader, Sierra Chart, Kibot) split the stamp in two:
# a Date column of plain dates and a Time column of clock times. They are read as one.
JOINED_TIME = "date+time"
_CLOCK = r"^\d{1,2}:\d{2}(?::\d{2})?$"


def _join_date_and_time(raw: pd.DataFrame, names: dict[str, str]) -> None:
    if "date" not in names or "time" not in names:
        return
    if any(c in names for c in TIME_COLUMNS if c not in ("date", "time")):
        return  # a full timestamp is there: the split columns are only a view of it
    dates, times = raw[names["date"]], raw[names["time"]]
    if not (pd.api.types.is_string_dtype(dates) and pd.api.types.is_string_dtype(times)):
        return
    date_text, time_text = dates.astype(str).str.strip(), times.astype(str).str.strip()
    present = dates.notna() & times.notna()
    if not present.any() or date_text[present].str.contains(":").any():
        return
    if not time_text[present].str.match(_CLOCK).iloc[0]:
        return  # (decided on the first row, as _classify does: a bad later row is named)
    raw[JOINED_TIME] = (date_text + " " + time_text).where(present)
    names[JOINED_TIME] = JOINED_TIME


def _pick_time_column(
    path: Path, raw: pd.DataFrame, names: dict[str, str], tz: str | None, wanted: str | None
) -> str:
    if wanted is not None:
        if wanted.lower() not in names:
            raise DataError(f"{path}: no column '{wanted}' (columns are {', '.join(names)})")
        return wanted.lower()
    if JOINED_TIME in names:
        return JOINED_TIME
    candidates = [c for c in TIME_COLUMNS if c in names]
    if not candidates:
        raise DataError(
            f"{path}: no timestamp column (expected one of {', '.join(TIME_COLUMNS)}; "
            f"columns are {', '.join(names)})"
        )
    kinds = {c: _classify(raw[names[c]]) for c in candidates}
    # With an explicit tz the caller has told us how to read local wall-clock times, so a naive
    # column is what they mean; otherwise only an unambiguous column (offset or epoch) will do.
    if tz is not None:
        naive = [c for c in candidates if kinds[c] == "naive"]
        return naive[0] if naive else candidates[0]
    unambiguous = [c for c in candidates if kinds[c] != "naive"]
    if not unambiguous:
        raise DataError(
            f"{path}: column '{candidates[0]}' holds naive timestamps (no UTC offset): "
            "pass the time zone they are in (tz='America/New_York', or --tz)"
        )
    return unambiguous[0]


def _parse_times(table: Table, series: pd.Series, column: str, tz: str | None) -> tuple[Any, str]:
    kind = _classify(series)
    missing = series.isna()
    if series.dtype == object:
        missing |= series.astype(str).str.strip() == ""
    _fail_first(table, series, column, missing, lambda i: "missing timestamp")
    if kind == "epoch":
        ns = _epoch_ns(table, series, column)
    else:
        ns = _text_times_ns(table, series, column, kind, tz)
    _fail_first(
        table,
        series,
        column,
        ns % NS_PER_MINUTE != 0,
        lambda i: (
            f"timestamp {_show(series.iloc[i])} is not on a whole minute (bars start on a minute)"
        ),
    )
    return ns, kind


def _fail_first(
    table: Table, series: pd.Series, column: str, bad: Any, describe: Callable[[int], str]
) -> None:
    """Raise for the first row flagged in ``bad``: file, row, column, then ``describe(i)``."""
    hits = np.flatnonzero(np.asarray(bad))
    if len(hits):
        i = int(hits[0])
        raise DataError(f"{table.where(_row(series, i + 1), column)}: {describe(i)}")


def _show(value: Any) -> str:
    """A cell for an error message: text quoted, numbers plain (no numpy reprs)."""
    return repr(value) if isinstance(value, str) else str(value)


def _row(series: pd.Series, position: int) -> int:
    """The file's 1-based data row of the ``position``-th (1-based) value of ``series``."""
    return int(series.index[position - 1]) + 1


def _epoch_ns(table: Table, series: pd.Series, column: str) -> Any:
    """Seconds, milliseconds, microseconds or nanoseconds, told apart by magnitude."""
    values = pd.to_numeric(series).to_numpy(dtype="float64")
    magnitude = float(np.median(np.abs(values)))
    scale = 1e9 if magnitude < 1e11 else 1e6 if magnitude < 1e14 else 1e3 if magnitude < 1e17 else 1
    scaled = np.round(values * scale)
    bad = ~np.isfinite(scaled) | (scaled < 0) | (scaled >= 2**62)
    _fail_first(
        table, series, column, bad, lambda i: f"epoch {_show(series.iloc[i])} is out of range"
    )
    return scaled.astype("int64")


def _text_times_ns(table: Table, series: pd.Series, column: str, kind: str, tz: str | None) -> Any:
    if pd.api.types.is_datetime64_any_dtype(series):
        parsed = series
    else:
        text = series.astype(str).str.strip()
        aware = text.str.contains(_HAS_OFFSET, regex=True)
        _fail_first(
            table,
            series,
            column,
            aware != (kind == "aware"),
            lambda i: (
                f"{text.iloc[i]!r} {'has' if aware.iloc[i] else 'has no'} UTC offset, "
                "unlike the rows before it"
            ),
        )
        utc = kind == "aware"
        parsed = pd.to_datetime(text, format="ISO8601", utc=utc, errors="coerce")
        failed = parsed.isna()
        if failed.any():
            parsed = _retry_formats(parsed, text, failed, utc=utc)
            _fail_first(
                table,
                series,
                column,
                parsed.isna(),
                lambda i: f"{text.iloc[i]!r} is not a date-time",
            )
    if kind == "naive":
        if tz is None:  # only reachable with an explicit time_column
            raise DataError(
                f"{table.path}: column '{column}' holds naive timestamps: pass tz (or --tz)"
            )
        try:
            local = parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        except (KeyError, ValueError) as exc:  # unknown zone name
            raise DataError(f"{table.path}: unknown time zone {tz!r}: {exc}") from exc
        _fail_first(
            table,
            series,
            column,
            local.isna(),
            lambda i: (
                f"{series.iloc[i]!r} is ambiguous or does not exist in {tz} "
                "(daylight-saving change)"
            ),
        )
        parsed = local
    return parsed.dt.tz_convert("UTC").dt.as_unit("ns").astype("int64").to_numpy()


# Spreadsheet-mangled rows ("2/2/2022 6:30") among ISO text: known layouts first (fast), then
# pandas' per-row guessing for whatever is left (slow, so only for those rows).
_FALLBACK_FORMATS = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y")


def _retry_formats(parsed: pd.Series, text: pd.Series, failed: pd.Series, *, utc: bool) -> Any:
    parsed = parsed.dt.as_unit("ns")
    for fmt in (*_FALLBACK_FORMATS, "mixed"):
        retry = pd.to_datetime(text[failed], format=fmt, utc=utc, errors="coerce")
        parsed = parsed.where(~failed, retry.dt.as_unit("ns"))
        failed = parsed.isna()
        if not failed.any():
            break
    return parsed


def _cross_check(
    table: Table, raw: pd.DataFrame, names: dict[str, str], used: Any, tz: str | None
) -> None:
    """Some files carry the time twice (local text and epoch); say when they disagree."""
    if table.time_column == JOINED_TIME:
        return  # its parts are the only other time columns
    for other in TIME_COLUMNS:
        if other not in names or other == table.time_column:
            continue
        try:
            ns, _ = _parse_times(table, raw[names[other]], other, tz)
        except DataError as exc:
            table.warnings.append(f"column '{other}' not cross-checked: {exc}")
            continue
        differ = np.flatnonzero(ns != used)
        if len(differ):
            table.warnings.append(
                f"{table.path}: column '{other}' disagrees with '{table.time_column}' (used) "
                f"on {len(differ)} row(s), first at row {int(raw.index[differ[0]]) + 1}"
            )


def _numbers(table: Table, series: pd.Series, column: str, *, optional: bool) -> Any:
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.astype("float64")
        bad = pd.Series(False, index=series.index)
    else:
        text = series.astype(str).str.strip()
        values = pd.to_numeric(text, errors="coerce")
        bad = values.isna() & series.notna() & (text != "")
    _fail_first(table, series, column, bad, lambda i: f"{_show(series.iloc[i])} is not a number")
    if not optional:
        _fail_first(table, series, column, values.isna(), lambda i: "missing value")
    return values.to_numpy(dtype="float64")


def _symbols(table: Table, raw: pd.DataFrame, names: dict[str, str], wanted: str | None) -> Any:
    column = next((c for c in SYMBOL_COLUMNS if c in names), None)
    if column is None:
        name = wanted if wanted is not None else symbol_from_name(table.path)
        if not _SYMBOL.match(name):
            raise DataError(
                f"{table.path}: cannot infer a symbol from the file name; pass symbol= (--symbol)"
            )
        return np.full(len(raw), name, dtype=object)
    series = raw[names[column]].astype(str).str.strip()
    bad = ~series.str.match(_SYMBOL.pattern)
    _fail_first(table, series, column, bad, lambda i: f"{series.iloc[i]!r} is not a symbol")
    return series.to_numpy(dtype=object)
