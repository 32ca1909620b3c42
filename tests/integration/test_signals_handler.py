"""The signals handler in process: real-shaped SQS FIFO and Scheduler events, DynamoDB and SQS
on moto, the real massive client against the emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.signals import handler
from maxtrader.adapters.dynamodb_session_store import DynamoDBSessionStore
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import Bar
from maxtrader.ingest import deduplication_id, encode_bar_message
from tests.support.ingest_events import LambdaContext
from tests.support.signals_stage import (
    DAY_HISTORY,
    DAY_REGIME,
    SignalsStage,
    clean_states,
    emf,
    poll_event,
    sqs_event,
    sqs_record,
)
from tests.support.signals_world import DAY, minute, session_of

SESSION = session_of(DAY)
PREVIOUS = session_of(DAY - timedelta(days=1))


pytest_plugins = ("tests.support.signals_fixtures",)


@pytest.fixture
def stage(signals_day_stage: SignalsStage) -> SignalsStage:
    """This module's ``stage``: each support plugin names its own (plugins are global, and three
    defined ``stage``: which one a module got depended on the collection order)."""
    return signals_day_stage


@pytest.fixture
def clock(signals_clock: FixedClock) -> FixedClock:
    signals_clock.set(SESSION.open + timedelta(minutes=30))
    return signals_clock


def record(bar: Bar, body: str | None = None) -> dict[str, Any]:
    text = body if body is not None else encode_bar_message(bar)
    arn = "arn:aws:sqs:us-east-1:123456789012:bars.fifo"
    return sqs_record(text, group=bar.symbol, dedup=deduplication_id(bar), queue_arn=arn)


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = handler.lambda_handler(event, LambdaContext())
    return response


def test_a_bars_queue_batch_is_stepped_in_order_per_symbol_and_every_record_acked(
    stage: SignalsStage, clock: FixedClock
) -> None:
    bars = [minute(s, DAY, i) for i in range(6) for s in ("SPY", "QQQ")]
    stage.send_bars(bars)
    responses = stage.deliver_bars(handler.lambda_handler)
    assert responses and all(r["batchItemFailures"] == [] for r in responses)
    assert stage.stored_states() == clean_states(bars, DAY_HISTORY, DAY_REGIME)
    assert len(stage.emulator.requests) == 2  # one history fetch per symbol; no gap


def test_a_record_that_fails_fails_its_group_and_spares_the_others(
    stage: SignalsStage, clock: FixedClock
) -> None:
    spy0, spy1, qqq0 = minute("SPY", DAY, 0), minute("SPY", DAY, 1), minute("QQQ", DAY, 0)
    bad = record(spy0, body='{"version": 1, "kind": "bar", "bar": {"symbol": "SPY"}}')
    later, other = record(spy1), record(qqq0)
    response = invoke(sqs_event([bad, later, other]))
    failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    assert failed == [bad["messageId"], later["messageId"]]
    states = stage.stored_states()
    assert all(v is None for (_, symbol), v in states.items() if symbol == "SPY")
    assert all(v is not None for (_, symbol), v in states.items() if symbol == "QQQ")


def test_a_batch_whose_every_record_fails_is_failed_whole(
    stage: SignalsStage, clock: FixedClock
) -> None:
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    with pytest.raises(BatchProcessingError):
        invoke(sqs_event([record(minute("SPY", DAY, 0), body="not json")]))
    assert stage.item_count() == 1  # the regime and nothing else


def test_the_poll_schedule_steps_the_closed_minutes_over_rest(
    stage: SignalsStage, clock: FixedClock
) -> None:
    answer = invoke(poll_event(SESSION.open + timedelta(minutes=12, seconds=1)))
    assert (answer["stepped"], answer["polled"], answer["note"]) == (22, 22, "")
    expected = [minute(s, DAY, i) for s in ("SPY", "QQQ") for i in range(11)]
    assert stage.stored_states() == clean_states(expected, DAY_HISTORY, DAY_REGIME)
    store = DynamoDBSessionStore.create(stage.table)
    assert store.bars("SPY", SESSION.open, SESSION.close) == expected[:11]  # stored as well


@pytest.mark.parametrize(
    "when",
    [datetime(2024, 6, 8, 15, 0, tzinfo=UTC), datetime(2024, 6, 4, 12, 0, tzinfo=UTC)],
    ids=["saturday", "before-open"],
)
def test_a_poll_outside_the_session_does_nothing_and_says_so(
    stage: SignalsStage, clock: FixedClock, when: datetime
) -> None:
    answer = invoke(poll_event(when))
    assert answer["stepped"] == 0 and "nothing to poll" in answer["note"]
    assert stage.item_count() == 1 and stage.emulator.requests == []


@pytest.mark.parametrize(
    "event",
    [{"schedule": "monitor", "scheduled_time": "2024-06-04T14:00:00Z"},
     {"schedule": "signals-poll", "scheduled_time": "2024-06-04T14:00:00"}, {}],
    ids=["other-schedule", "naive-time", "empty"],
)  # fmt: skip
def test_a_schedule_event_it_cannot_read_is_refused_with_nothing_written(
    stage: SignalsStage, clock: FixedClock, event: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInputError, match="schedule event"):
        invoke(event)
    assert stage.item_count() == 1


def test_the_documented_metrics_are_emitted_under_their_trigger(
    stage: SignalsStage, clock: FixedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    invoke(poll_event(SESSION.open + timedelta(minutes=5)))
    stage.send_bars([minute("SPY", DAY, 4)])
    clock.set(minute("SPY", DAY, 4).closed_at + timedelta(seconds=3))
    stage.deliver_bars(handler.lambda_handler)
    docs = emf(capsys.readouterr().out)
    by_trigger = {d["trigger"]: d for d in docs}
    assert set(by_trigger) == {"poll", "bars"}
    for doc in docs:
        (directive,) = doc["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "MaxTrader"
        # ``service`` joins it when POWERTOOLS_SERVICE_NAME is set at import (the stack sets it)
        assert any("trigger" in dims for dims in directive["Dimensions"])
        assert {m["Name"] for m in directive["Metrics"]} >= {
            "SignalsGenerated", "BarsPolled", "DataAgeSeconds"}  # fmt: skip
    assert values(by_trigger["poll"], "BarsPolled") == [8]  # minutes 0..3 of SPY and QQQ
    assert values(by_trigger["bars"], "BarsPolled") == [0]  # minute 4 was pushed
    assert values(by_trigger["bars"], "DataAgeSeconds") == [3.0]


def values(doc: dict[str, Any], name: str) -> list[float]:
    value = doc[name]
    return [float(v) for v in value] if isinstance(value, list) else [float(value)]
