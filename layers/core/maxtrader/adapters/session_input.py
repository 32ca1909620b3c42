"""The checks both ``SessionStore`` adapters make before writing, so they refuse alike."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import Bar
from maxtrader.domain.ports import StoredStrategyState

_MAX_SYMBOL_CHARS = 200  # StoredStrategyState's bound
_MINUTE = timedelta(minutes=1)


def unique_minute_bars(bars: Sequence[Bar], expires_at: datetime) -> tuple[list[Bar], int]:
    """The bars to write, first occurrence of each (symbol, start) kept, and how many repeats
    the batch itself held. Raises ``InvalidInputError`` (before anything is written) for a bar
    that is not 1-minute, one that does not start on a whole minute, or a naive
    ``expires_at``."""
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
        if bar.ts.second or bar.ts.microsecond:
            # Minute bars start on the minute (the vendor's and ingest's rule): a bar's key is
            # then known from its minute, which the newest-bar probe relies on.
            raise InvalidInputError(
                f"bar {bar.symbol} {bar.ts.isoformat()} does not start on a whole minute"
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


def one_symbols_states(states: Sequence[StoredStrategyState]) -> str | None:
    """The one symbol ``states`` belong to (None when empty). Raises ``InvalidInputError``
    (before anything is written) for states of several symbols or a strategy given twice: a
    symbol's states are one item, saved together."""
    symbols = {state.symbol for state in states}
    if len(symbols) > 1:
        raise InvalidInputError(
            f"strategy states of {len(symbols)} symbols in one save: "
            f"{', '.join(sorted(symbols))[:120]}; a save holds one symbol's"
        )
    names = [state.strategy for state in states]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InvalidInputError(f"strategy state(s) {', '.join(repeated)} given twice in one save")
    return symbols.pop() if symbols else None


def session_symbols(symbols: Iterable[str]) -> frozenset[str]:
    """The symbols of a session read, each 1-200 printable characters (a state's bound);
    ``InvalidInputError`` otherwise, and for a bare string (its letters are not symbols)."""
    if isinstance(symbols, str):
        raise InvalidInputError(f"session read: symbols {symbols!r:.80} is one string, not a list")
    wanted = frozenset(symbols)
    for symbol in wanted:
        if (
            not isinstance(symbol, str)
            or not 0 < len(symbol) <= _MAX_SYMBOL_CHARS
            or not symbol.isprintable()
        ):
            raise InvalidInputError(
                f"session read: symbol {symbol!r:.80} is not 1-{_MAX_SYMBOL_CHARS} printable "
                "characters"
            )
    return wanted


def minute_starts(start: datetime, end: datetime, limit: int) -> list[datetime]:
    """The whole minutes ``m`` with ``start <= m < end``, newest first, at most ``limit``."""
    require_range(start, end)
    top = end.replace(second=0, microsecond=0)
    if top == end:  # ``end`` itself is excluded
        top -= _MINUTE
    out: list[datetime] = []
    while top >= start and len(out) < limit:
        out.append(top)
        top -= _MINUTE
    return out
