"""``SignalQueue`` on an SQS FIFO queue: the signals -> execute hand-off.

Each signal is one message (``maxtrader.trading.signal_message``: versioned JSON) with
``MessageGroupId`` = symbol (a symbol's signals reach execute in decision order) and
``MessageDeduplicationId`` = the signal id (deterministic: a re-sent signal within SQS's
5-minute window is accepted and dropped; execute is idempotent on the id beyond it). Sent in
``SendMessageBatch`` calls of 10, in order (``adapters/sqs_fifo.py``); any failure is a
``SignalQueueUnavailableError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from maxtrader.adapters.dynamodb_calls import new_client
from maxtrader.adapters.sqs_fifo import FifoEntry, require_fifo, send_in_order
from maxtrader.signals.queue import SignalQueueUnavailableError
from maxtrader.trading.signal_message import SignalMessage, encode_signal_message

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SqsSignalQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self.queue_url = require_fifo(queue_url)

    @classmethod
    def create(cls, queue_url: str, *, region: str | None = None) -> SqsSignalQueue:
        return cls(new_client("sqs", region), queue_url)

    def send(self, messages: Sequence[SignalMessage]) -> int:
        entries = [
            FifoEntry(encode_signal_message(m), m.group_id, m.deduplication_id) for m in messages
        ]
        return send_in_order(
            self._client, self.queue_url, entries, noun="signals",
            unavailable=SignalQueueUnavailableError,
        )  # fmt: skip


__all__ = ["SqsSignalQueue"]
