"""Builders for the session-store and alert tests: minute bars, strategy states, regime states."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from maxtrader.domain.models import Bar, Regime
from maxtrader.domain.ports import StoredStrategyState
from maxtrader.domain.regime import RegimeState

OPEN = datetime(2024, 6, 3, 13, 30, tzinfo=UTC)  # 09:30 New York, a Monday session
DAY = date(2024, 6, 3)
EXPIRES = OPEN + timedelta(days=3)


def minute(i: int) -> datetime:
    return OPEN + timedelta(minutes=i)


def minute_bar(i: int, symbol: str = "SPY", *, close: float | None = None) -> Bar:
    """The bar starting ``i`` minutes after the open; ``close`` varies a bar's content."""
    mid = 500.0 + i * 0.05
    last = mid if close is None else close
    return Bar(
        symbol=symbol,
        ts=minute(i),
        open=mid,
        high=max(mid, last) + 0.25,
        low=min(mid, last) - 0.25,
        close=last,
        volume=1000.0 + i,
        vwap=mid + 0.01,
    )


def strategy_state(
    i: int, payload: str = "{}", *, strategy: str = "vwap_reversion", symbol: str = "SPY"
) -> StoredStrategyState:
    return StoredStrategyState(
        strategy=strategy, symbol=symbol, last_bar_ts=minute(i), payload=payload
    )


def regime_state(day: date = DAY, *, vix: float | None = 17.25) -> RegimeState:
    return RegimeState(
        day=day,
        regime=Regime.NORMAL_VOL,
        anchor=Regime.NORMAL_VOL,
        vix=vix,
        observed_at=datetime.combine(day, OPEN.timetz()),
        reason="VIX 17.25",
    )
