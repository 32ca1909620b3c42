"""Sending to an SQS FIFO queue in order: what the bar queue and the signal queue share.

``send_in_order`` sends ``FifoEntry``s in ``SendMessageBatch`` calls of 10, in the given order
(SQS keeps the order of a group's entries within a batch and across calls). A failed call or
any failed entry raises the caller's domain error (``unavailable``) naming the code: the caller
fails, its retry re-sends everything, and the queue drops what it already holds by each
entry's deduplication id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from maxtrader.domain.errors import MaxTraderError

BATCH_LIMIT = 10  # entries in one SendMessageBatch


@dataclass(frozen=True, slots=True)
class FifoEntry:
    body: str
    group_id: str
    deduplication_id: str


def require_fifo(queue_url: str) -> str:
    if not queue_url.endswith(".fifo"):
        raise ValueError(f"{queue_url} is not a FIFO queue: per-symbol order needs one")
    return queue_url


def send_in_order(
    client: Any,
    queue_url: str,
    entries: Sequence[FifoEntry],
    *,
    noun: str,
    unavailable: Callable[[str], MaxTraderError],
) -> int:
    """Send every entry, in order; ``unavailable(message)`` is raised on any failure."""
    for start in range(0, len(entries), BATCH_LIMIT):
        chunk = entries[start : start + BATCH_LIMIT]
        batch = [
            {
                "Id": str(i),
                "MessageBody": e.body,
                "MessageGroupId": e.group_id,
                "MessageDeduplicationId": e.deduplication_id,
            }
            for i, e in enumerate(chunk)
        ]
        try:
            response = client.send_message_batch(QueueUrl=queue_url, Entries=batch)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise unavailable(f"SendMessageBatch: {code}") from exc
        except BotoCoreError as exc:  # timeouts, connection errors
            raise unavailable(f"SendMessageBatch: {type(exc).__name__}") from exc
        failed = response.get("Failed") or []
        if failed:
            codes = sorted({str(f.get("Code", "")) for f in failed})
            raise unavailable(
                f"SendMessageBatch: {len(failed)} of {len(chunk)} {noun} refused ({codes})"
            )
    return len(entries)


__all__ = ["BATCH_LIMIT", "FifoEntry", "require_fifo", "send_in_order"]
