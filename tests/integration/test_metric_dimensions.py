"""The market-data path's EMF documents carry the dimensions docs/ingest.md and docs/signals.md
name: ``service`` (the function's, from ``POWERTOOLS_SERVICE_NAME`` as the stack sets it
before anything is imported: hence a cold interpreter) and ``reason`` / ``trigger``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from maxtrader.ingest import deduplication_id, encode_bar_message
from maxtrader.runtime import factory
from tests.support.cold_handler import handle_cold
from tests.support.ingest_events import OPEN, IngestStage, body_of, minute_bar, signed_event
from tests.support.signals_stage import SignalsStage, poll_event, sqs_event, sqs_record
from tests.support.signals_world import DAY, minute, session_of

pytest_plugins = ("tests.support.signals_fixtures",)


@pytest.fixture
def stage(signals_day_stage: SignalsStage) -> SignalsStage:
    """This module's ``stage``: each support plugin names its own (plugins are global, and three
    defined ``stage``: which one a module got depended on the collection order)."""
    return signals_day_stage


def emf(printed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [doc for doc in printed if "_aws" in doc]


def dimensions(doc: dict[str, Any]) -> list[set[str]]:
    """The document's dimension sets (the order within a set means nothing to CloudWatch)."""
    (directive,) = doc["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "MaxTrader"
    return [set(names) for names in directive["Dimensions"]]


@pytest.fixture
def ingest_stage(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[IngestStage]:
    factory.clear()
    yield IngestStage(monkeypatch)  # POWERTOOLS_SERVICE_NAME=ingest, as the stack sets it
    factory.clear()


def test_ingest_metrics_are_per_service_and_a_refusal_per_reason(ingest_stage: IngestStage) -> None:
    now = OPEN + timedelta(minutes=10)
    body = body_of(minute_bar("SPY", 1))
    events = [signed_event(body, now), signed_event(body, now - timedelta(seconds=900))]
    result = handle_cold("ingest", events, now)
    assert [a["statusCode"] for a in result["answers"]] == [200, 401]
    accepted, refused = emf(result["printed"])
    assert dimensions(accepted) == [{"service"}]
    assert accepted["service"] == "ingest"
    assert {"BarsIngested", "BarsDuplicated", "DataAgeSeconds"} <= set(accepted)
    assert dimensions(refused) == [{"service", "reason"}]
    assert (refused["service"], refused["reason"], refused["IngestRejected"]) == (
        "ingest", "replay", [1.0]
    )  # fmt: skip


def test_signals_metrics_are_per_service_and_trigger(stage: SignalsStage) -> None:
    session = session_of(DAY)
    bar = minute("SPY", DAY, 2)
    record = sqs_record(encode_bar_message(bar), group="SPY", dedup=deduplication_id(bar),
                        queue_arn="arn:aws:sqs:us-east-1:123456789012:b.fifo")  # fmt: skip
    now = session.open + timedelta(minutes=6)
    result = handle_cold("signals", [sqs_event([record]), poll_event(now)], now)
    pushed, polled = emf(result["printed"])
    for doc, trigger in ((pushed, "bars"), (polled, "poll")):
        assert dimensions(doc) == [{"service", "trigger"}]
        assert (doc["service"], doc["trigger"]) == ("signals", trigger)
        assert {"SignalsGenerated", "BarsPolled", "DataAgeSeconds"} <= set(doc)
    assert (pushed["BarsPolled"], polled["BarsPolled"]) == ([2.0], [2.0 + 5.0])
