"""The Alpaca key pair an ``AlpacaBroker`` signs its requests with, re-read from its source.

    keys = AlpacaKeys(source)        # source(force_fetch) -> (key_id, secret_key)
    keys.refreshed()                 # before a request: the cached value changed? (max_age)
    keys.rotated_after_refusal()     # after Alpaca refused the key: forced re-read changed it?

The functions pass a source over Powertools' cached ``SecretsProvider`` (``secret_key_source``,
used by ``runtime/factory.py``), so a warm container takes up a rotated key without a cold start:
at the first refusal (a forced read through the cache), or once the cache's ``max_age`` passed.
Forced reads are rate-limited (``refresh_interval_seconds``): a key that is really wrong must not
turn every broker call into a Secrets Manager call. A source that cannot be read while a key pair
is held keeps the held one (a working key beats none); with none held (building the broker) its
error is raised (``SecretUnavailableError``). The values are never logged or put in a message.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

from maxtrader.adapters.secrets import AlpacaSecret, Secrets
from maxtrader.domain.errors import InvalidInputError, MaxTraderError

KeyPair = tuple[str, str]  # (key id, secret key)
KeySource = Callable[[bool], KeyPair]  # force_fetch -> the current pair
KEY_REFRESH_INTERVAL_SECONDS = 60.0


def secret_key_source(secrets: Secrets, name: str) -> KeySource:
    """The pair in the Secrets Manager secret ``name`` (an ``AlpacaSecret``)."""

    def source(force_fetch: bool) -> KeyPair:
        secret = secrets.get(name, AlpacaSecret, force_fetch=force_fetch)
        return secret.key_id.get_secret_value(), secret.secret_key.get_secret_value()

    return source


class AlpacaKeys:
    def __init__(
        self,
        source: KeySource,
        *,
        refresh_interval_seconds: float = KEY_REFRESH_INTERVAL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._interval = refresh_interval_seconds
        self._monotonic = monotonic
        self._last_forced: float | None = None
        self._lock = threading.Lock()  # one broker may serve threads (tests, a CLI)
        self.current: KeyPair = self._read(force_fetch=False)

    def refreshed(self) -> bool:
        """Ask the source (its cache); True when the pair changed. Unreadable: the held pair."""
        with self._lock, contextlib.suppress(MaxTraderError):
            return self._take(self._read(force_fetch=False))
        return False

    def rotated_after_refusal(self) -> bool:
        """Alpaca refused the pair: re-read it through the cache, at most once per interval;
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

    def _read(self, *, force_fetch: bool) -> KeyPair:
        key_id, secret_key = self._source(force_fetch)  # its errors are the source's
        if not key_id or not secret_key:
            raise InvalidInputError("an Alpaca API key and secret key are both required")
        return key_id, secret_key

    def _take(self, pair: KeyPair) -> bool:
        changed = pair != self.current
        self.current = pair
        return changed

    def __repr__(self) -> str:
        return "AlpacaKeys(**********)"
