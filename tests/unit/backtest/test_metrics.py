"""Metrics on a hand-computed trade list."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.backtest.metrics import compute_metrics
from maxtrader.backtest.results import SessionRecord, TradeRecord
from maxtrader.backtest.summary import build_result
from maxtrader.domain.models import Direction, Instrument, Regime

D1, D2, D3 = date(2024, 6, 3), date(2024, 6, 4), date(2024, 6, 5)


def trade(
    day: date,
    minute: int,
    pnl: float,
    *,
    risk: float = 100.0,
    strategy: str = "wave_renko",
    regime: Regime = Regime.NORMAL_VOL,
) -> TradeRecord:
    t0 = datetime(day.year, day.month, day.day, 15, 0, tzinfo=UTC) + timedelta(minutes=minute)
    return TradeRecord(
        signal_id=f"s{day}{minute}",
        symbol="SPY",
        underlying="SPY",
        strategy=strategy,
        regime=regime,
        side=Direction.LONG,
        instrument=Instrument.EQUITY,
        entry_time=t0,
        entry_price=500.0,
        exit_time=t0 + timedelta(minutes=5),
        exit_price=501.0,
        qty=1,
        fees=0.0,
        pnl=pnl,
        risk=risk,
        exit_reason="target",
        underlying_entry=500.0,
        underlying_exit=501.0,
        stop=499.0,
        target=502.0,
    )


def session(
    day: date,
    regime: Regime = Regime.NORMAL_VOL,
    strategy: str | None = "wave_renko",
    equity: float = 10_000.0,
) -> SessionRecord:
    return SessionRecord(
        day=day, regime=regime, vix=15.0, strategy=strategy, start_equity=equity, pnl=0.0, trades=0
    )


def test_metrics_match_a_hand_computation():
    # Equity 10,000: +300 (10,300) -200 (10,100) -200 (9,900) +100 (10,000)
    trades = [trade(D1, 0, 300.0), trade(D1, 10, -200.0), trade(D2, 0, -200.0), trade(D3, 0, 100.0)]
    sessions = [session(D1), session(D2), session(D3)]
    m = compute_metrics(trades, sessions, 10_000.0)
    assert m.trades == 4 and m.wins == 2
    assert m.win_rate == 0.5
    assert m.profit_factor == pytest.approx(400 / 400)
    assert m.pnl == pytest.approx(0.0)
    assert m.max_drawdown == pytest.approx(400.0)  # 10,300 -> 9,900
    assert m.max_drawdown_pct == pytest.approx(400 / 10_300)
    assert m.avg_r == pytest.approx((3 - 2 - 2 + 1) / 4)
    assert m.trades_per_month == pytest.approx(4 / (3 / 21))
    # daily returns: +100/10k, -200/10k, +100/10k
    r = [0.01, -0.02, 0.01]
    mean = sum(r) / 3
    sd = math.sqrt(sum((x - mean) ** 2 for x in r) / 2)
    assert m.sharpe == pytest.approx(mean / sd * math.sqrt(252))


def test_undefined_ratios_are_null_not_infinite():
    m = compute_metrics([trade(D1, 0, 50.0)], [session(D1)], 10_000.0)
    assert m.profit_factor is None  # no losing trade
    assert m.sharpe is None  # one session
    empty = compute_metrics([], [], 10_000.0)
    assert (empty.trades, empty.win_rate, empty.trades_per_month) == (0, 0.0, 0.0)


def test_days_without_trades_count_in_the_sharpe():
    with_idle = compute_metrics(
        [trade(D1, 0, 100.0), trade(D2, 0, 50.0)], [session(D1), session(D2), session(D3)], 1e4
    )
    without = compute_metrics(
        [trade(D1, 0, 100.0), trade(D2, 0, 50.0)], [session(D1), session(D2)], 1e4
    )
    assert with_idle.sharpe is not None and without.sharpe is not None
    assert with_idle.sharpe < without.sharpe


def test_groups_split_trades_and_sessions():
    trades = [
        trade(D1, 0, 100.0),
        trade(D2, 0, -50.0, strategy="vwap_reversion", regime=Regime.ULTRA_LOW_VOL),
    ]
    sessions = [
        session(D1),
        session(D2, Regime.ULTRA_LOW_VOL, "vwap_reversion"),
        session(D3, Regime.UNKNOWN, None),
    ]
    result = build_result(trades=trades, sessions=sessions, initial_equity=1e4, bars=0)
    assert set(result.by_regime) == {"NORMAL_VOL", "ULTRA_LOW_VOL", "UNKNOWN"}
    assert result.by_regime["NORMAL_VOL"].pnl == 100.0
    assert result.by_regime["UNKNOWN"].trades == 0
    assert set(result.by_strategy) == {"wave_renko", "vwap_reversion"}
    assert result.by_strategy["vwap_reversion"].sessions == 1


@pytest.mark.property
@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-500, 500, allow_nan=False), max_size=30))
def test_invariants(pnls):
    trades = [trade(D1, i, p) for i, p in enumerate(pnls)]
    m = compute_metrics(trades, [session(D1), session(D2)], 10_000.0)
    assert m.pnl == pytest.approx(sum(pnls))
    assert m.gross_profit + m.gross_loss == pytest.approx(m.pnl)
    assert 0.0 <= m.win_rate <= 1.0
    assert m.max_drawdown >= 0.0
    assert m.max_drawdown <= sum(-p for p in pnls if p < 0) + 1e-6
