"""The ingest's request contract: the body limit, how it is read, and the refusals (4xx).

Each refusal carries its HTTP status and a short ``reason`` (the ``IngestRejected`` metric's
dimension); its message names the problem (the field of an invalid bar) and never quotes the
signature header, which is as good as a credential while it is fresh.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, ClassVar

from maxtrader.data.push import MinuteAggregate, parse_minute_aggregates
from maxtrader.domain.errors import DataError, MaxTraderError
from maxtrader.webhook import (
    BadSignatureError,
    MalformedSignatureError,
    MissingSignatureError,
    StaleSignatureError,
    WebhookSignatureError,
)

MAX_BODY_BYTES = 256 * 1024
# The base64 text of MAX_BODY_BYTES (padding included): longer text is refused undecoded.
_MAX_BASE64_CHARS = 4 * ((MAX_BODY_BYTES + 2) // 3)


class IngestRejectedError(MaxTraderError):
    """The request is refused as sent; nothing was written. A retry of the same will fail too."""

    status: ClassVar[int] = 400

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class UnauthorizedError(IngestRejectedError):
    status = 401


class InvalidBodyError(IngestRejectedError):
    status = 400


class BodyTooLargeError(IngestRejectedError):
    status = 413


_SIGNATURE_REASONS: tuple[tuple[type[WebhookSignatureError], str], ...] = (
    (MissingSignatureError, "missing_signature"),
    (MalformedSignatureError, "malformed_signature"),
    (BadSignatureError, "bad_signature"),
    (StaleSignatureError, "replay"),
)


def unauthorized(exc: WebhookSignatureError) -> UnauthorizedError:
    reason = next((r for kind, r in _SIGNATURE_REASONS if isinstance(exc, kind)), "unauthorized")
    return UnauthorizedError(reason, str(exc))


def raw_body(body: str | None, *, is_base64_encoded: bool) -> bytes:
    """The bytes the sender signed: a Function URL passes text as is, binary as base64."""
    if body is None:
        return b""
    too_large = BodyTooLargeError("too_large", f"the body is larger than {MAX_BODY_BYTES} bytes")
    if is_base64_encoded:
        if len(body) > _MAX_BASE64_CHARS:
            raise too_large
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidBodyError("malformed_body", "isBase64Encoded, but not base64") from None
    else:
        if len(body) > MAX_BODY_BYTES:  # never fewer bytes than characters
            raise too_large
        try:
            raw = body.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidBodyError("malformed_body", "the body is not UTF-8 text") from None
    if len(raw) > MAX_BODY_BYTES:
        raise too_large
    return raw


def parse_body(raw: bytes) -> list[MinuteAggregate]:
    """One AM event or a JSON array of them (status events skipped); 400 naming the field."""
    try:
        payload: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:200]
        raise InvalidBodyError("malformed_json", f"the body is not JSON: {reason}") from None
    if not isinstance(payload, dict | list):
        raise InvalidBodyError(
            "invalid_bar", "the body must be an AM event or a JSON array of AM events"
        )
    try:
        return parse_minute_aggregates(payload if isinstance(payload, list) else [payload])
    except DataError as exc:
        raise InvalidBodyError("invalid_bar", str(exc)) from None
    except RecursionError:
        raise InvalidBodyError("invalid_bar", "an event is nested too deeply") from None
