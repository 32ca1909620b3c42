"""The signals function's stage on moto and the Massive emulator, and its events.

``SignalsStage`` is the ingest's stage (state table, webhook secret, bars queue) plus the
signal queue, the Massive secret and the emulator's base URL, with the function's environment
set. ``deliver_bars`` plays the SQS event source mapping: receive from the bars queue, invoke
the handler with a real-shaped SQS FIFO event, delete what succeeded and make what failed
visible again (so the next delivery retries it, in order). ``signals()`` drains the signal
queue. ``clean_states`` steps the same bars on the memory adapters: the reference a faulty run
must end at.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from maxtrader.adapters.dynamodb_session_store import DynamoDBSessionStore
from maxtrader.adapters.dynamodb_store import DynamoDBStateStore
from maxtrader.adapters.memory_market_data import InMemoryMarketData
from maxtrader.config import load_strategies
from maxtrader.domain.models import AuditRecord, Bar
from maxtrader.domain.ports import SessionStore
from maxtrader.emulators.massive import MassiveEmulator
from maxtrader.function_env import variable
from maxtrader.runtime.schedule_event import schedule_event
from maxtrader.signals import routable_strategies
from maxtrader.trading.signal_message import SignalMessage, decode_signal_message
from tests.support.ingest_events import IngestStage, LambdaContext
from tests.support.signals_world import DAY, SignalsWorld, session_bars

MASSIVE_KEY = "signals-test-massive-key-77a1"
SYMBOLS = ("SPY", "QQQ")  # the staging stage's
DAY_REGIME = (DAY, 17.0)  # NORMAL_VOL on the synthetic day
DAY_HISTORY = session_bars("SPY", DAY - timedelta(days=1)) + session_bars(
    "QQQ", DAY - timedelta(days=1)
)
STRATEGIES = tuple(routable_strategies(load_strategies()))
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def sqs_record(
    body: str, *, group: str, dedup: str, queue_arn: str, receive_count: int = 1,
    message_id: str | None = None, receipt: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """One record of an SQS FIFO event as Lambda's event source mapping delivers it."""
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": receipt or uuid.uuid4().hex,
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count), "SentTimestamp": "1719927000000",
            "SequenceNumber": str(uuid.uuid4().int)[:20], "MessageGroupId": group,
            "SenderId": "AIDAEXAMPLE", "MessageDeduplicationId": dedup,
            "ApproximateFirstReceiveTimestamp": "1719927000001",
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": "us-east-1",
    }  # fmt: skip


