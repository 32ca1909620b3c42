"""Faults behind the ingest: a throttled store, a failing queue, unreadable secrets.

The promise under test: a 5xx whenever a bar may not have been stored or handed on (the sender
retries), never a 2xx that lost one; and the retry delivers every bar to the queue exactly once.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest

from functions.ingest import handler
from maxtrader import state_schema
from maxtrader.adapters.dynamodb_calls import new_client
from maxtrader.adapters.dynamodb_session_store import DynamoDBSessionStore
from maxtrader.adapters.sqs_bar_queue import SqsBarQueue
from maxtrader.domain.clock import FixedClock
from maxtrader.ingest import (
    IngestDependencies,
    IngestRequest,
    IngestResult,
    WebhookKeys,
    ingest_bars,
)
from maxtrader.runtime import factory
from maxtrader.webhook import sign
from tests.support.flaky_client import FlakyClient, throttled, timed_out
from tests.support.ingest_events import (
    OPEN,
    SECRET,
    IngestStage,
    LambdaContext,
    body_of,
    minute_bar,
    signed_event,
)
from tests.support.recording_client import RecordingClient

pytestmark = pytest.mark.faults
NOW = OPEN + timedelta(minutes=30, seconds=2)
T = int(NOW.timestamp())


class PartlyFailingSqs:
    """Sends the first ``sent`` entries of the next batch and reports the others Failed."""

    def __init__(self, client: Any, sent: int) -> None:
        self._client = client
        self.sent: int | None = sent

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def send_message_batch(self, *, QueueUrl: str, Entries: list[Any]) -> Any:
        if self.sent is None:
            return self._client.send_message_batch(QueueUrl=QueueUrl, Entries=Entries)
        keep, self.sent = self.sent, None
        if keep:
            self._client.send_message_batch(QueueUrl=QueueUrl, Entries=Entries[:keep])
        failed = [{"Id": e["Id"], "SenderFault": False, "Code": "InternalError"}
                  for e in Entries[keep:]]  # fmt: skip
        return {"Successful": [{"Id": e["Id"]} for e in Entries[:keep]], "Failed": failed}


@pytest.fixture
def stage(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[IngestStage]:
    factory.clear()
    monkeypatch.setattr(handler, "clock", FixedClock(NOW))
    yield IngestStage(monkeypatch)
    factory.clear()


def invoke(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = handler.lambda_handler(event, LambdaContext())
    return response["statusCode"], json.loads(response["body"])


def _use_store(monkeypatch: pytest.MonkeyPatch, stage: IngestStage, client: Any) -> None:
    store = DynamoDBSessionStore(client, stage.table)
    monkeypatch.setattr(factory, "session_store", lambda: store)


def _use_queue(monkeypatch: pytest.MonkeyPatch, stage: IngestStage, client: Any) -> None:
    queue = SqsBarQueue(client, stage.queue_url)
    monkeypatch.setattr(factory, "bar_queue", lambda: queue)


@pytest.mark.parametrize(
    ("operation", "error", "bars"),
    [("PutItem", throttled("PutItem"), 1), ("TransactWriteItems", throttled(), 5),
     ("PutItem", timed_out(), 1)],
    ids=["one-bar-throttled", "batch-throttled", "timeout"],
)  # fmt: skip
def test_a_failing_store_is_a_503_and_the_retry_stores_and_hands_on_everything(
    stage: IngestStage, monkeypatch: pytest.MonkeyPatch, operation: str, error: Exception, bars: int
) -> None:
    flaky = FlakyClient(new_client("dynamodb"))
    # The adapter's client retries once by itself: fail more often than that.
    snake = {"PutItem": "put_item", "TransactWriteItems": "transact_write_items"}[operation]
    flaky.fail(snake, error, times=1)
    _use_store(monkeypatch, stage, flaky)
    event = signed_event(body_of(*[minute_bar("SPY", m) for m in range(bars)]), NOW)
    status, answer = invoke(event)
    assert (status, answer) == (503, {"error": "unavailable", "retry": True})
    assert stage.item_count() == 0  # a transaction is all or nothing
    assert stage.drain() == []  # nothing handed on before it is stored
    status, answer = invoke(event)
    assert (status, answer["accepted"], answer["enqueued"]) == (200, bars, bars)
    assert [b.ts.minute for _, _, b in stage.drain()] == [30 + m for m in range(bars)]


def test_a_push_whose_second_bar_fails_to_store_converges_on_the_retry(
    stage: IngestStage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A push's bars are written one by one: the first may be held when the second fails."""
    flaky = FlakyClient(new_client("dynamodb"))
    flaky.fail("put_item", throttled("PutItem"), after=1)
    _use_store(monkeypatch, stage, flaky)
    event = signed_event(body_of(minute_bar("QQQ", 0), minute_bar("SPY", 0)), NOW)
    assert invoke(event) == (503, {"error": "unavailable", "retry": True})
    assert [pk for pk, _ in stage.stored_bars()] == [f"{state_schema.BAR_PREFIX}QQQ"]
    assert stage.drain() == []  # nothing handed on before all of it is stored
    status, answer = invoke(event)
    assert (status, answer["accepted"], answer["duplicated"], answer["enqueued"]) == (200, 1, 1, 2)
    assert sorted(b.symbol for _, _, b in stage.drain()) == ["QQQ", "SPY"]


