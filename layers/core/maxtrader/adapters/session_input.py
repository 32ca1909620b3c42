"""The checks both ``SessionStore`` adapters make before writing bars, so they refuse alike."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import Bar


def unique_minute_bars(bars: Sequence[Bar], expires_at: datetime) -> tuple[list[Bar], int]:
    """The bars to write, first occurrence of each (symbol, start) kept, and how many repeats
    the batch itself held. Raises ``InvalidInputError`` (before anything is written) for a bar
    that is not 1-minute or a naive ``expires_at``."""
    if expires_at.tzinfo is None or expires_at.utcoffset() is None:
        raise InvalidInputError(f"expires_at {expires_at.isoformat()} is naive")
    seen: set[tuple[str, datetime]] = set()
    unique: list[Bar] = []
    for bar in bars:
        if bar.minutes != 1:
            raise InvalidInputError(
                f"bar {bar.symbol} {bar.ts.isoformat()} spans {bar.minutes} minutes; "
                "the session store keeps 1-minute bars"
            )
        identity = (bar.symbol, bar.ts)
        if identity not in seen:
            seen.add(identity)
            unique.append(bar)
    return unique, len(bars) - len(unique)


def require_range(start: datetime, end: datetime) -> None:
    """A bar range must be timezone-aware at both ends (naive times cannot be compared)."""
    for name, when in (("start", start), ("end", end)):
        if when.tzinfo is None or when.utcoffset() is None:
            raise InvalidInputError(f"bar range {name} {when.isoformat()} is naive")
