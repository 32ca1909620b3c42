"""The engine's fill rules on scripted signals over synthetic sessions (every price is known)."""

from __future__ import annotations

from datetime import date

import pytest

from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.models import Direction

from .synth import CALENDAR, Scripted, flat_session, ny, run

DAY = date(2024, 6, 4)
LONG, SHORT = Direction.LONG, Direction.SHORT


def test_an_order_decided_on_a_bar_fills_at_the_next_bars_open_plus_slippage():
    bars = flat_session(DAY, overrides={"10:01": (500.30, 500.35, 500.25, 500.30)})
    result = run(bars, Scripted({"10:00": (LONG, 499.0, 503.0)}))
    (trade,) = result.trades
    assert trade.entry_time == ny(DAY, "10:01")
    assert trade.entry_price == pytest.approx(500.31)  # 10:01 open + 1 cent, not 10:00's close
    assert trade.qty == 500  # $500 risk budget / $1 to the stop
    assert trade.exit_reason == "flatten"
    assert trade.exit_time == ny(DAY, "15:45")
    assert trade.exit_price == pytest.approx(499.99)
    assert trade.pnl == pytest.approx((499.99 - 500.31) * 500)


def test_slippage_is_configurable_per_symbol():
    bars = flat_session(DAY)
    result = run(bars, Scripted({"10:00": (LONG, 499.0, 503.0)}), "backtest.slippage.SPY=0.05")
    assert result.trades[0].entry_price == pytest.approx(500.05)


@pytest.mark.parametrize(
    ("side", "stop", "target", "bar", "reason", "price"),
    [
        (LONG, 499.0, 501.5, (500.0, 501.6, 498.5, 500.0), "stop", 498.99),  # both: stop first
        (LONG, 499.0, 501.5, (500.0, 501.7, 499.9, 501.5), "target", 501.5),  # limit: no slip
        (LONG, 499.0, 501.5, (498.0, 498.5, 497.5, 498.0), "stop", 497.99),  # gap: at the open
        (LONG, 499.0, 501.5, (502.0, 502.5, 501.5, 502.0), "target", 502.0),  # gap up
        (SHORT, 501.0, 498.5, (500.0, 501.5, 498.4, 500.0), "stop", 501.01),  # both: stop first
        (SHORT, 501.0, 498.5, (500.0, 500.1, 498.3, 498.5), "target", 498.5),
        (SHORT, 501.0, 498.5, (502.0, 502.5, 501.5, 502.0), "stop", 502.01),
    ],
)
def test_stops_and_targets_on_the_bars_range_with_the_stop_first(
    *, side, stop, target, bar, reason, price
):
    bars = flat_session(DAY, overrides={"10:05": bar})
    (trade,) = run(bars, Scripted({"10:00": (side, stop, target)})).trades
    assert (trade.exit_reason, trade.exit_time) == (reason, ny(DAY, "10:05"))
    assert trade.exit_price == pytest.approx(price)


def test_the_entry_bar_itself_can_stop_the_position_out():
    bars = flat_session(DAY, overrides={"10:01": (500.0, 500.1, 498.0, 499.5)})
    (trade,) = run(bars, Scripted({"10:00": (LONG, 499.0, 503.0)})).trades
    assert trade.entry_time == trade.exit_time == ny(DAY, "10:01")
    assert trade.exit_reason == "stop"


def test_time_stop_exits_at_the_open_of_the_first_bar_past_the_hold():
    bars = flat_session(DAY)
    strategy = Scripted({"10:00": (LONG, 499.0, 503.0)}, max_hold_minutes=5)
    (trade,) = run(bars, strategy).trades
    assert (trade.exit_reason, trade.exit_time) == ("time_stop", ny(DAY, "10:06"))


def test_flatten_honours_an_early_close():
    day = date(2024, 11, 29)  # closes 13:00: flatten 12:45
    session = CALENDAR.session(day)
    assert session is not None and session.is_early_close
    (trade,) = run(flat_session(day), Scripted({"10:00": (LONG, 499.0, 503.0)})).trades
    assert (trade.exit_reason, trade.exit_time) == ("flatten", ny(day, "12:45"))


def test_an_order_without_a_next_bar_is_released_not_filled():
    bars = flat_session(DAY)
    result = run(bars, Scripted({"15:59": (LONG, 499.0, 503.0)}))
    assert result.trades == []
    assert result.verdicts["approved"] == 1


def test_strategies_get_prior_sessions_only():
    prior, day = date(2024, 6, 3), DAY
    strategy = Scripted({})
    run(flat_session(prior) + flat_session(day), strategy, start=day)
    assert strategy.histories == [390]  # exactly the prior session's bars


def test_positions_open_when_the_data_ends_exit_at_the_last_close():
    bars = [b for b in flat_session(DAY) if b.ts.astimezone(NEW_YORK).hour < 12]
    (trade,) = run(bars, Scripted({"10:00": (LONG, 499.0, 503.0)})).trades
    assert trade.exit_reason == "end_of_data"
    assert trade.exit_time == ny(DAY, "12:00")


def test_missing_prior_vix_means_unknown_regime_and_no_entries():
    bars = flat_session(DAY)
    from maxtrader.backtest.engine import Backtester
    from maxtrader.domain.strategies.routing import strategy_for

    from .synth import run_config

    seen = []

    def router(regime, cfg):
        seen.append(regime)
        return strategy_for(regime, cfg)

    result = Backtester(run_config(), CALENDAR, router=router).run({"SPY": bars}, {})
    assert result.trades == []
    assert [s.regime.value for s in result.sessions] == ["UNKNOWN"]
    assert seen[0].value == "UNKNOWN"


def test_several_symbols_are_replayed_in_time_order_each_filling_on_its_own_next_bar():
    spy = flat_session(DAY, overrides={"10:01": (500.30, 500.35, 500.25, 500.30)})
    qqq = flat_session(DAY, price=450.0, symbol="QQQ")
    strategy = Scripted({"SPY@10:00": (LONG, 499.0, 503.0), "QQQ@11:00": (SHORT, 451.0, 447.0)})
    from maxtrader.backtest.engine import Backtester

    from .synth import run_config

    vix = {date(2024, 6, 3): 15.0}
    bt = Backtester(run_config(), CALENDAR, router=lambda regime, cfg: strategy)
    result = bt.run({"SPY": spy, "QQQ": qqq}, vix)
    assert result.bars == 2 * 390
    got = sorted((t.symbol, t.side.value, t.entry_time) for t in result.trades)
    assert got == [("QQQ", "short", ny(DAY, "11:01")), ("SPY", "long", ny(DAY, "10:01"))]
    spy_trade = next(t for t in result.trades if t.symbol == "SPY")
    assert spy_trade.entry_price == pytest.approx(500.31)  # SPY's own next bar, not QQQ's
