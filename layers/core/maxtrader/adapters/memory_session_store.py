"""In-memory ``SessionStore``: backtests and unit tests. Same semantics as the DynamoDB one.

One lock makes every operation atomic (a session read sees one instant; a symbol's states are
saved all or none); the conditional state save compares ``last_bar_ts`` exactly as the DynamoDB
condition does, so a replay drops the stale deliveries live would drop.
Expiry times are not kept: nothing here outlives its process.
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from maxtrader.adapters.session_input import (
    one_symbols_states,
    require_range,
    session_symbols,
    unique_minute_bars,
)
from maxtrader.domain.models import Bar
from maxtrader.domain.ports import BarWriteResult, SessionSnapshot, StoredStrategyState
from maxtrader.domain.regime import RegimeState


class InMemorySessionStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[tuple[str, str], StoredStrategyState] = {}
        self._regimes: dict[date, RegimeState] = {}
        self._bars: dict[str, dict[datetime, Bar]] = defaultdict(dict)
        self._bar_starts: dict[str, list[datetime]] = defaultdict(list)  # sorted, per symbol

    def read_session(self, day: date, symbols: Iterable[str]) -> SessionSnapshot:
        wanted = session_symbols(symbols)
        with self._lock:
            states = {k: v for k, v in self._states.items() if k[1] in wanted}
            return SessionSnapshot(day, wanted, states, self._regimes.get(day))

    def strategy_state(self, strategy: str, symbol: str) -> StoredStrategyState | None:
        with self._lock:
            return self._states.get((strategy, symbol))

    def save_strategy_states(self, states: Sequence[StoredStrategyState]) -> bool:
        one_symbols_states(states)
        with self._lock:
            for state in states:
                current = self._states.get((state.strategy, state.symbol))
                if current is not None and current.last_bar_ts >= state.last_bar_ts:
                    return False
            for state in states:
                self._states[(state.strategy, state.symbol)] = state
            return True

    def save_strategy_state(self, state: StoredStrategyState) -> bool:
        return self.save_strategy_states([state])

    def regime(self, day: date) -> RegimeState | None:
        with self._lock:
            return self._regimes.get(day)

    def save_regime(self, state: RegimeState) -> None:
        with self._lock:
            self._regimes[state.day] = state

    def put_bars(self, bars: Sequence[Bar], *, expires_at: datetime) -> BarWriteResult:
        unique, repeats = unique_minute_bars(bars, expires_at)
        stored: list[Bar] = []
        with self._lock:
            for bar in unique:
                held = self._bars[bar.symbol]
                if bar.ts in held:
                    continue
                held[bar.ts] = bar
                bisect.insort(self._bar_starts[bar.symbol], bar.ts)
                stored.append(bar)
        return BarWriteResult(stored=tuple(stored), duplicates=repeats + len(unique) - len(stored))

    def bars(self, symbol: str, start: datetime, end: datetime) -> list[Bar]:
        require_range(start, end)
        with self._lock:
            starts = self._bar_starts.get(symbol, [])
            lo, hi = bisect.bisect_left(starts, start), bisect.bisect_left(starts, end)
            held = self._bars.get(symbol, {})
            return [held[ts] for ts in starts[lo:hi]]

    def newest_bar(self, symbol: str, start: datetime, end: datetime) -> Bar | None:
        require_range(start, end)
        with self._lock:
            starts = self._bar_starts.get(symbol, [])
            lo, hi = bisect.bisect_left(starts, start), bisect.bisect_left(starts, end)
            return self._bars[symbol][starts[hi - 1]] if hi > lo else None

    def newest_bars(
        self, symbols: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, Bar | None]:
        return {symbol: self.newest_bar(symbol, start, end) for symbol in symbols}


__all__ = ["InMemorySessionStore"]
