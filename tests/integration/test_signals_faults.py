"""Faults on the signals path, on moto and the Massive emulator: late, out-of-order and
duplicate bars, a relay that dies mid-session (the poll fills the gap), DynamoDB throttling and
an unavailable signal queue. Each run must end where a clean run ends: every minute stored
once and stepped once, the stored states a clean run's, each signal on the queue once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.ingest import handler as ingest_handler
from functions.signals import handler
from maxtrader.domain.clock import NEW_YORK, FixedClock
from maxtrader.domain.models import Bar
from maxtrader.ingest import deduplication_id, encode_bar_message
from maxtrader.runtime import factory
from tests.support.flaky_client import FlakyClient, throttled, timed_out
from tests.support.ingest_events import LambdaContext, body_of, signed_event
from tests.support.signals_real import RealDay
from tests.support.signals_stage import (
    DAY_HISTORY,
    DAY_REGIME,
    SignalsStage,
    clean_states,
    poll_event,
    sqs_event,
    sqs_record,
)
from tests.support.signals_world import DAY, minute, session_of

pytest_plugins = ("tests.support.signals_fixtures",)


@pytest.fixture
def stage(signals_day_stage: SignalsStage) -> SignalsStage:
    """This module's ``stage``: each support plugin names its own (plugins are global, and three
    defined ``stage``: which one a module got depended on the collection order)."""
    return signals_day_stage


pytestmark = pytest.mark.faults

SESSION = session_of(DAY)
PREVIOUS = session_of(DAY - timedelta(days=1))


def spy(i: int) -> Bar:
    return minute("SPY", DAY, i)


def record(bar: Bar) -> dict[str, Any]:
    return sqs_record(encode_bar_message(bar), group=bar.symbol, dedup=deduplication_id(bar),
                      queue_arn="arn:aws:sqs:us-east-1:123456789012:bars.fifo")  # fmt: skip


def deliver(clock: FixedClock, *bars: Bar) -> dict[str, Any]:
    """One SQS event per bar, at the bar's close + 1 s (the queue's order is the caller's)."""
    answer: dict[str, Any] = {}
    for bar in bars:
        clock.set(bar.closed_at + timedelta(seconds=1))
        answer = handler.lambda_handler(sqs_event([record(bar)]), LambdaContext())
    return answer


def ingest(clock: FixedClock, *bars: Bar) -> None:
    for bar in bars:
        at = bar.closed_at + timedelta(seconds=1)
        clock.set(at)
        assert ingest_handler.lambda_handler(signed_event(body_of(bar), at),
                                             LambdaContext())["statusCode"] == 200  # fmt: skip


def spy_states(stage: SignalsStage) -> dict[tuple[str, str], str | None]:
    return {k: v for k, v in stage.stored_states().items() if k[1] == "SPY"}


def clean_spy(bars: list[Bar]) -> dict[tuple[str, str], str | None]:
    return {k: v for k, v in clean_states(bars, DAY_HISTORY, DAY_REGIME).items() if k[1] == "SPY"}


def minute_requests(stage: SignalsStage) -> list[str]:
    """The emulator's REST requests for today's minutes (not the history's)."""
    day = DAY.isoformat()
    return [r for r in stage.emulator.requests if "/SPY/" in r and day in _day_of(r)]


def _day_of(path: str) -> str:
    start_ms = int(path.split("/range/1/minute/")[1].split("/", maxsplit=1)[0])
    return datetime.fromtimestamp(start_ms / 1000, UTC).astimezone(NEW_YORK).date().isoformat()


def test_a_duplicate_bar_is_stepped_once(stage: SignalsStage, signals_clock: FixedClock) -> None:
    deliver(signals_clock, spy(0), spy(1), spy(1), spy(0), spy(2))
    assert spy_states(stage) == clean_spy([spy(0), spy(1), spy(2)])


def test_out_of_order_bars_are_stepped_in_order_from_the_store(
    stage: SignalsStage, signals_clock: FixedClock
) -> None:
    ingest(signals_clock, spy(0), spy(1), spy(2), spy(3))  # stored, and queued in order
    stage.sqs.purge_queue(QueueUrl=stage.queue_url)  # ... but delivered 0, 3, 1, 2
    deliver(signals_clock, spy(0), spy(3), spy(1), spy(2))
    assert spy_states(stage) == clean_spy([spy(i) for i in range(4)])
    assert minute_requests(stage) == []  # the gap was read back from DynamoDB, not REST


