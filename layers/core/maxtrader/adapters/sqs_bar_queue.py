"""``BarQueue`` on an SQS FIFO queue: the ingest -> signals hand-off.

Each bar is one message (``maxtrader.ingest.messages``: versioned JSON) with ``MessageGroupId``
= symbol, so a symbol's bars are delivered in the order sent, and ``MessageDeduplicationId`` =
symbol + start, so a bar sent again within SQS's 5-minute window is accepted and dropped.
Sent in ``SendMessageBatch`` calls of 10, in order (``adapters/sqs_fifo.py``); a failed call or
any failed entry is a ``BarQueueUnavailableError`` (the caller answers 5xx and the sender's
retry re-sends all of them, the ones already sent being deduplicated).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from maxtrader.adapters.dynamodb_calls import new_client
from maxtrader.adapters.sqs_fifo import BATCH_LIMIT, FifoEntry, require_fifo, send_in_order
from maxtrader.domain.models import Bar
from maxtrader.ingest.messages import deduplication_id, encode_bar_message, group_id
from maxtrader.ingest.queue import BarQueueUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SqsBarQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self.queue_url = require_fifo(queue_url)

    @classmethod
    def create(cls, queue_url: str, *, region: str | None = None) -> SqsBarQueue:
        return cls(new_client("sqs", region), queue_url)

    def send(self, bars: Sequence[Bar]) -> int:
        entries = [
            FifoEntry(encode_bar_message(bar), group_id(bar), deduplication_id(bar)) for bar in bars
        ]
        return send_in_order(
            self._client, self.queue_url, entries, noun="bars",
            unavailable=BarQueueUnavailableError,
        )  # fmt: skip


__all__ = ["BATCH_LIMIT", "SqsBarQueue"]
