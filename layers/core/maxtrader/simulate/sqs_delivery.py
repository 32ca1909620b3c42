"""Queue messages carried to the next function as Lambda's SQS event source mapping does.

    delivery = QueueDelivery(sqs, queue_url, queue_arn, region="us-east-1")
    outcome = delivery.drain(invoke)          # invoke(event) -> the handler's answer

Lambda polls the queue, hands the function up to ``batch_size`` records in one event
(``sqs_event``: the real record shape, FIFO attributes included), deletes the records of a batch
that succeeded, and leaves failed ones on the queue: with ``ReportBatchItemFailures`` the answer
``{"batchItemFailures": [{"itemIdentifier": id}]}`` names them; a raised exception fails the
whole batch. A failed record becomes visible again when its visibility timeout runs out: here,
at the next ``drain`` (the simulated clock has moved on by then), so the redelivery is real
and SQS counts the receive (the redrive policy moves it to the dead-letter queue after
``maxReceiveCount`` receives, as in AWS).

A drain polls only a queue that may hold something: one sent to since the last drain
(``sent()``, which the runner calls from a botocore hook on every ``SendMessage*`` to it), one
with records failed back, or one whose last drain stopped before it came back empty; and a
batch shorter than the maximum ends the drain (everything visible fitted in it; a message held
behind a failed one of its FIFO group comes with the failed one's redelivery, which polls).
Lambda's poller asks an empty queue all day; those answers are known here without asking, and
each costs moto a request. Successful records are deleted with one ``DeleteMessageBatch`` per batch,
as Lambda does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

BATCH_SIZE = 10  # Lambda's maximum for a FIFO source
Invoke = Callable[[dict[str, Any]], Any]
_SYSTEM_ATTRIBUTES = ["All"]


def queue_name(url: str) -> str:
    """The queue's name: the last part of its URL (the handlers' and the simulator's URLs may
    differ in host, never in name)."""
    return url.rstrip("/").rsplit("/", 1)[-1]


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of a Lambda SQS event, from a ``ReceiveMessage`` message."""
    body = message["Body"]
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": {k: str(v) for k, v in sorted(message.get("Attributes", {}).items())},
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - SQS's own checksum
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    return {"Records": [sqs_record(m, queue_arn, region) for m in messages]}


def failed_ids(answer: Any, records: list[dict[str, Any]]) -> set[str]:
    """The message ids the handler's answer reports as failed (none: all succeeded)."""
    if not isinstance(answer, dict):
        return set()
    failures = answer.get("batchItemFailures") or []
    known = {r["messageId"] for r in records}
    return {str(f.get("itemIdentifier")) for f in failures if isinstance(f, dict)} & known


@dataclass
class DrainOutcome:
    delivered: int = 0  # records handed to the function (a redelivery counts again)
    succeeded: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)  # exceptions the function raised


@dataclass
class QueueDelivery:
    sqs: Any
    queue_url: str
    queue_arn: str
    region: str
    batch_size: int = BATCH_SIZE
    _to_retry: list[str] = field(default_factory=list)  # receipt handles of failed records
    _may_hold: bool = True  # unknown at the start: the first drain asks

    @property
    def name(self) -> str:
        return queue_name(self.queue_url)

    def sent(self) -> None:
        """Something was sent to the queue: the next drain must poll it."""
        self._may_hold = True

    def drain(self, invoke: Invoke, *, max_batches: int = 100) -> DrainOutcome:
        """Deliver what is visible now, batch after batch, until the queue has nothing more."""
        outcome = DrainOutcome()
        if not self._may_hold and not self._to_retry:
            return outcome  # nothing sent, nothing failed back: an empty poll, not asked
        self._release_failed()
        self._may_hold = False  # a send during the invokes below marks it again
        failed_now: list[str] = []
        for batch in range(max_batches):
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=self.batch_size,
                WaitTimeSeconds=0,
                MessageSystemAttributeNames=_SYSTEM_ATTRIBUTES,
                VisibilityTimeout=120,
            ).get("Messages", [])
            if not messages:
                break
            if batch == max_batches - 1:
                self._may_hold = True  # stopped before the queue came back empty
            event = sqs_event(messages, self.queue_arn, self.region)
            outcome.delivered += len(messages)
            try:
                failed = failed_ids(invoke(event), event["Records"])
            except Exception as exc:
                outcome.errors.append(f"{type(exc).__name__}: {exc}")
                failed = {m["MessageId"] for m in messages}
            done = [m for m in messages if m["MessageId"] not in failed]
            failed_now += [m["ReceiptHandle"] for m in messages if m["MessageId"] in failed]
            outcome.failed += len(messages) - len(done)
            outcome.succeeded += len(done)
            if done:
                self._delete(done)
            if len(messages) < self.batch_size:
                break  # all that was visible: asking again would come back empty
        self._to_retry = failed_now
        return outcome

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        answer = self.sqs.delete_message_batch(
            QueueUrl=self.queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                     for i, m in enumerate(messages)],
        )  # fmt: skip
        if answer.get("Failed"):  # a delivered record left on the queue would be delivered twice
            raise RuntimeError(f"DeleteMessageBatch failed for {answer['Failed']}")

    def expire(
        self, now: datetime, retention: timedelta, stamped: Callable[[str], datetime], due: int
    ) -> int:
        """SQS's retention on simulated time, for a queue nothing consumes: delete the ``due``
        oldest messages (the caller counts what it sent before ``now - retention``) whose
        ``stamped(body)`` is indeed that old; the number deleted. Each message is received only
        when it expires, so no redrive count builds up. (moto keeps time by the wall clock, so
        it would keep them all, and a long FIFO queue makes each of its sends slower.)"""
        deleted = 0
        while deleted < due:
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=min(self.batch_size, due - deleted),
                WaitTimeSeconds=0, VisibilityTimeout=0,
            ).get("Messages", [])  # fmt: skip
            old = [m for m in messages if stamped(m["Body"]) < now - retention]
            if old:
                self._delete(old)
                deleted += len(old)
            if len(old) < len(messages) or not messages:
                break
        return deleted

    def depth(self) -> int:
        """Messages on the queue (visible and in flight)."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes.get("ApproximateNumberOfMessages", 0)) + int(
            attributes.get("ApproximateNumberOfMessagesNotVisible", 0)
        )

    def _release_failed(self) -> None:
        """The visibility timeout of the last drain's failures has run out (simulated time)."""
        for handle in self._to_retry:
            try:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=handle, VisibilityTimeout=0
                )
            except Exception:  # noqa: S112 - already moved to the dead-letter queue
                continue
        self._to_retry = []
