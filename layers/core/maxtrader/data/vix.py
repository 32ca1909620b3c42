"""Daily VIX closes, keyed by New York date.

    load_vix_daily(path) -> dict[date, float]          # sorted by date
    vix_closes_from_bars(bars) -> dict[date, float]    # Polygon "I:VIX" daily aggregates

``load_vix_daily`` reads CBOE's ``VIX_History.csv`` layout (``DATE`` as MM/DD/YYYY, then
``OPEN, HIGH, LOW, CLOSE``; the close is the 16:15 ET value). A bar file written by
``maxtrader data fetch --symbol I:VIX --timespan day`` is read too (by its timestamp column).

Only the close is used. CBOE's legacy rows whose open/close lie outside [low, high] (1992-2006)
are kept, since the close itself is fine; they are counted in a logged warning. A row whose date
or close cannot be read, or a date listed twice with different closes, is a ``DataError``
naming the file, the row and the column.
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.errors import DataError
from maxtrader.domain.models import Bar

logger = logging.getLogger(__name__)

_DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d")


def load_vix_daily(path: str | Path) -> dict[date, float]:
    source = Path(path)
    if not source.is_file():
        raise DataError(f"{source}: no such file")
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
        loaded = load_bars(source, rth_only=False, minutes=1440)
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
