"""Supply and demand zones on higher-timeframe candles (Smart Money).

A base is 1..base_max_candles consecutive candles each with body <= base_max_body_pct of its
range (range > 0); a displacement is the candle right after the base with body >=
displacement_atr x ATR(atr_period) of the candles BEFORE it (a displacement does not inflate its
own yardstick), closing beyond the base in the direction of its body. Up -> demand zone
[base low, base high]; down -> supply zone. The zone exists from the displacement's close.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import AwareDatetime

from maxtrader.domain.models import DomainModel
from maxtrader.domain.strategies.aggregate import Candle
from maxtrader.domain.strategies.atr import atr

DEMAND = 1
SUPPLY = -1


class Zone(DomainModel):
    kind: int  # DEMAND (+1) or SUPPLY (-1)
    low: float
    high: float
    formed_at: AwareDatetime  # the displacement candle's close
    age: int = 0  # sessions started since the one it formed in

    @property
    def height(self) -> float:
        return self.high - self.low

    def touched_by(self, candle: Candle) -> bool:
        """Price reached the zone: down into a demand zone, up into a supply zone."""
        return candle.low <= self.high if self.kind == DEMAND else candle.high >= self.low


def detect_zone(
    candles: Sequence[Candle],
    *,
    atr_period: int,
    displacement_atr: float,
    base_max_candles: int,
    base_max_body_pct: float,
) -> Zone | None:
    """The zone created by the last candle of ``candles`` as a displacement, if it is one."""
    if len(candles) < 2:
        return None
    disp = candles[-1]
    prior = candles[:-1]
    yardstick = atr(prior, atr_period)
    if yardstick is None or yardstick <= 0 or disp.body < displacement_atr * yardstick:
        return None
    base: list[Candle] = []
    for c in reversed(prior):
        if len(base) == base_max_candles or c.range <= 0 or c.body > base_max_body_pct * c.range:
            break
        base.append(c)
    if not base:
        return None
    low = min(c.low for c in base)
    high = max(c.high for c in base)
    if high <= low:
        return None
    if disp.close > disp.open and disp.close > high:
        return Zone(kind=DEMAND, low=low, high=high, formed_at=disp.end)
    if disp.close < disp.open and disp.close < low:
        return Zone(kind=SUPPLY, low=low, high=high, formed_at=disp.end)
    return None
