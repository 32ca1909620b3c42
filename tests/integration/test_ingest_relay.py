"""The real relay feeding the real ingest: the Massive stream emulator -> ``massive``'s
WebSocket client -> ``Relay`` (signing with ``webhook.sign``) -> the ingest handler in process
-> DynamoDB and the SQS FIFO queue on moto.

The relay's poster is the only seam: instead of an HTTP POST it builds the Function URL event
AWS would deliver and calls the handler. Every wait is bounded and on a condition.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any, cast

import boto3
import pytest

from functions.ingest import handler
from maxtrader.adapters.sqs_bar_queue import SqsBarQueue
from maxtrader.domain.clock import FixedClock
from maxtrader.emulators.massive_stream import MassiveStreamEmulator
from maxtrader.runtime import factory
from tests.support.flaky_client import FlakyClient, throttled
from tests.support.ingest_events import (
    OPEN,
    IngestStage,
    minute_bar,
)
from tests.support.relay_harness import WAIT, RunningRelay
from tests.support.relay_ingest import InProcessIngest, relay_into

KEY = "ingest-relay-test-key"
NOW = OPEN + timedelta(minutes=30, seconds=2)


@pytest.fixture
def stage(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[IngestStage]:
    factory.clear()
    monkeypatch.setattr(handler, "clock", FixedClock(NOW))
    yield IngestStage(monkeypatch)
    factory.clear()


def _run_relay(stream: MassiveStreamEmulator, ingest: InProcessIngest) -> RunningRelay:
    return relay_into(ingest, stream, api_key=KEY, unix_time=NOW.timestamp)


def test_the_relays_signed_posts_of_vendor_events_are_stored_and_handed_on(
    stage: IngestStage,
) -> None:
    bars = [minute_bar(sym, m) for m in range(6) for sym in ("SPY", "QQQ")]
    ingest = InProcessIngest()
    with MassiveStreamEmulator(api_key=KEY) as stream:
        running = _run_relay(stream, ingest)
        try:
            assert stream.wait_until(lambda s: {"AM.SPY", "AM.QQQ"} <= s.live_topics, WAIT)
            stream.publish(bars[:5], one_frame=True)
            stream.publish(bars[5:])
            assert ingest.wait_for(lambda: ingest.accepted() >= len(bars))
        finally:
            running.stop()
    assert {status for status, _ in ingest.answers} == {200}
    assert len(stage.stored_bars()) == len(bars)
    delivered = stage.drain()
    assert sorted((b.symbol, b.ts) for _, _, b in delivered) == sorted(
        (b.symbol, b.ts) for b in bars
    )
    for symbol in ("SPY", "QQQ"):
        assert [b.ts for g, _, b in delivered if g == symbol] == [
            b.ts for b in bars if b.symbol == symbol
        ]


def test_a_503_makes_the_relay_retry_and_every_bar_is_handed_on_once(
    stage: IngestStage, monkeypatch: pytest.MonkeyPatch
) -> None:
    flaky = FlakyClient(boto3.client("sqs"))
    flaky.fail("send_message_batch", throttled("SendMessageBatch"))
    queue = SqsBarQueue(cast(Any, flaky), stage.queue_url)
    monkeypatch.setattr(factory, "bar_queue", lambda: queue)
    bars = [minute_bar("SPY", m) for m in range(3)]
    ingest = InProcessIngest()
    with MassiveStreamEmulator(api_key=KEY) as stream:
        running = _run_relay(stream, ingest)
        try:
            assert stream.wait_until(lambda s: "AM.SPY" in s.live_topics, WAIT)
            stream.publish(bars, one_frame=True)
            assert ingest.wait_for(lambda: any(s == 200 for s, _ in ingest.answers))
        finally:
            running.stop()
    assert [s for s, _ in ingest.answers][:2] == [503, 200]
    assert len(stage.stored_bars()) == 3
    assert [b.ts for _, _, b in stage.drain()] == [b.ts for b in bars]
