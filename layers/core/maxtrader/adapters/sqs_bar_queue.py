"""``BarQueue`` on an SQS FIFO queue: the ingest -> signals hand-off.

Each bar is one message (``maxtrader.ingest.messages``: versioned JSON) with ``MessageGroupId``
= symbol, so a symbol's bars are delivered in the order sent, and ``MessageDeduplicationId`` =
symbol + start, so a bar sent again within SQS's 5-minute window is accepted and dropped.
Sent in ``SendMessageBatch`` calls of 10, in order; a failed call or any failed entry is a
``BarQueueUnavailableError`` (the caller answers 5xx and the sender's retry re-sends all of them,
the ones already sent being deduplicated).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from maxtrader.adapters.dynamodb_calls import new_client
from maxtrader.domain.models import Bar
from maxtrader.ingest.messages import deduplication_id, encode_bar_message, group_id
from maxtrader.ingest.queue import BarQueueUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

BATCH_LIMIT = 10  # entries in one SendMessageBatch


class SqsBarQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        if not queue_url.endswith(".fifo"):
            raise ValueError(f"{queue_url} is not a FIFO queue: per-symbol order needs one")
        self._client = client
        self.queue_url = queue_url

    @classmethod
    def create(cls, queue_url: str, *, region: str | None = None) -> SqsBarQueue:
        return cls(new_client("sqs", region), queue_url)

    def send(self, bars: Sequence[Bar]) -> int:
        for start in range(0, len(bars), BATCH_LIMIT):
            chunk = bars[start : start + BATCH_LIMIT]
            entries = [
                {
                    "Id": str(i),
                    "MessageBody": encode_bar_message(bar),
                    "MessageGroupId": group_id(bar),
                    "MessageDeduplicationId": deduplication_id(bar),
                }
                for i, bar in enumerate(chunk)
            ]
            try:
                response = self._client.send_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=entries,  # type: ignore[arg-type]
                )
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                raise BarQueueUnavailableError(f"SendMessageBatch: {code}") from exc
            except BotoCoreError as exc:  # timeouts, connection errors
                raise BarQueueUnavailableError(f"SendMessageBatch: {type(exc).__name__}") from exc
            failed = response.get("Failed") or []
            if failed:
                codes = sorted({str(f.get("Code", "")) for f in failed})
                raise BarQueueUnavailableError(
                    f"SendMessageBatch: {len(failed)} of {len(chunk)} bars refused ({codes})"
                )
        return len(bars)


__all__ = ["SqsBarQueue"]
