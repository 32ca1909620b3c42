"""In-memory ``SignalQueue``: unit tests and simulations. FIFO per symbol, deduplicated by id.

Like SQS FIFO, a message whose deduplication id (the signal id) was already accepted is
accepted again and not delivered twice (here for the queue's whole life, not five minutes).
``fail_next(n)`` makes the next ``n`` sends raise ``SignalQueueUnavailableError`` with nothing
delivered.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from maxtrader.signals.queue import SignalQueueUnavailableError
from maxtrader.trading.signal_message import SignalMessage


class InMemorySignalQueue:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.delivered: list[SignalMessage] = []  # in delivery order
        self.sends = 0  # send calls that succeeded
        self._ids: set[str] = set()
        self._failures = 0

    def fail_next(self, times: int = 1) -> None:
        self._failures += times

    def send(self, messages: Sequence[SignalMessage]) -> int:
        with self._lock:
            if self._failures:
                self._failures -= 1
                raise SignalQueueUnavailableError("in-memory signal queue: injected failure")
            for message in messages:
                if message.deduplication_id not in self._ids:
                    self._ids.add(message.deduplication_id)
                    self.delivered.append(message)
            self.sends += 1
            return len(messages)


__all__ = ["InMemorySignalQueue"]
