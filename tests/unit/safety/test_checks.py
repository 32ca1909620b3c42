"""Each pre-trade check at its boundary: just inside, at, just outside (pure functions)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from maxtrader.config.safety import SafetyConfig
from maxtrader.domain.models import CheckResult, OrderIntent, Regime
from maxtrader.domain.safety.checks import (
    CheckContext,
    CheckFn,
    control,
    counts,
    loss,
    max_loss,
    sizing,
)
from maxtrader.domain.safety.checks.figures import resolve
from maxtrader.domain.safety.context import AccountFlags, MarketContext
from maxtrader.domain.safety.state import (
    BreakerName,
    BreakerState,
    PortfolioState,
    Snapshot,
    SwitchName,
    SwitchState,
)
from tests.support.safety import entry, market, option_entry

NOW = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)
US = timedelta(microseconds=1)
BASE = SafetyConfig().limits  # 2 % / $2,000, 3 positions, 10 + 5 trades, 60 s, 1 %, $500, 3 %


def snapshot(**changes: Any) -> Snapshot:
    portfolio = PortfolioState(**changes.pop("portfolio", {}))
    base = Snapshot(
        kill_switch=SwitchState(SwitchName.KILL_SWITCH),
        safe_mode=SwitchState(SwitchName.SAFE_MODE),
        breakers=tuple(BreakerState(n) for n in BreakerName),
        portfolio=portfolio,
    )
    return replace(base, **changes)


def run(
    check: CheckFn,
    *,
    intent: OrderIntent | None = None,
    ctx_market: MarketContext | None = None,
    snap: Snapshot | None = None,
    limits: Any = BASE,
) -> CheckResult:
    intent = intent or entry()
    ctx_market = ctx_market or market()
    snap = snap or snapshot()
    # The stored figures the engine trusts; here they agree with the market's, as in production.
    if snap.portfolio.equity is None:
        snap = replace(snap, portfolio=replace(snap.portfolio, equity=ctx_market.equity))
    if snap.start_of_day_equity is None:
        snap = replace(snap, start_of_day_equity=ctx_market.start_of_day_equity)
    figures = resolve(intent, ctx_market, snap, SafetyConfig().figures.tolerance_pct)
    ctx = CheckContext(intent, ctx_market, limits, snap, NOW, max_loss(intent), figures)
    return check(ctx)


def test_daily_loss_boundary() -> None:
    # -min(2 % x 100,000, 2,000) = -2,000; reject at or below.
    assert run(loss.daily_loss, snap=snapshot(day_realized=-1999.99)).passed
    at = run(loss.daily_loss, snap=snapshot(day_realized=-2000.0))
    assert not at.passed and at.observed == -2000.0 and at.limit == -2000.0
    assert not run(loss.daily_loss, snap=snapshot(day_realized=-2000.01)).passed


def test_daily_loss_counts_unrealized_and_takes_the_tighter_limit() -> None:
    snap = snapshot(day_realized=-1500.0, portfolio={"unrealized": -500.0})
    assert not run(loss.daily_loss, snap=snap).passed
    # 2 % of 50,000 = 1,000 < 2,000: the percentage is the tighter limit.
    small = market(equity=50_000)
    assert run(loss.daily_loss, ctx_market=small, snap=snapshot(day_realized=-999.99)).passed
    assert not run(loss.daily_loss, ctx_market=small, snap=snapshot(day_realized=-1000.0)).passed
    # 2 % of 500,000 = 10,000 > 2,000: the absolute cap is the tighter limit.
    big = market(equity=500_000)
    result = run(loss.daily_loss, ctx_market=big, snap=snapshot(day_realized=-2000.0))
    assert not result.passed and result.limit == -2000.0


@pytest.mark.parametrize(
    ("field", "check", "pct"),
    [("week_realized", loss.weekly_loss, 0.05), ("month_realized", loss.monthly_loss, 0.10)],
)
def test_weekly_and_monthly_loss_boundary(field: str, check: Any, pct: float) -> None:
    floor = -pct * 100_000
    assert run(check, snap=snapshot(**{field: floor + 0.01})).passed
    assert not run(check, snap=snapshot(**{field: floor})).passed
    assert not run(check, snap=snapshot(**{field: floor - 0.01})).passed


@pytest.mark.parametrize(
    ("check", "field", "limit"),
    [
        (counts.daily_trades, "day_entries", 10),
        (counts.strategy_daily_trades, "strategy_entries", 5),
    ],
)
def test_daily_trade_counts_boundary(check: Any, field: str, limit: int) -> None:
    assert run(check, snap=snapshot(**{field: limit - 1})).passed
    at = run(check, snap=snapshot(**{field: limit}))
    assert not at.passed and (at.observed, at.limit) == (limit, limit)
    assert not run(check, snap=snapshot(**{field: limit + 1})).passed


def test_concurrent_positions_boundary() -> None:
    assert run(counts.concurrent_positions, snap=snapshot(portfolio={"slots": 2})).passed
    assert not run(counts.concurrent_positions, snap=snapshot(portfolio={"slots": 3})).passed
    assert not run(counts.concurrent_positions, snap=snapshot(portfolio={"slots": 4})).passed


def test_trade_frequency_boundary() -> None:
    def since(delta: timedelta) -> CheckResult:
        return run(counts.trade_frequency, snap=snapshot(portfolio={"last_entry_at": NOW - delta}))

    assert since(timedelta(seconds=60) + US).passed
    assert since(timedelta(seconds=60)).passed  # rejects only when fewer than 60 s passed
    short = since(timedelta(seconds=60) - US)
    assert not short.passed and short.limit == 60
    assert run(counts.trade_frequency).passed  # no entry yet


def test_position_size_boundary() -> None:
    # 1 % of 100,000 = 1,000; equity max loss = qty x |entry - stop| + fees.
    assert run(sizing.position_size, intent=entry(qty=100, stop=490.01)).passed
    at = run(sizing.position_size, intent=entry(qty=100, stop=490.0))
    assert at.passed and at.observed == pytest.approx(1000.0)
    over = run(sizing.position_size, intent=entry(qty=100, stop=490.0, fees=0.01))
    assert not over.passed and over.observed == pytest.approx(1000.01)


def test_position_size_fails_closed_without_a_stop() -> None:
    result = run(sizing.position_size, intent=entry(stop=None))
    assert not result.passed and "stop" in result.reason


def test_option_max_loss_is_premium_plus_fees() -> None:
    intent = option_entry(premium=2.5, contracts=2, fees=1.3)
    assert max_loss(intent) == pytest.approx(501.3)


def test_premium_boundary() -> None:
    assert run(sizing.premium, intent=option_entry(premium=4.99)).passed
    at = run(sizing.premium, intent=option_entry(premium=5.0))
    assert at.passed and at.observed == 500.0
    assert not run(sizing.premium, intent=option_entry(premium=5.0, fees=0.01)).passed
    assert run(sizing.premium, intent=entry(qty=1000)).passed  # equity: no premium


def test_total_exposure_boundary() -> None:
    # 3 % of 100,000 = 3,000; this order risks 1,000.
    intent = entry(qty=100, stop=490.0)

    def with_open(exposure: float) -> CheckResult:
        return run(
            sizing.total_exposure, intent=intent, snap=snapshot(portfolio={"exposure": exposure})
        )

    assert with_open(1999.99).passed
    assert with_open(2000.0).passed
    over = with_open(2000.01)
    assert not over.passed and over.observed == pytest.approx(3000.01) and over.limit == 3000.0


def test_reward_risk_boundary() -> None:
    # Computed from the intent's own levels (entry 500, stop 495): target 507.5 is exactly 1.5.
    def rr(target: float | None, given: float | None = None) -> CheckResult:
        return run(
            sizing.reward_risk,
            intent=entry(target=target),
            ctx_market=market(reward_risk=given),
        )

    assert rr(507.50005).passed and rr(507.5).passed
    low = rr(507.49995)
    assert not low.passed and low.limit == 1.5
    # Without a target the intent gives nothing to compute from: the caller's figure, else none.
    assert rr(None, 1.5).passed and not rr(None, 1.49999).passed
    assert not rr(None, None).passed


@pytest.mark.parametrize(
    ("price", "ok"),
    [(504.99, True), (505.0, True), (505.01, False), (495.0, True), (494.99, False)],
)
def test_price_collar_boundary(price: float, ok: bool) -> None:
    assert run(sizing.price_collar, intent=entry(price=price, stop=480.0)).passed is ok


def test_price_collar_uses_the_limit_price_and_fails_closed_without_a_last_trade() -> None:
    assert not run(sizing.price_collar, intent=entry(limit_price=510.0)).passed
    assert not run(sizing.price_collar, ctx_market=market(last_price=None)).passed


@pytest.mark.parametrize("flag", ["trading_blocked", "account_blocked", "trade_suspended_by_user"])
def test_each_account_flag_blocks(flag: str) -> None:
    result = run(control.account_flags, ctx_market=market(account=AccountFlags(**{flag: True})))
    assert not result.passed and flag in result.reason


def test_unknown_account_flags_fail_closed() -> None:
    ctx_market = market().model_copy(update={"account": None})
    assert not run(control.account_flags, ctx_market=ctx_market).passed
    assert run(control.account_flags).passed


def test_switches() -> None:
    kill = SwitchState(SwitchName.KILL_SWITCH, on=True, actor="ops", reason="drill")
    result = run(control.kill_switch, snap=snapshot(kill_switch=kill))
    assert not result.passed and "ops" in result.reason
    safe = SwitchState(SwitchName.SAFE_MODE, on=True, automatic=True, reason="stale")
    assert not run(control.safe_mode, snap=snapshot(safe_mode=safe)).passed
    assert run(control.kill_switch).passed and run(control.safe_mode).passed


@pytest.mark.parametrize(("offset", "ok"), [(-US, True), (timedelta(0), True), (US, False)])
def test_breaker_pause_boundary(offset: timedelta, ok: bool) -> None:
    # Paused while now < until: at `until` itself the pause is over.
    breakers = tuple(
        BreakerState(n, until=NOW + offset if n is BreakerName.ERROR_RATE else None)
        for n in BreakerName
    )
    result = run(control.circuit_breaker, snap=snapshot(breakers=breakers))
    assert result.passed is ok
    if not ok:
        assert "error_rate" in result.reason


def test_duplicate_signal() -> None:
    assert not run(counts.duplicate_signal, snap=snapshot(signal_seen=True)).passed
    assert run(counts.duplicate_signal).passed


# --- regime overrides (SafetyConfig.limits_for) ------------------------------------------------
@pytest.mark.parametrize(
    ("regime", "trades", "positions"),
    [
        (Regime.NORMAL_VOL, 10, 3),
        (Regime.ULTRA_LOW_VOL, 5, 2),
        (Regime.HIGH_VOL, 3, 1),
        (Regime.EXTREME_CALM_PAUSE, 0, 0),
        (Regime.UNKNOWN, 0, 0),
    ],
)
def test_regime_overrides_at_their_boundaries(regime: Regime, trades: int, positions: int) -> None:
    limits = SafetyConfig().limits_for(regime)
    m = market(regime=regime)
    if trades:
        assert run(
            counts.daily_trades, ctx_market=m, limits=limits, snap=snapshot(day_entries=trades - 1)
        ).passed
    assert not run(
        counts.daily_trades, ctx_market=m, limits=limits, snap=snapshot(day_entries=trades)
    ).passed
    if positions:
        inside = snapshot(portfolio={"slots": positions - 1})
        assert run(counts.concurrent_positions, ctx_market=m, limits=limits, snap=inside).passed
    at = snapshot(portfolio={"slots": positions})
    assert not run(counts.concurrent_positions, ctx_market=m, limits=limits, snap=at).passed


def test_a_looser_override_stands() -> None:
    config = SafetyConfig.model_validate(
        {
            "limits": {"max_daily_trades": 2},
            # NORMAL_VOL pinned to the base (unnamed, it would keep the specification's 10).
            "regime_overrides": {
                "HIGH_VOL": {"max_daily_trades": 8},
                "NORMAL_VOL": {"max_daily_trades": 2},
            },
        }
    )
    limits = config.limits_for(Regime.HIGH_VOL)
    assert run(counts.daily_trades, limits=limits, snap=snapshot(day_entries=7)).passed
    assert not run(
        counts.daily_trades,
        limits=config.limits_for(Regime.NORMAL_VOL),
        snap=snapshot(day_entries=2),
    ).passed
