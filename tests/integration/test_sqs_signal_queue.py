"""SqsSignalQueue on moto: batches of 10 in order per symbol, the FIFO ids, failures as the
domain's SignalQueueUnavailableError."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from maxtrader.adapters.sqs_signal_queue import SqsSignalQueue
from maxtrader.domain.models import Direction, Regime, Signal
from maxtrader.domain.regime import RegimeState
from maxtrader.signals import SignalQueueUnavailableError
from maxtrader.trading.signal_message import SignalMessage, decode_signal_message
from tests.support.flaky_client import FlakyClient, throttled

START = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)
REGIME = RegimeState(day=date(2024, 6, 3), regime=Regime.NORMAL_VOL, vix=17.0)


def message(symbol: str, i: int) -> SignalMessage:
    bar_ts = START + timedelta(minutes=i)
    signal = Signal.create(strategy="wave_renko", symbol=symbol, side=Direction.LONG,
                           entry=100 + i, stop=99 + i, target=103 + i, bar_ts=bar_ts,
                           regime=Regime.NORMAL_VOL, reason="test")  # fmt: skip
    return SignalMessage(signal=signal, regime=REGIME, last_price=100 + i,
                         decided_at=bar_ts + timedelta(minutes=1))  # fmt: skip


@pytest.fixture
def queue_url(aws_env: str) -> str:
    sqs = boto3.client("sqs")
    url: str = sqs.create_queue(QueueName=f"signals-{uuid.uuid4().hex[:8]}.fifo",
                                Attributes={"FifoQueue": "true"})["QueueUrl"]  # fmt: skip
    return url


def drain(url: str) -> list[tuple[str, str, SignalMessage]]:
    sqs, out = boto3.client("sqs"), []
    while got := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10,
        MessageSystemAttributeNames=["MessageGroupId", "MessageDeduplicationId"],
    ).get("Messages", []):  # fmt: skip
        for m in got:
            a = m["Attributes"]
            out.append((a["MessageGroupId"], a["MessageDeduplicationId"],
                        decode_signal_message(m["Body"])))  # fmt: skip
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out


def test_signals_go_in_batches_of_ten_in_order_with_their_fifo_ids(queue_url: str) -> None:
    messages = [message(s, i) for i in range(12) for s in ("SPY", "QQQ")]
    queue = SqsSignalQueue.create(queue_url)
    assert queue.send(messages) == 24
    assert queue.send(messages[:5]) == 5  # re-sent within the window: deduplicated
    got = drain(queue_url)
    assert len(got) == 24
    for symbol in ("SPY", "QQQ"):
        mine = [m for g, _, m in got if g == symbol]
        assert mine == [m for m in messages if m.signal.symbol == symbol]
    assert all(dedup == m.signal.id for _, dedup, m in got)


@pytest.mark.parametrize(
    "error",
    [throttled("SendMessageBatch"), EndpointConnectionError(endpoint_url="http://127.0.0.1")],
)
def test_a_failed_call_is_the_domains_error(queue_url: str, error: Exception) -> None:
    client = FlakyClient(boto3.client("sqs"))
    client.fail("send_message_batch", error)
    with pytest.raises(SignalQueueUnavailableError, match="SendMessageBatch"):
        SqsSignalQueue(client, queue_url).send([message("SPY", 0)])  # type: ignore[arg-type]
    assert drain(queue_url) == []


def test_a_refused_entry_is_the_domains_error_naming_how_many() -> None:
    class Refusing:
        def send_message_batch(self, **kwargs: Any) -> dict[str, Any]:
            return {"Successful": [], "Failed": [{"Id": "0", "Code": "InternalError"}]}

    queue = SqsSignalQueue(Refusing(), "https://sqs.us-east-1.amazonaws.com/1/s.fifo")  # type: ignore[arg-type]
    with pytest.raises(SignalQueueUnavailableError, match=r"1 of 1 signals refused"):
        queue.send([message("SPY", 0)])


def test_a_standard_queue_is_refused() -> None:
    with pytest.raises(ValueError, match="not a FIFO queue"):
        SqsSignalQueue(object(), "https://sqs.us-east-1.amazonaws.com/1/signals")  # type: ignore[arg-type]
