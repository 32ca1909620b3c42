"""Market data: bar files, daily VIX, the vendor's push messages.

Importing this package is cheap: the loaders (pandas, pyarrow) are imported on first use.

    from maxtrader.data import load_bars, load_vix_daily
    loaded = load_bars("SPY_1m.parquet")          # LoadedBars: .bars["SPY"], .report, .warnings
    vix = load_vix_daily("VIX_History.csv")       # {date: close}
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from maxtrader.data.bars import LoadedBars, LoadReport, load_bars
    from maxtrader.data.gaps import GapReport
    from maxtrader.data.push import MinuteAggregate, parse_minute_aggregates
    from maxtrader.data.vix import load_vix_daily, vix_closes_from_bars

__all__ = [
    "GapReport",
    "LoadReport",
    "LoadedBars",
    "MinuteAggregate",
    "load_bars",
    "load_vix_daily",
    "parse_minute_aggregates",
    "vix_closes_from_bars",
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
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'maxtrader.data' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
