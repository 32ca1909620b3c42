"""The Alpaca key pair an ``AlpacaBroker`` signs its requests with, re-read from its source.

    keys = AlpacaKeys(source)        # source(force_fetch) -> (key_id, secret_key)
    keys.refreshed()                 # before a request: the cached value changed? (max_age)
    keys.rotated_after_refusal()     # after Alpaca refused the key: forced re-read changed it?

The functions pass a source over Powertools' cached ``SecretsProvider`` (``secret_key_source``,
used by ``runtime/factory.py``), so a warm container takes up a rotated key without a cold start:
at the first refusal (a forced read through the cache), or once the cache's ``max_age`` passed.
Forced reads are rate-limited (``rotating_key.RotatingKey``): a key that is really wrong must not
turn every broker call into a Secrets Manager call. A source that cannot be read while a key pair
is held keeps the held one (a working key beats none); with none held (building the broker) its
error is raised (``SecretUnavailableError``). The values are never logged or put in a message.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from maxtrader.adapters.rotating_key import KEY_REFRESH_INTERVAL_SECONDS, RotatingKey
from maxtrader.adapters.secrets import AlpacaSecret, Secrets
from maxtrader.domain.errors import InvalidInputError

KeyPair = tuple[str, str]  # (key id, secret key)
KeySource = Callable[[bool], KeyPair]  # force_fetch -> the current pair
__all__ = ["KEY_REFRESH_INTERVAL_SECONDS", "AlpacaKeys", "KeySource", "secret_key_source"]


def secret_key_source(secrets: Secrets, name: str) -> KeySource:
    """The pair in the Secrets Manager secret ``name`` (an ``AlpacaSecret``)."""

    def source(force_fetch: bool) -> KeyPair:
        secret = secrets.get(name, AlpacaSecret, force_fetch=force_fetch)
        return secret.key_id.get_secret_value(), secret.secret_key.get_secret_value()

    return source


def _both_keys(pair: KeyPair) -> KeyPair:
    if not pair[0] or not pair[1]:
        raise InvalidInputError("an Alpaca API key and secret key are both required")
    return pair


class AlpacaKeys(RotatingKey[KeyPair]):
    def __init__(
        self,
        source: KeySource,
        *,
        refresh_interval_seconds: float = KEY_REFRESH_INTERVAL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            source,
            _both_keys,
            refresh_interval_seconds=refresh_interval_seconds,
            monotonic=monotonic,
        )
