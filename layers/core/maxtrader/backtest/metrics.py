"""Performance metrics of a list of closed trades over a list of sessions.

Definitions (documented here because numbers without definitions are not worth reporting):

- ``win_rate``: trades with pnl > 0 / trades (a break-even trade is not a win).
- ``profit_factor``: gross profit / |gross loss|; None when there is no losing trade.
- ``max_drawdown``: the largest peak-to-trough fall of equity = initial equity + cumulative
  closed P&L, taken trade by trade in exit order (dollars, and as a fraction of the peak).
- ``sharpe``: mean / sample standard deviation of DAILY returns x sqrt(252). A day's return is
  that session's closed P&L / its start-of-day equity; every session of the group counts,
  including days without trades (excluding them would flatter the ratio). Risk-free rate 0.
  None with fewer than two sessions or zero variance.
- ``trades_per_month``: trades / (sessions / 21), 21 sessions being one trading month.
- ``avg_r``: mean of pnl / risk, risk being the trade's max loss at entry (option: premium and
  fees; equity: qty x |entry - stop| + fees).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date

from maxtrader.backtest.results import Metrics, SessionRecord, TradeRecord
from maxtrader.domain.clock import NEW_YORK

TRADING_DAYS_PER_YEAR = 252
SESSIONS_PER_MONTH = 21


def compute_metrics(
    trades: Sequence[TradeRecord], sessions: Sequence[SessionRecord], initial_equity: float
) -> Metrics:
    """Metrics of ``trades`` (any order) over ``sessions`` (the days the group was active)."""
    ordered = sorted(trades, key=lambda t: (t.exit_time, t.entry_time, t.signal_id))
    pnls = [t.pnl for t in ordered]
    wins = sum(1 for p in pnls if p > 0)
    gross_profit = sum(p for p in pnls if p > 0)
    gross_loss = sum(p for p in pnls if p < 0)
    dd, dd_pct = _max_drawdown(pnls, initial_equity)
    n = len(ordered)
    return Metrics(
        trades=n,
        wins=wins,
        win_rate=wins / n if n else 0.0,
        profit_factor=gross_profit / -gross_loss if gross_loss < 0 else None,
        pnl=sum(pnls),
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        max_drawdown=dd,
        max_drawdown_pct=dd_pct,
        sharpe=_sharpe(ordered, sessions),
        trades_per_month=n / (len(sessions) / SESSIONS_PER_MONTH) if sessions else 0.0,
        avg_r=sum(t.r_multiple for t in ordered) / n if n else 0.0,
        avg_pnl=sum(pnls) / n if n else 0.0,
        sessions=len(sessions),
    )


def grouped_metrics(
    trades: Sequence[TradeRecord],
    sessions: Sequence[SessionRecord],
    initial_equity: float,
    trade_key: Callable[[TradeRecord], str],
    session_key: Callable[[SessionRecord], str | None],
) -> dict[str, Metrics]:
    """One Metrics per group; a group's sessions are those its key was active on."""
    by_trade: dict[str, list[TradeRecord]] = defaultdict(list)
    for t in trades:
        by_trade[trade_key(t)].append(t)
    by_session: dict[str, list[SessionRecord]] = defaultdict(list)
    for s in sessions:
        key = session_key(s)
        if key is not None:
            by_session[key].append(s)
    keys = sorted(set(by_trade) | set(by_session))
    return {k: compute_metrics(by_trade[k], by_session[k], initial_equity) for k in keys}


def _max_drawdown(pnls: Sequence[float], initial_equity: float) -> tuple[float, float]:
    equity = peak = initial_equity
    worst = worst_pct = 0.0
    for p in pnls:
        equity += p
        peak = max(peak, equity)
        fall = peak - equity
        worst = max(worst, fall)
        if peak > 0 and fall / peak > worst_pct:
            worst_pct = fall / peak
    return worst, worst_pct


def _sharpe(trades: Sequence[TradeRecord], sessions: Sequence[SessionRecord]) -> float | None:
    if len(sessions) < 2:
        return None
    day_pnl: dict[date, float] = defaultdict(float)
    for t in trades:
        day_pnl[t.exit_time.astimezone(NEW_YORK).date()] += t.pnl
    returns = [day_pnl.get(s.day, 0.0) / s.start_equity for s in sessions]
    mean = sum(returns) / len(returns)
    var = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    if var <= 0:
        return None
    return mean / math.sqrt(var) * math.sqrt(TRADING_DAYS_PER_YEAR)
