"""Market data: bar files, daily and intraday VIX, the vendor's push messages.

Importing this package is cheap: pandas is imported only when a bar file is loaded or written.

    load_bars(path, *, symbol=None, tz=None, calendar=None, rth_only=True, minutes=None,
              time_column=None, index=False) -> LoadedBars
        LoadedBars.bars: dict[symbol, list[Bar]]   sorted, de-duplicated, regular hours
        LoadedBars.report: LoadReport              rows, minutes, time_column, duplicates_dropped,
                                                   conflicts_dropped, outside_rth_dropped,
                                                   resorted, gaps: dict[symbol, GapReport]
        LoadedBars.warnings: tuple[str, ...]       also logged on "maxtrader.data.bars"
        LoadedBars.only() -> list[Bar]             the bars of a single-symbol file
    GapReport: sessions, missing_sessions, missing_bars {day: (bar starts...)}, summary()
    write_bars(bars, path) -> int                  CSV / CSV.gz / parquet that load_bars reads back
    load_vix_daily(path) -> dict[date, float]      CBOE VIX_History.csv (or a fetched I:VIX file)
    vix_closes_from_bars(bars) -> dict[date, float]
    load_vix_intraday(path, *, tz=None) -> list[VixReading]   1-/5-minute index bars (no volume)
    vix_file_kind(path) -> "daily" | "intraday"    which VIX loader reads a file
    MinuteAggregate / parse_minute_aggregates(payload) -> list[MinuteAggregate]; .to_bar()

Every failure is a ``maxtrader.domain.errors.DataError`` naming the file, the row and the column.
The vendor adapter is ``maxtrader.adapters.massive_market_data.MassiveMarketData``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from maxtrader.data.bars import LoadedBars, LoadReport, load_bars
    from maxtrader.data.export import write_bars
    from maxtrader.data.gaps import GapReport
    from maxtrader.data.push import MinuteAggregate, parse_minute_aggregates
    from maxtrader.data.vix import (
        load_vix_daily,
        load_vix_intraday,
        vix_closes_from_bars,
        vix_file_kind,
    )

__all__ = [
    "GapReport",
    "LoadReport",
    "LoadedBars",
    "MinuteAggregate",
    "load_bars",
    "load_vix_daily",
    "load_vix_intraday",
    "parse_minute_aggregates",
    "vix_closes_from_bars",
    "vix_file_kind",
    "write_bars",
]

_LAZY = {
    "load_bars": "maxtrader.data.bars",
    "LoadedBars": "maxtrader.data.bars",
    "LoadReport": "maxtrader.data.bars",
    "GapReport": "maxtrader.data.gaps",
    "MinuteAggregate": "maxtrader.data.push",
    "parse_minute_aggregates": "maxtrader.data.push",
    "load_vix_daily": "maxtrader.data.vix",
    "vix_closes_from_bars": "maxtrader.data.vix",
    "load_vix_intraday": "maxtrader.data.vix",
    "vix_file_kind": "maxtrader.data.vix",
    "write_bars": "maxtrader.data.export",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'maxtrader.data' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