def test_a_bar_stored_but_not_enqueued_is_handed_on_by_the_retry_exactly_once(
    stage: IngestStage, monkeypatch: pytest.MonkeyPatch
) -> None:
    flaky = FlakyClient(boto3.client("sqs"))
    flaky.fail("send_message_batch", throttled("SendMessageBatch"))
    _use_queue(monkeypatch, stage, flaky)
    event = signed_event(body_of(minute_bar("SPY", 4)), NOW)
    assert invoke(event)[0] == 503
    assert len(stage.stored_bars()) == 1  # stored, not yet handed on
    status, answer = invoke(event)
    assert (status, answer) == (200, {"accepted": 0, "duplicated": 1, "ignored": 0, "enqueued": 1})
    assert invoke(event)[0] == 200  # and a third delivery is deduplicated by the queue
    assert [d for _, d, _ in stage.drain()] == ["SPY-20240603T1334Z"]


def test_a_second_batch_failing_is_a_503_and_the_retry_completes_in_order(
    stage: IngestStage, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = RecordingClient(boto3.client("sqs"))
    recording.fail_call("send_message_batch", 2, throttled("SendMessageBatch"))
    _use_queue(monkeypatch, stage, recording)
    event = signed_event(body_of(*[minute_bar("SPY", m) for m in range(23)]), NOW)
    assert invoke(event)[0] == 503
    assert invoke(event)[1] == {"accepted": 0, "duplicated": 23, "ignored": 0, "enqueued": 23}
    delivered = stage.drain()
    assert [b.ts.minute for _, _, b in delivered] == [30 + m for m in range(23)]
    assert len(recording.requests["send_message_batch"]) == 2 + 3  # 10 sent, 10 failed; 10+10+3


def test_failed_entries_in_a_batch_answer_are_a_503_not_a_partial_success(
    stage: IngestStage, monkeypatch: pytest.MonkeyPatch
) -> None:
    partly = PartlyFailingSqs(boto3.client("sqs"), sent=3)
    _use_queue(monkeypatch, stage, partly)
    event = signed_event(body_of(*[minute_bar("QQQ", m) for m in range(6)]), NOW)
    assert invoke(event)[0] == 503
    assert invoke(event)[0] == 200
    assert sorted(b.ts.minute for _, _, b in stage.drain()) == [30 + m for m in range(6)]


def test_an_unreadable_secret_is_a_503_and_writes_nothing(stage: IngestStage) -> None:
    boto3.client("secretsmanager").delete_secret(
        SecretId=stage.secret_name, ForceDeleteWithoutRecovery=True
    )
    status, answer = invoke(signed_event(body_of(minute_bar("SPY", 0)), NOW))
    assert (status, answer["error"]) == (503, "unavailable")
    assert (stage.item_count(), stage.drain()) == (0, [])


@pytest.mark.concurrency
def test_racing_deliveries_of_the_same_bars_store_and_hand_on_each_once(
    stage: IngestStage,
) -> None:
    """The relay and the REST poll delivering the same minute at once (two containers)."""
    bars = [minute_bar(sym, m) for m in range(4) for sym in ("SPY", "QQQ")]
    body = body_of(*bars)
    start = threading.Barrier(3)
    results: list[IngestResult] = []

    def deliver() -> None:
        deps = IngestDependencies.of(
            store=DynamoDBSessionStore.create(stage.table),
            queue=SqsBarQueue.create(stage.queue_url),
            keys=WebhookKeys(lambda force: [SECRET]),
            symbols=["SPY", "QQQ"],
        )
        request = IngestRequest(body=body.decode(), signature=sign(body, SECRET, T))
        start.wait(timeout=10)
        results.append(ingest_bars(request, deps, FixedClock(NOW)))

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 3
    assert sum(r.accepted for r in results) == len(bars)
    assert sum(r.duplicated for r in results) == 2 * len(bars)
    delivered = stage.drain()
    assert sorted((b.symbol, b.ts) for _, _, b in delivered) == sorted(
        (b.symbol, b.ts) for b in bars
    )
