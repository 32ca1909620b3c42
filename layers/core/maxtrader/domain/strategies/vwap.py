"""Session VWAP and its volume-weighted standard deviation, as O(1) running sums.

VWAP_t = sum(TP*V)/sum(V) with TP = (H+L+C)/3; sigma_t^2 = sum(V*(TP - VWAP_t)^2)/sum(V).
The sums are kept about a shift (the TP of the session's first bar with volume) so the variance
does not lose its digits to cancellation at index prices.
"""

from __future__ import annotations

import math

from maxtrader.domain.models import Bar, DomainModel
from maxtrader.domain.strategies.base import construct


class VwapSums(DomainModel):
    n: int = 0  # bars seen
    shift: float = 0.0
    v: float = 0.0
    xv: float = 0.0  # sum V*(TP - shift)
    x2v: float = 0.0  # sum V*(TP - shift)^2


def add_bar(sums: VwapSums, bar: Bar) -> VwapSums:
    tp = (bar.high + bar.low + bar.close) / 3.0
    shift = tp if sums.v <= 0 else sums.shift  # first bar with volume: sums still all zero
    x = tp - shift
    vol = bar.volume
    return construct(
        VwapSums,
        {
            "n": sums.n + 1,
            "shift": shift,
            "v": sums.v + vol,
            "xv": sums.xv + vol * x,
            "x2v": sums.x2v + vol * x * x,
        },
    )


def vwap(sums: VwapSums) -> float | None:
    """Session VWAP, or None before any volume traded."""
    if sums.v <= 0:
        return None
    return sums.shift + sums.xv / sums.v


def sigma(sums: VwapSums) -> float | None:
    """Volume-weighted standard deviation of TP about VWAP, or None before any volume."""
    if sums.v <= 0:
        return None
    mean = sums.xv / sums.v
    return math.sqrt(max(sums.x2v / sums.v - mean * mean, 0.0))
