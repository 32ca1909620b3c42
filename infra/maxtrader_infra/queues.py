"""The queues of the trading path and the dead-letter queue of the schedules.

Both trading queues are FIFO with content-based deduplication off. The bars queue (ingest ->
signals): group = symbol, deduplication id = symbol + bar start (maxtrader.ingest.messages). The
signal queue (signals -> execute): group = symbol (a symbol's signals are handled in order, one
at a time; symbols do not wait for each other), deduplication id = the signal id (two equal
bodies may be two signals, and one signal resent within five minutes is dropped;
maxtrader.trading.signal_message). A message that fails ``MAX_RECEIVE_COUNT`` times moves to its
FIFO dead-letter queue, where it waits for an operator (docs/runbook.md) and trips the DLQ
alarm. Every queue is encrypted (SSE-SQS) and refuses requests without TLS.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

MAX_RECEIVE_COUNT: Final = 3  # a handler's bug must not retry a trade forever
# Longer than the execute function's timeout (the Lambda event source requires it): a message
# in flight is not handed to a second consumer while the first still works on it.
SIGNAL_VISIBILITY: Final = Duration.minutes(2)
# A signal is worth acting on for minutes, not hours: an old one is dropped, not traded.
SIGNAL_RETENTION: Final = Duration.hours(1)
DLQ_RETENTION: Final = Duration.days(14)  # the maximum: time to investigate and replay


def dlq_name(queue_name: str) -> str:
    """``x.fifo`` -> ``x-dlq.fifo``; ``x`` -> ``x-dlq`` (a FIFO queue's DLQ must be FIFO too)."""
    base, fifo = queue_name.removesuffix(".fifo"), queue_name.endswith(".fifo")
    return f"{base}-dlq.fifo" if fifo else f"{base}-dlq"


class TradingQueues(Construct):
    """The bars queue (ingest -> signals), the signal queue (signals -> execute), each FIFO with
    its FIFO dead-letter queue, and the schedules' dead-letter queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bars_queue_name: str,
        signal_queue_name: str,
        schedules_dlq_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bars, self.bars_dlq = self._fifo("Bars", bars_queue_name)
        self.signals, self.signal_dlq = self._fifo("Signals", signal_queue_name)
        # EventBridge Scheduler puts here the invocations it gave up on (the schedules join with
        # the functions and name this queue as their dead-letter queue).
        self.schedules_dlq = sqs.Queue(
            self,
            "SchedulesDlq",
            queue_name=schedules_dlq_name,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=DLQ_RETENTION,
        )

    def _fifo(self, construct_id: str, queue_name: str) -> tuple[sqs.Queue, sqs.Queue]:
        dlq = sqs.Queue(
            self,
            f"{construct_id}Dlq",
            queue_name=dlq_name(queue_name),
            fifo=True,
            content_based_deduplication=False,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=DLQ_RETENTION,
        )
        queue = sqs.Queue(
            self,
            construct_id,
            queue_name=queue_name,
            fifo=True,
            content_based_deduplication=False,
            deduplication_scope=sqs.DeduplicationScope.QUEUE,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=SIGNAL_VISIBILITY,
            retention_period=SIGNAL_RETENTION,
            dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=MAX_RECEIVE_COUNT),
        )
        return queue, dlq
