"""The signed bar ingest: what the ingest Function URL does, without the Lambda around it.

    ingest_bars(IngestRequest(body, is_base64_encoded, signature), deps, clock) -> IngestResult
    BarQueue (port) / BarQueueUnavailableError     the hand-off to the signals path
    encode_bar_message / decode_bar_message         the versioned message a bar becomes

Not core: it may use the ports and the package's parsers, never boto3 (the queue is behind
``BarQueue``; ``maxtrader.adapters.sqs_bar_queue`` is its SQS FIFO adapter). The contract
(statuses, limits, metrics, the hand-off guarantee) is in docs/ingest.md.
"""

from __future__ import annotations

from maxtrader.ingest.contract import (
    MAX_BODY_BYTES,
    BodyTooLargeError,
    IngestRejectedError,
    InvalidBodyError,
    UnauthorizedError,
)
from maxtrader.ingest.messages import (
    BAR_MESSAGE_VERSION,
    decode_bar_message,
    deduplication_id,
    encode_bar_message,
)
from maxtrader.ingest.queue import BarQueue, BarQueueUnavailableError
from maxtrader.ingest.service import (
    BAR_RETENTION,
    IngestDependencies,
    IngestRequest,
    IngestResult,
    WebhookKeys,
    ingest_bars,
)

__all__ = [
    "BAR_MESSAGE_VERSION",
    "BAR_RETENTION",
    "MAX_BODY_BYTES",
    "BarQueue",
    "BarQueueUnavailableError",
    "BodyTooLargeError",
    "IngestDependencies",
    "IngestRejectedError",
    "IngestRequest",
    "IngestResult",
    "InvalidBodyError",
    "UnauthorizedError",
    "WebhookKeys",
    "decode_bar_message",
    "deduplication_id",
    "encode_bar_message",
    "ingest_bars",
]
