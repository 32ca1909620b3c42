"""The message a bar becomes on the signals queue: a documented, versioned JSON schema.

    {"version": 1, "kind": "bar", "bar": {"symbol": "SPY", "ts": "2024-06-03T13:30:00Z",
     "open": ..., "high": ..., "low": ..., "close": ..., "volume": ..., "minutes": 1,
     "vwap": ...}}

``ts`` is the bar's start (UTC). A consumer refuses a version it does not know
(``DataError``) rather than guess. The FIFO group is the symbol (bars of a symbol stay in order)
and the deduplication id is symbol + start, so a bar sent twice is delivered once.
"""

from __future__ import annotations

from datetime import UTC
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from maxtrader.domain.errors import DataError
from maxtrader.domain.message_version import VersionOne
from maxtrader.domain.models import Bar

BAR_MESSAGE_VERSION = 1


class BarMessage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: VersionOne
    kind: Literal["bar"]
    bar: Bar


def encode_bar_message(bar: Bar) -> str:
    return BarMessage(version=BAR_MESSAGE_VERSION, kind="bar", bar=bar).model_dump_json()


def decode_bar_message(body: str | bytes) -> Bar:
    # Strict: the producer writes JSON numbers; a boolean is not a minute count nor a volume
    # (lax mode would read ``"minutes": true`` as 1). JSON strings still parse as datetimes.
    try:
        return BarMessage.model_validate_json(body, strict=True).bar
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise DataError(f"bar message: {problems}") from None


def group_id(bar: Bar) -> str:
    return bar.symbol


def deduplication_id(bar: Bar) -> str:
    """``SPY-20240603T1330Z``: symbol + UTC start (SQS allows 128 of these characters)."""
    return f"{bar.symbol}-{bar.ts.astimezone(UTC):%Y%m%dT%H%MZ}"
