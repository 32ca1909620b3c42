"""Verify, parse, classify, store, hand on, count: the one thing the ingest handler calls.

Order, and why:
1. the body's size and encoding (413/400), before any work proportional to it;
2. the signature (401) before the body is parsed, so a stranger learns nothing about the format;
3. every event validated (400 naming the field) before anything is written: all or nothing;
4. bars of symbols the stage does not trade are counted as ignored, never stored;
5. ``put_bars`` stores the bars idempotently by (symbol, start), then
6. every known bar, new or duplicate, is sent to the queue (FIFO deduplication id = symbol +
   start). Sending the duplicates too is what makes the hand-off survive a fault: a bar stored by
   a request whose enqueue failed reads as a duplicate on the retry and is still handed on; the
   FIFO deduplication window (5 minutes) drops the repeat, and after it the signals path's save
   conditioned on the last bar's timestamp does. A store or queue failure raises (5xx): the
   sender retries and nothing acknowledged is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from maxtrader.domain.clock import Clock
from maxtrader.domain.models import Bar
from maxtrader.domain.ports import SessionStore
from maxtrader.ingest.contract import (
    InvalidBodyError,
    parse_body,
    raw_body,
    unauthorized,
)
from maxtrader.ingest.queue import BarQueue
from maxtrader.webhook import TOLERANCE_SECONDS, BadSignatureError, WebhookSignatureError, verify

# Stored bars outlive a long weekend (a strategy may look back to the previous session).
BAR_RETENTION = timedelta(days=4)
# A bad signature may mean a rotated secret: re-read it, but at most this often (a flood of
# forged requests must not become a flood of Secrets Manager calls).
SECRET_REFRESH_INTERVAL_SECONDS = 60.0


class WebhookKeys:
    """The accepted webhook secrets (current, previous), re-read after a bad signature."""

    def __init__(
        self,
        fetch: Callable[[bool], Sequence[str]],
        *,
        refresh_interval_seconds: float = SECRET_REFRESH_INTERVAL_SECONDS,
    ) -> None:
        self._fetch = fetch  # force_fetch -> the accepted secrets
        self._interval = refresh_interval_seconds
        self._last_refresh: float | None = None

    def current(self) -> Sequence[str]:
        return self._fetch(False)

    def refreshed(self, now: float) -> Sequence[str] | None:
        """Freshly read secrets, or None if they were re-read less than the interval ago."""
        if self._last_refresh is not None and now - self._last_refresh < self._interval:
            return None
        self._last_refresh = now
        return self._fetch(True)


@dataclass(frozen=True, slots=True)
class IngestRequest:
    body: str | None  # as the Function URL event holds it
    is_base64_encoded: bool = False
    signature: str | None = None  # the X-MaxTrader-Signature header


@dataclass(frozen=True, slots=True)
class IngestDependencies:
    store: SessionStore
    queue: BarQueue
    keys: WebhookKeys
    symbols: frozenset[str]

    @classmethod
    def of(
        cls, *, store: SessionStore, queue: BarQueue, keys: WebhookKeys, symbols: Iterable[str]
    ) -> IngestDependencies:
        return cls(store=store, queue=queue, keys=keys, symbols=frozenset(symbols))


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int = 0  # stored anew
    duplicated: int = 0  # already held (or repeated in the request)
    ignored: int = 0  # symbols the stage does not trade
    enqueued: int = 0  # handed on (new and duplicate bars: see the module docstring)
    data_age_seconds: float | None = None  # now - end of the newest known bar

    def answer(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicated": self.duplicated,
            "ignored": self.ignored,
            "enqueued": self.enqueued,
        }


def ingest_bars(request: IngestRequest, deps: IngestDependencies, clock: Clock) -> IngestResult:
    now = clock.now()
    raw = raw_body(request.body, is_base64_encoded=request.is_base64_encoded)
    _authenticate(request.signature, raw, deps.keys, now.timestamp())
    aggregates = parse_body(raw)
    known: list[Bar] = []
    for index, aggregate in enumerate(aggregates):
        if aggregate.e / 1000 > now.timestamp() + TOLERANCE_SECONDS:
            raise InvalidBodyError(
                "invalid_bar", f"push event {index}: field 'e': the bar has not closed yet"
            )
        if aggregate.sym in deps.symbols:
            known.append(aggregate.to_bar())
    ignored = len(aggregates) - len(known)
    if not known:
        return IngestResult(ignored=ignored)
    bars = sorted(known, key=lambda b: (b.symbol, b.ts))  # FIFO order per symbol: by start
    written = deps.store.put_bars(bars, expires_at=now + BAR_RETENTION)
    enqueued = deps.queue.send(_unique(bars))
    newest_end = max(bar.closed_at for bar in bars)
    return IngestResult(
        accepted=len(written.stored),
        duplicated=written.duplicates,
        ignored=ignored,
        enqueued=enqueued,
        data_age_seconds=(now - newest_end).total_seconds(),
    )


def _authenticate(header: str | None, raw: bytes, keys: WebhookKeys, now: float) -> None:
    try:
        verify(header, raw, keys.current(), now=now)
    except BadSignatureError as exc:
        fresh = keys.refreshed(now)
        if fresh is None:
            raise unauthorized(exc) from None
        try:
            verify(header, raw, fresh, now=now)
        except WebhookSignatureError as again:
            raise unauthorized(again) from None
    except WebhookSignatureError as exc:
        raise unauthorized(exc) from None


def _unique(bars: list[Bar]) -> list[Bar]:
    """First of each (symbol, start), as ``put_bars`` keeps it."""
    seen: set[tuple[str, datetime]] = set()
    out = []
    for bar in bars:
        if (bar.symbol, bar.ts) not in seen:
            seen.add((bar.symbol, bar.ts))
            out.append(bar)
    return out


__all__ = [
    "BAR_RETENTION",
    "IngestDependencies",
    "IngestRequest",
    "IngestResult",
    "WebhookKeys",
    "ingest_bars",
]
