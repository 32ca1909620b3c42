"""In-memory ``MarketData``: recorded minute bars served as the port promises (tests, replays).

``fail_next(n)`` makes the next ``n`` calls raise ``DataError`` (a vendor outage; ``recover()``
ends it); ``calls``
records each ``minute_bars`` request as (symbol, start, end).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from maxtrader.domain.errors import DataError
from maxtrader.domain.models import Bar
from maxtrader.domain.ports import VixReading


class InMemoryMarketData:
    def __init__(self, bars: Iterable[Bar] = (), vix: VixReading | None = None) -> None:
        self._bars: dict[str, list[Bar]] = defaultdict(list)
        self._starts: dict[str, list[datetime]] = defaultdict(list)
        self.vix = vix
        self.calls: list[tuple[str, datetime, datetime]] = []
        self._failures = 0
        self.add(bars)

    def add(self, bars: Iterable[Bar]) -> None:
        for bar in bars:
            held = self._bars[bar.symbol]
            starts = self._starts[bar.symbol]
            i = bisect.bisect_left(starts, bar.ts)
            if i < len(starts) and starts[i] == bar.ts:
                held[i] = bar
            else:
                starts.insert(i, bar.ts)
                held.insert(i, bar)

    def fail_next(self, times: int = 1) -> None:
        self._failures += times

    def recover(self) -> None:
        """Forget the failures still pending."""
        self._failures = 0

    def _fault(self) -> None:
        if self._failures:
            self._failures -= 1
            raise DataError("in-memory market data: injected outage")

    def minute_bars(self, symbol: str, start: datetime, end: datetime) -> list[Bar]:
        self.calls.append((symbol, start, end))
        self._fault()
        starts = self._starts.get(symbol, [])
        lo, hi = bisect.bisect_left(starts, start), bisect.bisect_left(starts, end)
        return self._bars[symbol][lo:hi]

    def latest_vix(self) -> VixReading | None:
        self._fault()
        return self.vix


__all__ = ["InMemoryMarketData"]
