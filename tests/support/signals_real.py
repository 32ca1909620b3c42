"""One real SPY session with signals (2024-07-02: vwap_reversion shorts at 11:38 and 13:11 New
York) and the sessions before it, from ../shared/data, loaded once per process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.models import Bar
from maxtrader.trading.regime import DailyVix
from tests.support.signals_world import CALENDAR
from tests.unit.backtest.real import real_spy

SIGNAL_DAY = date(2024, 7, 2)


@dataclass(frozen=True)
class RealDay:
    day: date
    bars: list[Bar]  # the session's bars
    history: list[Bar]  # the three weeks before it
    vix: float | None  # the prior daily close (the regime the backtester uses)

    @property
    def all_bars(self) -> list[Bar]:
        return [*self.history, *self.bars]


def _with_vwap(bar: Bar) -> Bar:
    """The bar with a VWAP (the vendor's push always has one; the shared file has none)."""
    typical = round((bar.high + bar.low + bar.close) / 3, 4)
    return bar.model_copy(update={"vwap": min(max(typical, bar.low), bar.high)})


@lru_cache(maxsize=2)
def real_day(day: date = SIGNAL_DAY) -> RealDay:
    bars, vix = real_spy(day)
    start = day - timedelta(days=21)
    mine = [_with_vwap(b) for b in bars if start <= b.ts.astimezone(NEW_YORK).date() <= day]
    today = [b for b in mine if b.ts.astimezone(NEW_YORK).date() == day]
    history = [b for b in mine if b.ts.astimezone(NEW_YORK).date() < day]
    return RealDay(day, today, history, DailyVix(vix, CALENDAR).prior_close(day))
