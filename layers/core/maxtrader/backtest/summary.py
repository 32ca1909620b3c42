"""Assemble a BacktestResult from trades and sessions, and cut one down to a set of days."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date

from maxtrader.backtest.metrics import compute_metrics, grouped_metrics
from maxtrader.backtest.results import BacktestResult, EquityPoint, SessionRecord, TradeRecord
from maxtrader.domain.clock import NEW_YORK


def build_result(
    *,
    trades: Sequence[TradeRecord],
    sessions: Sequence[SessionRecord],
    initial_equity: float,
    bars: int,
    label: str = "in-sample",
    out_of_sample: bool = False,
    settings: dict[str, str] | None = None,
    notes: Sequence[str] = (),
    elapsed_s: float = 0.0,
) -> BacktestResult:
    ordered = sorted(trades, key=lambda t: (t.exit_time, t.entry_time, t.signal_id))
    days = sorted(sessions, key=lambda s: s.day)
    rejections: Counter[str] = Counter()
    trips: Counter[str] = Counter()
    verdicts: Counter[str] = Counter()
    for s in days:
        rejections.update(s.rejections)
        trips.update(s.breaker_trips)
        verdicts.update(s.verdicts)
    return BacktestResult(
        label=label,
        out_of_sample=out_of_sample,
        start=days[0].day if days else None,
        end=days[-1].day if days else None,
        initial_equity=initial_equity,
        settings=settings or {},
        metrics=compute_metrics(ordered, days, initial_equity),
        by_regime=grouped_metrics(
            ordered, days, initial_equity, lambda t: t.regime.value, lambda s: s.regime.value
        ),
        by_strategy=grouped_metrics(
            ordered, days, initial_equity, lambda t: t.strategy, lambda s: s.strategy
        ),
        rejections=dict(sorted(rejections.items(), key=lambda kv: (-kv[1], kv[0]))),
        verdicts=dict(sorted(verdicts.items())),
        breaker_trips=dict(trips),
        trades=list(ordered),
        sessions=days,
        equity_curve=equity_curve(ordered, days, initial_equity),
        bars=bars,
        elapsed_s=elapsed_s,
        notes=list(notes),
    )


def equity_curve(
    trades: Sequence[TradeRecord], sessions: Sequence[SessionRecord], initial_equity: float
) -> list[EquityPoint]:
    """Equity after each closed trade (realized P&L), starting at the first session's open."""
    points: list[EquityPoint] = []
    equity = initial_equity
    if sessions and trades:
        points.append(EquityPoint(ts=min(t.entry_time for t in trades), equity=equity))
    for t in trades:
        equity += t.pnl
        points.append(EquityPoint(ts=t.exit_time, equity=equity))
    return points


def slice_result(result: BacktestResult, days: Iterable[date]) -> BacktestResult:
    """The trades (by entry day) and sessions of ``result`` that fall on ``days``."""
    wanted = set(days)
    trades = [t for t in result.trades if t.entry_time.astimezone(NEW_YORK).date() in wanted]
    sessions = [s for s in result.sessions if s.day in wanted]
    return build_result(
        trades=trades,
        sessions=sessions,
        initial_equity=result.initial_equity,
        bars=result.bars,
        label=result.label,
        settings=result.settings,
        notes=result.notes,
    )
