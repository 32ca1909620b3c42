"""Checks 9-12 and the price collar: what this one order risks and pays."""

from __future__ import annotations

from maxtrader.domain.models import CheckResult, Instrument
from maxtrader.domain.safety.checks.base import (
    CheckContext,
    failed,
    order_price,
    passed,
    verdict_of,
)

_UNBOUNDED = "max loss unknown: an equity entry needs a stop (fail closed)"


def position_size(ctx: CheckContext) -> CheckResult:
    lim = ctx.limits.max_position_pct * ctx.market.equity
    if ctx.max_loss is None:
        return failed("position_size", _UNBOUNDED, limit=lim)
    loss = ctx.max_loss
    return verdict_of("position_size", loss <= lim, f"max loss {loss:.2f} > {lim:.2f}", loss, lim)


def premium(ctx: CheckContext) -> CheckResult:
    intent = ctx.intent
    lim = ctx.limits.max_premium
    if intent.instrument is not Instrument.OPTION:
        return passed("premium", limit=lim)  # no premium on an equity order
    paid = order_price(intent) * intent.multiplier * intent.qty + intent.fees
    return verdict_of("premium", paid <= lim, f"premium {paid:.2f} > {lim:.2f}", paid, lim)


def total_exposure(ctx: CheckContext) -> CheckResult:
    lim = ctx.limits.max_exposure_pct * ctx.market.equity
    if ctx.max_loss is None:
        return failed("total_exposure", _UNBOUNDED, limit=lim)
    total = ctx.snapshot.portfolio.exposure + ctx.max_loss
    # Compared as the stores' guard compares it (open <= limit - this), so that a decision and its
    # reservation can never disagree by a rounding.
    ok = ctx.snapshot.portfolio.exposure <= lim - ctx.max_loss
    return verdict_of("total_exposure", ok, f"exposure {total:.2f} > {lim:.2f}", total, lim)


def reward_risk(ctx: CheckContext) -> CheckResult:
    lim = ctx.limits.min_rr
    rr = ctx.market.reward_risk
    if rr is None:
        return failed("reward_risk", "reward/risk unknown (fail closed)", limit=lim)
    return verdict_of("reward_risk", rr >= lim, f"reward/risk {rr:.3f} < {lim}", rr, lim)


def price_collar(ctx: CheckContext) -> CheckResult:
    lim = ctx.limits.price_collar_pct
    last = ctx.market.last_price
    if last is None:
        return failed("price_collar", "no last trade to collar against (fail closed)", limit=lim)
    off = abs(order_price(ctx.intent) - last) / last
    return verdict_of(
        "price_collar", off <= lim, f"price {off:.4%} away from the last trade", off, lim
    )
