"""Checks 5-8 and the duplicate signal: the counted limits the reservation re-checks atomically."""

from __future__ import annotations

from maxtrader.domain.models import CheckResult
from maxtrader.domain.safety.checks.base import CheckContext, failed, passed, verdict_of


def concurrent_positions(ctx: CheckContext) -> CheckResult:
    used, lim = ctx.snapshot.portfolio.slots, ctx.limits.max_concurrent_positions
    return verdict_of(
        "concurrent_positions", used < lim, f"{used} positions/reservations of {lim}", used, lim
    )


def daily_trades(ctx: CheckContext) -> CheckResult:
    used, lim = ctx.snapshot.day_entries, ctx.limits.max_daily_trades
    return verdict_of("daily_trades", used < lim, f"{used} entries today of {lim}", used, lim)


def strategy_daily_trades(ctx: CheckContext) -> CheckResult:
    used, lim = ctx.snapshot.strategy_entries, ctx.limits.max_daily_trades_per_strategy
    reason = f"{ctx.intent.strategy}: {used} entries today of {lim}"
    return verdict_of("strategy_daily_trades", used < lim, reason, used, lim)


def trade_frequency(ctx: CheckContext) -> CheckResult:
    lim = float(ctx.limits.min_seconds_between_trades)
    last = ctx.snapshot.portfolio.last_entry_at
    if last is None:
        return passed("trade_frequency", limit=lim)
    elapsed = (ctx.now - last).total_seconds()
    return verdict_of(
        "trade_frequency", elapsed >= lim, f"{elapsed:.1f}s since the last entry", elapsed, lim
    )


def duplicate_signal(ctx: CheckContext) -> CheckResult:
    if ctx.snapshot.signal_seen:
        return failed("duplicate_signal", f"signal {ctx.intent.signal_id} already traded")
    return passed("duplicate_signal")
