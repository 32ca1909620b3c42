"""The shared SPY minutes and daily VIX up to a day, for the real-data engine tests."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pytest

from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.models import Bar


def real_spy(end: date) -> tuple[list[Bar], dict[date, float]]:
    """SPY bars through ``end`` and the daily VIX; skips the test without ../shared/data."""
    shared = Path(__file__).resolve().parents[4] / "shared" / "data"
    if not shared.is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    from maxtrader.data import load_bars
    from maxtrader.data.vix import load_vix_daily

    bars = load_bars(shared / "dawsh2_ADMF-PC" / "SPY_1m.parquet", symbol="SPY").bars["SPY"]
    cut_at = datetime.combine(end, time(23, 0), tzinfo=NEW_YORK)
    bars = [b for b in bars if b.ts < cut_at]
    vix = load_vix_daily(shared / "noodles-rice_vix_dashboard" / "VIX_History_to_2025-04-30.csv")
    return bars, vix
