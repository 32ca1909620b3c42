"""Check 4 and the weekly/monthly loss limits: realized + unrealized P&L against a floor.

The floor of each period is negative; reaching it (P&L <= floor) rejects. Weekly and monthly
limits are fractions of the start-of-day equity (the stored one: checks/figures.py); without it
every loss limit fails closed.
"""

from __future__ import annotations

from maxtrader.domain.models import CheckResult
from maxtrader.domain.safety.checks.base import CheckContext, failed, verdict_of


def _loss(name: str, pnl: float, floor: float) -> CheckResult:
    return verdict_of(name, pnl > floor, f"P&L {pnl:.2f} at or below {floor:.2f}", pnl, floor)


def _unknown(name: str, ctx: CheckContext) -> CheckResult:
    return failed(name, f"start-of-day equity unknown: {ctx.figures.start_equity.problem}")


def daily_loss(ctx: CheckContext) -> CheckResult:
    start = ctx.start_equity
    if start is None:
        return _unknown("daily_loss", ctx)
    lim = ctx.limits
    floor = -min(lim.max_daily_loss_pct * start, lim.max_daily_loss_abs)
    snap = ctx.snapshot
    return _loss("daily_loss", snap.day_realized + snap.portfolio.unrealized, floor)


def weekly_loss(ctx: CheckContext) -> CheckResult:
    start = ctx.start_equity
    if start is None:
        return _unknown("weekly_loss", ctx)
    floor = -ctx.limits.max_weekly_loss_pct * start
    snap = ctx.snapshot
    return _loss("weekly_loss", snap.week_realized + snap.portfolio.unrealized, floor)


def monthly_loss(ctx: CheckContext) -> CheckResult:
    start = ctx.start_equity
    if start is None:
        return _unknown("monthly_loss", ctx)
    floor = -ctx.limits.max_monthly_loss_pct * start
    snap = ctx.snapshot
    return _loss("monthly_loss", snap.month_realized + snap.portfolio.unrealized, floor)
