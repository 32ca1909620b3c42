"""A vendor key a warm container holds, re-read from its source so that a rotation is taken up.

    key = RotatingKey(source, validate)   # source(force_fetch) -> the key; validate(key) -> key
    key.refreshed()                       # before a request: the cached value changed?
    key.rotated_after_refusal()           # after a refusal: did a forced re-read change it?

The Alpaca pair (``alpaca_keys.AlpacaKeys``) and the Massive key (``massive_market_data``) are
both held this way. Forced reads are rate-limited (``refresh_interval_seconds``): a key that is
really wrong must not turn every vendor call into a Secrets Manager call. A source that cannot be
read while a key is held keeps the held one (a working key beats none); when building (nothing
held yet) its error is raised. The values are never logged or put in a message.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from maxtrader.domain.errors import MaxTraderError

KEY_REFRESH_INTERVAL_SECONDS = 60.0
K = TypeVar("K")


class RotatingKey(Generic[K]):
    """A vendor key held from its source and re-read as the module says. ``validate`` returns
    the value or raises the vendor's own error for an empty one."""

    def __init__(
        self,
        source: Callable[[bool], K],
        validate: Callable[[K], K],
        *,
        refresh_interval_seconds: float = KEY_REFRESH_INTERVAL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._validate = validate
        self._interval = refresh_interval_seconds
        self._monotonic = monotonic
        self._last_forced: float | None = None
        self._lock = threading.Lock()  # one adapter may serve threads (tests, a CLI)
        self.current: K = self._read(force_fetch=False)

    def refreshed(self) -> bool:
        """Ask the source (its cache); True when the key changed. Unreadable: the held key."""
        with self._lock, contextlib.suppress(MaxTraderError):
            return self._take(self._read(force_fetch=False))
        return False

    def rotated_after_refusal(self) -> bool:
        """The vendor refused the key: re-read it through the cache, at most once per interval;
        True when it changed (the refused request is then worth sending once more)."""
        with self._lock:
            now = self._monotonic()
            if self._last_forced is not None and now - self._last_forced < self._interval:
                return False
            self._last_forced = now
            try:
                return self._take(self._read(force_fetch=True))
            except MaxTraderError:
                return False  # the refusal is what the caller reports, not the re-read

    def _read(self, *, force_fetch: bool) -> K:
        return self._validate(self._source(force_fetch))  # the source's errors are its own

    def _take(self, key: K) -> bool:
        changed = key != self.current
        self.current = key
        return changed

    def __repr__(self) -> str:
        return f"{type(self).__name__}(**********)"
