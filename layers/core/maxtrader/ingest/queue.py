"""The port the ingest hands new bars on through (SQS FIFO in production)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from maxtrader.domain.errors import MaxTraderError
from maxtrader.domain.models import Bar


class BarQueueUnavailableError(MaxTraderError):
    """Some bars may not have been handed on: the caller answers 5xx so the sender retries."""


class BarQueue(Protocol):
    def send(self, bars: Sequence[Bar]) -> int:
        """Hand ``bars`` on, in the given order per symbol; return how many were sent.

        Idempotent per (symbol, start) for at least the queue's deduplication window: sending a
        bar again is harmless. All sent, or ``BarQueueUnavailableError`` (some may have been)."""
        ...
