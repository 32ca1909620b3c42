"""Session VWAP and its volume-weighted standard deviation, as O(1) running sums.

VWAP_t = sum(TP*V)/sum(V) with TP = (H+L+C)/3; sigma_t^2 = sum(V*(TP - VWAP_t)^2)/sum(V).
The sums are kept about a shift (the TP of the session's first bar with volume) so the variance
does not lose its digits to cancellation at index prices.

``RunningVwap`` is the mutable form a strategy updates bar by bar (one formula, here);
``VwapSums`` is the frozen form stored in a strategy's state, converted at the boundaries.
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


class RunningVwap:
    """Mutable VwapSums: what a strategy's per-bar loop updates in place."""

    __slots__ = ("n", "shift", "v", "x2v", "xv")

    def __init__(self, sums: VwapSums) -> None:
        self.n, self.shift, self.v, self.xv, self.x2v = (
            sums.n,
            sums.shift,
            sums.v,
            sums.xv,
            sums.x2v,
        )

    def add(self, bar: Bar) -> None:
        tp = (bar.high + bar.low + bar.close) / 3.0
        v = self.v
        if v <= 0:  # first bar with volume: the sums are still all zero
            self.shift = tp
        x = tp - self.shift
        vol = bar.volume
        self.n += 1
        self.v = v + vol
        self.xv += vol * x
        self.x2v += vol * x * x

    def stats(self) -> tuple[float, float] | None:
        """(VWAP, sigma), or None before any volume traded (one division for both)."""
        v = self.v
        if v <= 0:
            return None
        mean = self.xv / v
        var = self.x2v / v - mean * mean
        return self.shift + mean, math.sqrt(0.0 if var < 0.0 else var)  # max(var, 0.0)

    def vwap(self) -> float | None:
        """Session VWAP, or None before any volume traded."""
        stats = self.stats()
        return None if stats is None else stats[0]

    def sigma(self) -> float | None:
        """Volume-weighted standard deviation of TP about VWAP, or None before any volume."""
        stats = self.stats()
        return None if stats is None else stats[1]

    def sums(self) -> VwapSums:
        return construct(
            VwapSums,
            {"n": self.n, "shift": self.shift, "v": self.v, "xv": self.xv, "x2v": self.x2v},
        )


def add_bar(sums: VwapSums, bar: Bar) -> VwapSums:
    running = RunningVwap(sums)
    running.add(bar)
    return running.sums()


def vwap(sums: VwapSums) -> float | None:
    """Session VWAP, or None before any volume traded."""
    return RunningVwap(sums).vwap()


def sigma(sums: VwapSums) -> float | None:
    """Volume-weighted standard deviation of TP about VWAP, or None before any volume."""
    return RunningVwap(sums).sigma()
