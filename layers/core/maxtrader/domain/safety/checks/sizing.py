"""Checks 9-12, bounded risk, notional and the price collar: what this one order risks and pays."""

from __future__ import annotations

from maxtrader.domain.models import CheckResult, Instrument
from maxtrader.domain.safety.checks.base import (
    CheckContext,
    failed,
    order_price,
    passed,
    unbounded_reason,
    verdict_of,
)

UNBOUNDED_RISK = "unbounded_risk"


def _unbounded(ctx: CheckContext) -> str:
    return f"max loss unbounded: {unbounded_reason(ctx.intent)} (fail closed)"


def _no_equity(name: str, ctx: CheckContext) -> CheckResult:
    return failed(name, f"equity unknown: {ctx.figures.equity.problem}")


def bounded_risk(ctx: CheckContext) -> CheckResult:
    why = unbounded_reason(ctx.intent)
    if why:
        return failed("bounded_risk", f"{UNBOUNDED_RISK}: {why}")
    return passed("bounded_risk")


def position_size(ctx: CheckContext) -> CheckResult:
    if ctx.equity is None:
        return _no_equity("position_size", ctx)
    lim = ctx.limits.max_position_pct * ctx.equity
    if ctx.max_loss is None:
        return failed("position_size", _unbounded(ctx), limit=lim)
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
    if ctx.equity is None:
        return _no_equity("total_exposure", ctx)
    lim = ctx.limits.max_exposure_pct * ctx.equity
    if ctx.max_loss is None:
        return failed("total_exposure", _unbounded(ctx), limit=lim)
    total = ctx.snapshot.portfolio.exposure + ctx.max_loss
    # Compared as the stores' guard compares it (open <= limit - this), so that a decision and its
    # reservation can never disagree by a rounding.
    ok = ctx.snapshot.portfolio.exposure <= lim - ctx.max_loss
    return verdict_of("total_exposure", ok, f"exposure {total:.2f} > {lim:.2f}", total, lim)


def notional(ctx: CheckContext) -> CheckResult:
    """One order's notional against ``max_notional_x_equity`` x equity and the broker's buying power
    (a fat-finger cap: a tight stop must not size an order past what the account can carry)."""
    intent = ctx.intent
    value = intent.qty * order_price(intent) * intent.multiplier
    power = ctx.market.buying_power
    if ctx.equity is None:
        return _no_equity("notional", ctx)
    lim = ctx.limits.max_notional_x_equity * ctx.equity
    if power is None:
        return failed("notional", "buying power unknown (fail closed)", value, lim)
    if value > power:
        return failed("notional", f"notional {value:.2f} > buying power {power:.2f}", value, power)
    return verdict_of("notional", value <= lim, f"notional {value:.2f} > {lim:.2f}", value, lim)


def reward_risk(ctx: CheckContext) -> CheckResult:
    lim = ctx.limits.min_rr
    figure = ctx.figures.reward_risk
    if figure.value is None:
        return failed("reward_risk", figure.problem, limit=lim)
    rr = figure.value
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
