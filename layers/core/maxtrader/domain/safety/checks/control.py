"""Checks 1-3 and the account flags: is the system allowed to open anything at all?"""

from __future__ import annotations

from maxtrader.domain.models import CheckResult
from maxtrader.domain.safety.checks.base import CheckContext, failed, passed


def kill_switch(ctx: CheckContext) -> CheckResult:
    ks = ctx.snapshot.kill_switch
    if ks.on:
        return failed("kill_switch", f"kill switch engaged by {ks.actor}: {ks.reason}".rstrip(": "))
    return passed("kill_switch")


def safe_mode(ctx: CheckContext) -> CheckResult:
    sm = ctx.snapshot.safe_mode
    if sm.on:
        who = "health check" if sm.automatic else sm.actor
        return failed("safe_mode", f"safe mode on ({who}): {sm.reason}".rstrip(": "))
    return passed("safe_mode")


def circuit_breaker(ctx: CheckContext) -> CheckResult:
    paused = [b for b in ctx.snapshot.breakers if b.paused(ctx.now)]
    if not paused:
        return passed("circuit_breaker", observed=0, limit=0)
    names = ", ".join(f"{b.name.value} until {b.until.isoformat()}" for b in paused if b.until)
    return failed("circuit_breaker", f"paused: {names}", observed=len(paused), limit=0)


def drawdown_stop(ctx: CheckContext) -> CheckResult:
    hwm = ctx.snapshot.high_water
    if hwm.halted:
        return failed("drawdown_stop", f"drawdown stop halted entries: {hwm.reason}".rstrip(": "))
    return passed("drawdown_stop")


def state_figures(ctx: CheckContext) -> CheckResult:
    """The stored equity and start-of-day equity exist and the caller's agree with them."""
    problems = [f.problem for f in (ctx.figures.equity, ctx.figures.start_equity) if f.problem]
    if problems:
        return failed("state_figures", "; ".join(problems))
    return passed("state_figures")


def account_flags(ctx: CheckContext) -> CheckResult:
    flags = ctx.market.account
    if flags is None:
        return failed("account_flags", "account flags unknown (fail closed)")
    if flags.blocked:
        return failed("account_flags", "account flags set: " + ", ".join(flags.blocked))
    return passed("account_flags")
