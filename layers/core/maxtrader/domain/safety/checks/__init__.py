"""The pre-trade checks, in the spec's order; every one is evaluated for every entry."""

from __future__ import annotations

from maxtrader.domain.safety.checks import control, counts, loss, sizing
from maxtrader.domain.safety.checks.base import Check, CheckContext, CheckFn, max_loss, order_price

DEFAULT_CHECKS: tuple[Check, ...] = (
    Check("kill_switch", control.kill_switch),  # 1
    Check("safe_mode", control.safe_mode),  # 2
    Check("circuit_breaker", control.circuit_breaker),  # 3
    Check("drawdown_stop", control.drawdown_stop),  # the high-water-mark stop
    Check("state_figures", control.state_figures),  # stored equity, start-of-day equity
    Check("daily_loss", loss.daily_loss),  # 4
    Check("concurrent_positions", counts.concurrent_positions),  # 5
    Check("daily_trades", counts.daily_trades),  # 6
    Check("strategy_daily_trades", counts.strategy_daily_trades),  # 7
    Check("trade_frequency", counts.trade_frequency),  # 8
    Check("bounded_risk", sizing.bounded_risk),  # only a bounded loss enters
    Check("position_size", sizing.position_size),  # 9
    Check("premium", sizing.premium),  # 10
    Check("total_exposure", sizing.total_exposure),  # 11
    Check("notional", sizing.notional),  # vs equity and the broker's buying power
    Check("reward_risk", sizing.reward_risk),  # 12
    Check("weekly_loss", loss.weekly_loss, switch="weekly_loss"),
    Check("monthly_loss", loss.monthly_loss, switch="monthly_loss"),
    Check("duplicate_signal", counts.duplicate_signal, switch="duplicate_signal"),
    Check("price_collar", sizing.price_collar, switch="price_collar"),
    Check("account_flags", control.account_flags, switch="account_flags"),
)

__all__ = ["DEFAULT_CHECKS", "Check", "CheckContext", "CheckFn", "max_loss", "order_price"]