def sqs_event(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": list(records)}


class SignalsStage(IngestStage):
    def __init__(self, monkeypatch: pytest.MonkeyPatch, emulator: MassiveEmulator) -> None:
        super().__init__(monkeypatch)
        name = self.queue_url.rsplit("/", 1)[1].replace("bars-", "signals-")
        self.signal_queue_url = self.sqs.create_queue(
            QueueName=name, Attributes={"FifoQueue": "true"}
        )["QueueUrl"]
        self.bars_arn = f"arn:aws:sqs:us-east-1:123456789012:{self.queue_url.rsplit('/', 1)[1]}"
        secrets = boto3.client("secretsmanager")
        # The worker's moto server is shared: another module (simulate's template resources)
        # may have created this secret with its own random key, so the value is always set.
        value = json.dumps({"api_key": MASSIVE_KEY})
        try:
            secrets.create_secret(Name="maxtrader/staging/massive", SecretString=value)
        except secrets.exceptions.ResourceExistsException:
            secrets.put_secret_value(SecretId="maxtrader/staging/massive", SecretString=value)
        self.emulator = emulator
        monkeypatch.setenv(variable("massive_base_url"), emulator.base_url)
        monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "signals")

    def deliver_bars(self, handler: Handler, *, rounds: int = 30) -> list[dict[str, Any]]:
        """Deliver the bars queue to ``handler`` until it is empty (or ``rounds`` batches)."""
        responses = []
        for _ in range(rounds):
            got = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])  # fmt: skip
            if not got:
                break
            records = [
                sqs_record(m["Body"], group=m["Attributes"]["MessageGroupId"],
                           dedup=m["Attributes"]["MessageDeduplicationId"],
                           queue_arn=self.bars_arn, message_id=m["MessageId"],
                           receipt=m["ReceiptHandle"],
                           receive_count=int(m["Attributes"]["ApproximateReceiveCount"]))
                for m in got
            ]  # fmt: skip
            try:
                response = handler(sqs_event(records), LambdaContext())
                failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
            except BatchProcessingError:  # every record failed: all redelivered
                response, failed = {"batchItemFailures": "all"}, {r["messageId"] for r in records}
            responses.append(response)
            for record in records:
                if record["messageId"] in failed:
                    self.sqs.change_message_visibility(QueueUrl=self.queue_url,
                        ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0)  # fmt: skip
                else:
                    self.sqs.delete_message(QueueUrl=self.queue_url,
                                            ReceiptHandle=record["receiptHandle"])  # fmt: skip
        return responses

    def save_regime(self, day: date, vix: float | None) -> None:
        """The regime function's write: the state a VIX reading gives the day."""
        state = SignalsWorld().store_regime(day, vix)
        DynamoDBSessionStore.create(self.table).save_regime(state)

    def audit_log(self, day: date) -> list[AuditRecord]:
        return DynamoDBStateStore.create(self.table).audit_log(day.isoformat())

    def send_bars(self, bars: Sequence[Bar]) -> None:
        """Put bars on the bars queue directly (as ingest does), skipping the Function URL."""
        from maxtrader.adapters.sqs_bar_queue import SqsBarQueue

        SqsBarQueue(self.sqs, self.queue_url).send(bars)

    def signals(self) -> list[tuple[str, str, SignalMessage]]:
        """Every message on the signal queue (group, dedup id, message), in order; deleted."""
        out: list[tuple[str, str, SignalMessage]] = []
        while True:
            got = self.sqs.receive_message(
                QueueUrl=self.signal_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                MessageSystemAttributeNames=["MessageGroupId", "MessageDeduplicationId"],
            ).get("Messages", [])  # fmt: skip
            if not got:
                return out
            for m in got:
                a = m["Attributes"]
                out.append((a["MessageGroupId"], a["MessageDeduplicationId"],
                            decode_signal_message(m["Body"])))  # fmt: skip
                self.sqs.delete_message(QueueUrl=self.signal_queue_url,
                                        ReceiptHandle=m["ReceiptHandle"])  # fmt: skip

    def stored_states(self) -> dict[tuple[str, str], str | None]:
        """(strategy, symbol) -> the stored payload (None: no state), read back from the table."""
        return payloads(DynamoDBSessionStore.create(self.table))


def poll_event(at: datetime) -> dict[str, str]:
    return schedule_event("signals-poll", at)


def clean_states(bars: Sequence[Bar], market: Sequence[Bar], regime: tuple[Any, float | None]
                 ) -> dict[tuple[str, str], str | None]:  # fmt: skip
    """(strategy, symbol) -> payload after stepping ``bars`` in order on the memory adapters."""
    world = SignalsWorld(SYMBOLS, market=InMemoryMarketData(market))
    world.store_regime(*regime)
    for bar in bars:
        world.push(bar)
    return payloads(world.sessions)


def payloads(store: SessionStore) -> dict[tuple[str, str], str | None]:
    out: dict[tuple[str, str], str | None] = {}
    for name in STRATEGIES:
        for symbol in SYMBOLS:
            state = store.strategy_state(name, symbol)
            out[(name, symbol)] = state.payload if state is not None else None
    return out


def emf(out: str) -> list[dict[str, Any]]:
    """The EMF documents among the handler's stdout lines (the logger's lines are JSON too)."""
    docs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [d for d in docs if "_aws" in d]
