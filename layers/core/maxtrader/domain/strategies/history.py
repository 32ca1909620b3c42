"""Prior-session history split by New York date, and a backtest's way of doing it only once.

``start_session(symbol, session, history)`` receives the bars of prior sessions as any
``Sequence[Bar]``. Live, history is a plain list and ``prior_sessions`` splits it in one pass.
A backtest starts a session every day over the same bar list, so the driver passes a
``SessionHistory`` instead: still a Sequence of exactly the same bars, but its split is read off
date spans computed once per run (``BarDays``), and each span carries a memo shared by every
session start of the run, so a per-session summary (the ATR series, ...) is computed once per
session of data rather than once per session started. The result is identical either way
(tests/unit/strategies/test_history.py pins it); a list that is not strictly increasing falls
back to the plain split, which raises as it always did.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar, cast, overload

from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import Bar

T = TypeVar("T")
Memo = dict[Hashable, Any]


@dataclass(frozen=True, slots=True)
class PriorSession:
    """One prior session's bars; ``memo`` (driver only) caches summaries of exactly these bars."""

    day: date
    bars: Sequence[Bar]
    memo: Memo | None = None

    def summary(self, key: Hashable, compute: Callable[[Sequence[Bar]], T]) -> T:
        """``compute(self.bars)``, computed once per run when the driver shares a memo.

        ``key`` must name everything ``compute`` depends on besides the bars (e.g. the period).
        """
        if self.memo is None:
            return compute(self.bars)
        if key in self.memo:
            return cast(T, self.memo[key])
        value = self.memo[key] = compute(self.bars)
        return value


def _look_ahead(day: date, ts: datetime, before: date) -> InvalidInputError:
    return InvalidInputError(
        f"history holds a bar of {day.isoformat()} ({ts.isoformat()}), not strictly "
        f"before the session of {before.isoformat()}: that would be a look-ahead"
    )


def _spans(bars: Sequence[Bar], before: date | None) -> list[tuple[date, int, int]]:
    """(New York date, lo, hi) of each run of same-date bars; raises on an unsorted list, and
    (when ``before`` is given) on a bar of that date or later."""
    spans: list[tuple[date, int, int]] = []
    previous_ts: datetime | None = None
    day_end: datetime | None = None  # next New York midnight: cheaper than a date per bar
    start, day = 0, date.min
    for i, bar in enumerate(bars):
        ts = bar.ts
        if previous_ts is not None and ts <= previous_ts:
            raise InvalidInputError(f"history is not strictly increasing at {ts.isoformat()}")
        previous_ts = ts
        if day_end is None or ts >= day_end:
            if i:
                spans.append((day, start, i))
            day = ts.astimezone(NEW_YORK).date()
            if before is not None and day >= before:
                raise _look_ahead(day, ts, before)
            day_end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=NEW_YORK)
            day_end = day_end.astimezone(ts.tzinfo)  # same instant; same-zone compares are fast
            start = i
    if bars:
        spans.append((day, start, len(bars)))
    return spans


def prior_sessions(history: Sequence[Bar], before: date) -> list[PriorSession]:
    """Prior-session bars grouped by New York date, oldest first.

    Bars must be strictly increasing in time (the loaders guarantee it) and all before the date
    ``before``; otherwise ValueError (an unsorted list, or a look-ahead).
    """
    if isinstance(history, SessionHistory):
        return history.sessions(before)
    return [PriorSession(day, history[lo:hi]) for day, lo, hi in _spans(history, before)]


class BarDays:
    """The New York date spans of one bar list, computed once (a backtest run per symbol)."""

    def __init__(self, bars: Sequence[Bar]) -> None:
        self.bars = bars
        try:
            self.spans: list[tuple[date, int, int]] | None = _spans(bars, None)
        except ValueError:
            self.spans = None  # unsorted: every history falls back to the plain split
        self._starts = [lo for _, lo, _ in self.spans or ()]
        self._memo: dict[tuple[int, int], Memo] = {}

    def history(self, lo: int, hi: int) -> SessionHistory:
        """The bars ``[lo, hi)`` as a SessionHistory."""
        return SessionHistory(self, lo, hi)

    def _sessions(self, lo: int, hi: int, before: date) -> list[PriorSession]:
        spans = self.spans
        if spans is None:
            return prior_sessions(list(self.bars[lo:hi]), before)
        out: list[PriorSession] = []
        first = max(bisect.bisect_right(self._starts, lo) - 1, 0)
        for day, s_lo, s_hi in spans[first:]:
            a, b = max(s_lo, lo), min(s_hi, hi)
            if a >= b:
                if s_lo >= hi:
                    break
                continue
            if day >= before:
                raise _look_ahead(day, self.bars[a].ts, before)
            memo = self._memo.setdefault((a, b), {})
            out.append(PriorSession(day, self.bars[a:b], memo))
        return out


class SessionHistory(Sequence[Bar]):
    """Bars ``[lo, hi)`` of a BarDays' list: a plain Sequence[Bar] whose split is precomputed."""

    __slots__ = ("_days", "_hi", "_lo")

    def __init__(self, days: BarDays, lo: int, hi: int) -> None:
        self._days, self._lo, self._hi = days, lo, max(hi, lo)

    def sessions(self, before: date) -> list[PriorSession]:
        return self._days._sessions(self._lo, self._hi, before)

    def __len__(self) -> int:
        return self._hi - self._lo

    @overload
    def __getitem__(self, index: int) -> Bar: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Bar]: ...
    def __getitem__(self, index: int | slice) -> Bar | Sequence[Bar]:
        if isinstance(index, slice):
            return self._days.bars[self._lo : self._hi][index]
        n = self._hi - self._lo
        if not -n <= index < n:
            raise IndexError("history index out of range")
        return self._days.bars[self._lo + index % n]

    def __iter__(self) -> Iterator[Bar]:
        bars = self._days.bars
        for i in range(self._lo, self._hi):
            yield bars[i]
