"""Check 4 and the weekly/monthly loss limits: realized + unrealized P&L against a floor.

The floor of each period is negative; reaching it (P&L <= floor) rejects. Weekly and monthly
limits are fractions of the start-of-day equity (the only equity figure every caller has).
"""

from __future__ import annotations

from maxtrader.domain.models import CheckResult
from maxtrader.domain.safety.checks.base import CheckContext, verdict_of


def _loss(name: str, pnl: float, floor: float) -> CheckResult:
    return verdict_of(name, pnl > floor, f"P&L {pnl:.2f} at or below {floor:.2f}", pnl, floor)


def daily_loss(ctx: CheckContext) -> CheckResult:
    lim = ctx.limits
    floor = -min(lim.max_daily_loss_pct * ctx.market.start_of_day_equity, lim.max_daily_loss_abs)
    snap = ctx.snapshot
    return _loss("daily_loss", snap.day_realized + snap.portfolio.unrealized, floor)


def weekly_loss(ctx: CheckContext) -> CheckResult:
    floor = -ctx.limits.max_weekly_loss_pct * ctx.market.start_of_day_equity
    snap = ctx.snapshot
    return _loss("weekly_loss", snap.week_realized + snap.portfolio.unrealized, floor)


def monthly_loss(ctx: CheckContext) -> CheckResult:
    floor = -ctx.limits.max_monthly_loss_pct * ctx.market.start_of_day_equity
    snap = ctx.snapshot
    return _loss("monthly_loss", snap.month_realized + snap.portfolio.unrealized, floor)
