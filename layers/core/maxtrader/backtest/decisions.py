"""A hook on the backtester's entry decisions: what live writes to its audit log, per signal.

    Backtester(cfg, calendar).run(bars, ..., observer=my_observer)

Live, each routed signal becomes a SIGNAL audit record (the signals function), then either a
NOT_SENT record (execute could not size it) or a VERDICT (the safety layer's decision). The
backtester makes the same three decisions in ``backtest/entries.decide``; an observer sees each
one as it is made, in the replay's order, so a caller (``maxtrader.parity``) can rebuild the
records live would have written. Without an observer nothing changes: no record, no cost, the
result JSON byte for byte the same.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from maxtrader.domain.models import OrderIntent, Regime, Signal, Verdict
from maxtrader.trading.entries import NotSent

__all__ = ["DecisionObserver"]


class DecisionObserver(Protocol):
    def signal(
        self, signal: Signal, *, regime: Regime, last_price: float, decided_at: datetime
    ) -> None:
        """A signal routed to sizing at ``decided_at`` (its bar's close) under ``regime``."""
        ...

    def not_sent(self, signal: Signal, outcome: NotSent, decided_at: datetime) -> None:
        """``signal`` was not sized into an order (no contract, below one unit)."""
        ...

    def verdict(self, signal: Signal, intent: OrderIntent, verdict: Verdict) -> None:
        """The safety layer's decision on ``signal``'s entry ``intent`` (approved or not)."""
        ...
