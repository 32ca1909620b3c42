"""Writing bars to a file that ``load_bars`` reads back unchanged.

    write_bars(bars, path) -> int      # rows written; .csv (or .csv.gz) or .parquet by suffix

Columns: ``symbol, timestamp`` (ISO 8601 UTC, the bar's start), ``open, high, low, close,
volume, vwap`` (empty when unknown), ``minutes`` (bar length). The file is written beside its
destination and renamed into place, so a failure never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import os
import tempfile
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path
from typing import IO

from maxtrader.domain.errors import DataError
from maxtrader.domain.models import Bar

COLUMNS = ("symbol", "timestamp", "open", "high", "low", "close", "volume", "vwap", "minutes")


def write_bars(bars: Sequence[Bar], path: str | Path) -> int:
    target = Path(path)
    suffixes = "".join(target.suffixes[-2:]).lower()
    if target.suffix.lower() in (".parquet", ".pq"):
        writer = _write_parquet
    elif target.suffix.lower() == ".csv" or suffixes == ".csv.gz":
        writer = _write_csv
    else:
        raise DataError(f"{target}: unknown file type (use .csv, .csv.gz or .parquet)")
    if not target.parent.is_dir():
        raise DataError(f"{target.parent}: no such directory")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        writer(bars, tmp, gz=suffixes == ".csv.gz")
        tmp.replace(target)
    except OSError as exc:
        raise DataError(f"{target}: cannot write: {exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return len(bars)


def _write_csv(bars: Sequence[Bar], path: Path, *, gz: bool) -> None:
    fh: IO[str]
    with gzip.open(path, "wt", newline="") if gz else path.open("w", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(COLUMNS)
        for bar in bars:
            out.writerow(
                (
                    bar.symbol,
                    bar.ts.astimezone(UTC).isoformat(),
                    repr(bar.open),
                    repr(bar.high),
                    repr(bar.low),
                    repr(bar.close),
                    repr(bar.volume),
                    "" if bar.vwap is None else repr(bar.vwap),
                    bar.minutes,
                )
            )


def _write_parquet(bars: Sequence[Bar], path: Path, *, gz: bool) -> None:
    import pandas as pd  # noqa: PLC0415 - heavy; only for parquet output

    frame = pd.DataFrame(
        {
            "symbol": [b.symbol for b in bars],
            "timestamp": pd.to_datetime([b.ts for b in bars], utc=True),
            "open": [b.open for b in bars],
            "high": [b.high for b in bars],
            "low": [b.low for b in bars],
            "close": [b.close for b in bars],
            "volume": [b.volume for b in bars],
            "vwap": [b.vwap for b in bars],
            "minutes": [b.minutes for b in bars],
        }
    )
    try:
        frame.to_parquet(path, index=False)
    except ImportError as exc:
        raise DataError(f"{path}: writing parquet needs pyarrow ({exc})") from exc
