"""What a pre-trade check is: a named, pure function of one decision's context."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from maxtrader.config.safety import ExtraChecks, Limits
from maxtrader.domain.models import CheckResult, Instrument, OrderIntent, OrderSide
from maxtrader.domain.safety.checks.figures import Figures
from maxtrader.domain.safety.context import MarketContext
from maxtrader.domain.safety.state import Snapshot


def order_price(intent: OrderIntent) -> float:
    """The price the order pays per unit: its limit when it has one, else the estimate."""
    return intent.limit_price if intent.limit_price is not None else intent.est_price


def unbounded_reason(intent: OrderIntent) -> str:
    """Why an entry's loss is not bounded ("" when it is): only a long option (premium + fees)
    or an equity order with a stop on the losing side of its entry, at a non-zero distance."""
    if intent.instrument is Instrument.OPTION:
        return "an option sold to open has no bounded loss" if intent.side is OrderSide.SELL else ""
    price, stop = order_price(intent), intent.stop
    if stop is None:
        return "an equity entry needs a stop"
    if intent.side is OrderSide.BUY and not stop < price:
        return f"a buy's stop {stop} must be below its entry {price}"
    if intent.side is OrderSide.SELL and not stop > price:
        return f"a sell's stop {stop} must be above its entry {price}"
    return ""


def max_loss(intent: OrderIntent) -> float | None:
    """Spec: long option = premium paid + fees; equity = qty x |entry - stop| + fees.

    The intent's own ``max_loss`` is a floor (a caller may know more). None when the loss is
    unbounded (``unbounded_reason``): the sizing checks then fail closed.
    """
    if unbounded_reason(intent):
        return None
    price = order_price(intent)
    if intent.instrument is Instrument.OPTION or intent.stop is None:
        computed = price * intent.qty * intent.multiplier + intent.fees
    else:
        computed = intent.qty * abs(price - intent.stop) + intent.fees
    return max(computed, intent.max_loss)


@dataclass(frozen=True, slots=True)
class CheckContext:
    intent: OrderIntent
    market: MarketContext
    limits: Limits
    snapshot: Snapshot
    now: datetime
    max_loss: float | None
    figures: Figures  # equity, start-of-day equity, reward/risk as the engine resolved them

    @property
    def equity(self) -> float | None:
        return self.figures.equity.value

    @property
    def start_equity(self) -> float | None:
        return self.figures.start_equity.value


CheckFn = Callable[[CheckContext], CheckResult]


@dataclass(frozen=True, slots=True)
class Check:
    """A named check; ``switch`` names the ExtraChecks flag that can turn it off."""

    name: str
    fn: CheckFn
    switch: str | None = None

    def enabled(self, extra: ExtraChecks) -> bool:
        return self.switch is None or bool(getattr(extra, self.switch))


def passed(name: str, observed: float | None = None, limit: float | None = None) -> CheckResult:
    if observed is None and limit is None:
        return _plain_pass(name)
    return CheckResult(name=name, passed=True, observed=observed, limit=limit)


@lru_cache(maxsize=64)
def _plain_pass(name: str) -> CheckResult:
    # Results are frozen: one shared instance per check spares a validation per decision.
    return CheckResult(name=name, passed=True)


def failed(
    name: str, reason: str, observed: float | None = None, limit: float | None = None
) -> CheckResult:
    return CheckResult(name=name, passed=False, reason=reason, observed=observed, limit=limit)


def verdict_of(
    name: str, ok: bool, reason: str, observed: float | None, limit: float | None
) -> CheckResult:
    """Passed when ``ok``; ``reason`` is kept only for a failure."""
    return CheckResult(
        name=name, passed=ok, reason="" if ok else reason, observed=observed, limit=limit
    )
