"""Marks: the broker's prices of what is held -> ``SafetyEngine.mark_to_market``.

    marks_for(tickets, positions, newest_bar, now, max_age) -> (marks, references)

The mark of a held symbol is the broker's current price of the position (Alpaca's
``current_price``, options included). The collar's reference (domain/safety/marks_collar.py)
is, for an equity, the close of the newest stored minute bar of the symbol when it is fresh;
an option has none (the collar then bounds the mark by its entry price). The equity booked is
the broker account's. The engine stores the marks, the equity and the peak, trips the drawdown
breaker and the high-water-mark stop: nothing of that is re-done here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from maxtrader.domain.broker import BrokerPosition
from maxtrader.domain.models import Bar, Instrument
from maxtrader.domain.safety.state import Ticket

__all__ = ["marks_for"]

_MINUTE = timedelta(minutes=1)
_INSTANT = timedelta(microseconds=1)  # the ranges are half-open: a bar closing at now is in


def marks_for(
    tickets: Sequence[Ticket],
    positions: Mapping[str, BrokerPosition],
    newest_bar: Callable[[str, datetime, datetime], Bar | None],
    now: datetime,
    max_age: timedelta,
) -> tuple[dict[str, float], dict[str, float]]:
    marks: dict[str, float] = {}
    references: dict[str, float] = {}
    for symbol in sorted({t.symbol for t in tickets if t.qty}):
        held = positions.get(symbol)
        if held is None or held.market_price is None:
            continue  # no price: the stored mark stands (reconciliation reports the position)
        marks[symbol] = held.market_price
        if held.instrument is Instrument.EQUITY:
            # The newest bar closed by now: it starts a minute before now at the latest.
            closed = newest_bar(symbol, now - max_age, now - _MINUTE + _INSTANT)
            if closed is not None:
                references[symbol] = closed.close
    return marks, references
