"""Signed webhooks: the relay signs each POST, the ingest handler verifies it.

    header = sign(body, secret, t=int(now))                 # "t=1717423200,v1=<64 hex>"
    verify(header, body, secret, now=now)                  # None, or a WebhookSignatureError

The header (``X-MaxTrader-Signature``) carries the signer's unix time and the hex HMAC-SHA256 of
``"<t>.<raw body>"`` under the shared secret. Signing the time with the body makes a captured
request useless after ``TOLERANCE_SECONDS``: an older (or, from a clock far ahead, a newer)
timestamp is refused as a replay even when its signature is right. ``now`` is always passed in:
nothing here reads a clock.

``verify`` accepts several secrets (the current and the previous one during a rotation) and several
``v1=`` entries; unknown ``key=value`` entries (a later scheme) are ignored. It raises only the
``WebhookSignatureError`` subclasses below, whatever the header or body holds: the caller maps them
all to 401 and may log the class name (never the header, which is as good as a credential while it
is fresh).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

from maxtrader.domain.errors import InvalidInputError, MaxTraderError

SIGNATURE_HEADER = "X-MaxTrader-Signature"
SCHEME = "v1"
TOLERANCE_SECONDS = 300
MAX_HEADER_LENGTH = 1024  # a few v1 entries fit; anything longer is not ours
_DIGITS = re.compile(r"[0-9]{1,12}")  # unix seconds until the year 33658: bounded work
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")

Secret = str | bytes


class WebhookSignatureError(MaxTraderError):
    """The request is not proven to come from a holder of the secret, recently."""


class MissingSignatureError(WebhookSignatureError):
    """No signature header at all."""


class MalformedSignatureError(WebhookSignatureError):
    """A header that is not ``t=<unix seconds>,v1=<hex>``."""


class BadSignatureError(WebhookSignatureError):
    """Well formed, but no ``v1`` matches the body under any of the secrets."""


class StaleSignatureError(WebhookSignatureError):
    """Authentic, but signed outside the tolerance: a replay, or a clock far off."""

    def __init__(self, message: str, *, age_seconds: float) -> None:
        super().__init__(message)
        self.age_seconds = age_seconds


def sign(body: bytes, secret: Secret, t: int) -> str:
    """The header value for ``body`` signed at unix time ``t`` (whole seconds)."""
    if isinstance(t, bool) or not isinstance(t, int) or t < 0:
        raise InvalidInputError(f"the signing time must be whole unix seconds, not {t!r}")
    return f"t={t},{SCHEME}={_digest(_key(secret), t, body)}"


def verify(
    header: str | None,
    body: bytes,
    secret: Secret | Sequence[Secret],
    *,
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> None:
    """Raise a ``WebhookSignatureError`` unless ``header`` signs ``body`` within ``tolerance``."""
    keys = [_key(s) for s in _secrets(secret)]
    if header is None or not header.strip():
        raise MissingSignatureError(f"no {SIGNATURE_HEADER} header")
    t, signatures = _parse(header)
    expected = [_digest(key, t, body) for key in keys]
    # Every pair is compared (no early exit) so the time taken says nothing about which matched.
    matched = False
    for candidate in signatures:
        for digest in expected:
            matched |= hmac.compare_digest(candidate, digest)
    if not matched:
        raise BadSignatureError("the signature does not match the body")
    age = now - t
    if age > tolerance:
        raise StaleSignatureError(
            f"signed {age:.1f} s ago, more than {tolerance} s: refused as a replay",
            age_seconds=age,
        )
    if age < -tolerance:
        raise StaleSignatureError(
            f"signed {-age:.1f} s in the future, more than {tolerance} s: the signer's clock "
            "is wrong",
            age_seconds=age,
        )


def _parse(header: str) -> tuple[int, list[str]]:
    if len(header) > MAX_HEADER_LENGTH:
        raise MalformedSignatureError(f"the header is longer than {MAX_HEADER_LENGTH} characters")
    times: list[str] = []
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise MalformedSignatureError("the header is not a list of key=value entries")
        if key == "t":
            times.append(value)
        elif key == SCHEME:
            signatures.append(value.lower())
    if len(times) != 1 or _DIGITS.fullmatch(times[0]) is None:
        raise MalformedSignatureError("the header needs exactly one t=<unix seconds>")
    if not signatures:
        raise MalformedSignatureError(f"the header has no {SCHEME}= signature")
    if not all(_HEX_DIGEST.fullmatch(s) for s in signatures):
        raise MalformedSignatureError(f"a {SCHEME}= entry is not 64 hex digits")
    return int(times[0]), signatures


def _secrets(secret: Secret | Sequence[Secret]) -> list[Secret]:
    secrets: list[Secret] = [secret] if isinstance(secret, str | bytes) else list(secret)
    if not secrets:
        raise InvalidInputError("no webhook secret configured")
    return secrets


def _key(secret: Secret) -> bytes:
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    if not key:
        raise InvalidInputError("the webhook secret is empty")
    return key


def _digest(key: bytes, t: int, body: bytes) -> str:
    return hmac.new(key, str(t).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
