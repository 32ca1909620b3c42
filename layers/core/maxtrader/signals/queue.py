"""The port signals hand their messages on through (SQS FIFO in production) to execute."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from maxtrader.domain.errors import MaxTraderError
from maxtrader.trading.signal_message import SignalMessage


class SignalQueueUnavailableError(MaxTraderError):
    """Some messages may not have been handed on: the caller fails, and its retry re-sends
    them all (the queue drops the ones already delivered by their deduplication id)."""


class SignalQueue(Protocol):
    def send(self, messages: Sequence[SignalMessage]) -> int:
        """Hand ``messages`` on in the given order per symbol; return how many were sent.

        Idempotent per signal id for at least the queue's deduplication window. All sent, or
        ``SignalQueueUnavailableError`` (some may have been)."""
        ...


__all__ = ["SignalQueue", "SignalQueueUnavailableError"]
