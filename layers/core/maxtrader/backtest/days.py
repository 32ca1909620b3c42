"""Which bars belong to which session, and one session's bars of all symbols in time order.

``day_index`` gives each session's [lo, hi) in a symbol's sorted bars, ``session_days`` the
sessions a run replays, ``merge_session`` one session's bars of all symbols in time order with
what each strategy signalled on each bar (trading/session.py routes them).
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.models import Bar, Signal
from maxtrader.domain.strategies.base import step_each


def day_index(bars: Sequence[Bar], calendar: MarketCalendar) -> dict[date, tuple[int, int]]:
    """[lo, hi) of each session's bars in a sorted list (bisect on the session bounds)."""
    if not bars:
        return {}
    stamps = [b.ts for b in bars]
    first = stamps[0].astimezone(NEW_YORK).date()
    last = stamps[-1].astimezone(NEW_YORK).date()
    out: dict[date, tuple[int, int]] = {}
    for session in calendar.sessions_between(first, last):
        lo = bisect.bisect_left(stamps, session.open)
        hi = bisect.bisect_left(stamps, session.close)
        if hi > lo:
            out[session.day] = (lo, hi)
    return out


def session_days(
    bars: Mapping[str, Sequence[Bar]],
    calendar: MarketCalendar,
    *,
    start: date | None = None,
    end: date | None = None,
) -> list[date]:
    """The sessions a run over ``bars`` replays (any symbol has bars; within start..end)."""
    days = {d for b in bars.values() for d in day_index(b, calendar)}
    return sorted(d for d in days if (start is None or d >= start) and (end is None or d <= end))


def merge_session(
    streams: list[list[Bar]],
    strategies: Mapping[str, Any],
    states: dict[str, dict[str, Any]],
) -> tuple[Sequence[Bar], dict[int, dict[str, list[Signal]]]]:
    """The session's bars of all symbols in time order, and what each strategy signalled on the
    bar at each index (by strategy name). A strategy's output depends on its own state and bars
    only (never on fills, the regime or the safety layer), so each symbol's session is stepped
    at once (``step_many``); ``states[name][symbol]`` is updated in place with each state at the
    session's end."""
    per_stream: list[dict[int, dict[str, list[Signal]]]] = []
    for stream in streams:
        symbol = stream[0].symbol
        found: dict[int, dict[str, list[Signal]]] = {}
        for name, strategy in strategies.items():
            many = getattr(strategy, "step_many", None)
            state = states[name][symbol]
            if many is not None:
                states[name][symbol], events = many(state, stream)
            else:
                states[name][symbol], events = step_each(strategy, state, stream)
            for i, signals in events:
                found.setdefault(i, {})[name] = signals
        per_stream.append(found)
    if len(streams) == 1:
        return streams[0], per_stream[0]
    tagged = [[(bar, s, i) for i, bar in enumerate(b)] for s, b in enumerate(streams)]
    merged = list(heapq.merge(*tagged, key=lambda t: _bar_key(t[0])))
    signals_at: dict[int, dict[str, list[Signal]]] = {}
    for k, (_, s, i) in enumerate(merged):
        emitted = per_stream[s].get(i)
        if emitted:
            signals_at[k] = emitted
    return [t[0] for t in merged], signals_at


def _bar_key(bar: Bar) -> tuple[datetime, str]:
    return bar.ts, bar.symbol