def test_a_late_bar_after_the_poll_stepped_its_minute_changes_nothing(
    stage: SignalsStage, signals_clock: FixedClock
) -> None:
    signals_clock.set(SESSION.open + timedelta(minutes=10))
    handler.lambda_handler(poll_event(SESSION.open + timedelta(minutes=10)), LambdaContext())
    before = spy_states(stage)
    deliver(signals_clock, spy(4))
    assert spy_states(stage) == before == clean_spy([spy(i) for i in range(9)])


def test_a_relay_that_dies_mid_session_degrades_to_polling_not_to_silence(
    stage: SignalsStage, signals_clock: FixedClock
) -> None:
    ingest(signals_clock, *[spy(i) for i in range(10)])
    stage.deliver_bars(handler.lambda_handler)
    for m in range(11, 41):  # the relay is dead; the schedule fires every minute
        at = SESSION.open + timedelta(minutes=m)
        signals_clock.set(at + timedelta(seconds=5))
        handler.lambda_handler(poll_event(at), LambdaContext())
    assert spy_states(stage) == clean_spy([spy(i) for i in range(39)])
    ingest(signals_clock, spy(44))  # the relay is back at 10:15 with the newest minute
    stage.deliver_bars(handler.lambda_handler)
    assert spy_states(stage) == clean_spy(
        [spy(i) for i in range(39)] + [spy(i) for i in range(39, 45)]
    )
    store = factory.session_store()
    assert [b.ts for b in store.bars("SPY", SESSION.open, spy(45).ts)] == [
        spy(i).ts for i in range(45)
    ]


@pytest.mark.parametrize(
    ("operation", "error", "after"),
    [
        ("update_item", throttled("UpdateItem"), 0),  # the save of the symbol's states
        ("batch_get_item", throttled("BatchGetItem"), 0),  # the states and regime, one read
        ("batch_get_item", timed_out(), 0),
        ("put_item", throttled("PutItem"), 0),  # the gap's bars, one conditional put each
        ("query", throttled("Query"), 0),
    ],
    ids=["save-throttled", "read-throttled", "read-timeout", "bar-store-throttled", "bar-query"],
)
def test_dynamodb_faults_fail_the_record_and_the_redelivery_converges(
    stage: SignalsStage, signals_clock: FixedClock, operation: str, error: Exception, after: int
) -> None:
    deliver(signals_clock, spy(0))
    store = factory.session_store()
    flaky = FlakyClient(store._client)
    store._client = flaky  # type: ignore[assignment]
    flaky.fail(operation, error, times=2, after=after)
    stage.send_bars([spy(3)])  # a gap (1, 2): filled over REST, stored, then stepped
    signals_clock.set(spy(3).closed_at + timedelta(seconds=1))
    answers = stage.deliver_bars(handler.lambda_handler)
    assert any(a["batchItemFailures"] for a in answers)  # it failed, then was redelivered
    assert answers[-1]["batchItemFailures"] == []
    assert spy_states(stage) == clean_spy([spy(i) for i in range(4)])
    held = store.bars("SPY", SESSION.open, spy(4).ts)  # the REST fill; 0 and 3 came queued only
    assert [b.ts for b in held] == [spy(1).ts, spy(2).ts]


@pytest.mark.slow
def test_an_unavailable_signal_queue_fails_the_record_and_the_signal_is_sent_once(
    real_stage: tuple[SignalsStage, RealDay], signals_clock: FixedClock
) -> None:
    signals_stage, day = real_stage
    window = [b for b in day.bars
              if "11:30" <= b.ts.astimezone(NEW_YORK).strftime("%H:%M") < "11:41"]  # fmt: skip
    queue = factory.signal_queue()
    flaky = FlakyClient(queue._client)
    queue._client = flaky  # type: ignore[assignment]
    flaky.fail("send_message_batch", throttled("SendMessageBatch"), times=1)
    for bar in window:
        signals_clock.set(bar.closed_at + timedelta(seconds=1))
        signals_stage.send_bars([bar])
        signals_stage.deliver_bars(handler.lambda_handler)
    sent = signals_stage.signals()
    assert [(g, m.signal.strategy, m.signal.bar_ts.astimezone(NEW_YORK).strftime("%H:%M"))
            for g, _, m in sent] == [("SPY", "vwap_reversion", "11:38")]  # fmt: skip
    assert flaky.calls["send_message_batch"] == 1  # the failed try never reached SQS
    assert [r.subject for r in signals_stage.audit_log(day.day)] == [sent[0][2].signal.id]
