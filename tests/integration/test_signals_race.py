"""A push and the poll racing on the same symbol (two threads, one moto server): the conditional
saves keep one result per bar, and the session ends in a clean run's states."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from functions.signals import handler
from maxtrader.domain.clock import FixedClock
from maxtrader.ingest import deduplication_id, encode_bar_message
from tests.support.ingest_events import LambdaContext
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


pytestmark = pytest.mark.concurrency

SESSION = session_of(DAY)
MINUTES = 16


# One Metrics object serves both threads here; a Lambda container never runs two invocations.
@pytest.mark.filterwarnings("ignore:Dimension 'trigger' has already been added")
def test_a_push_racing_the_poll_steps_each_bar_into_one_consistent_state(
    stage: SignalsStage, signals_clock: FixedClock
) -> None:
    signals_clock.set(SESSION.open + timedelta(minutes=MINUTES + 5))
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def pushes() -> None:
        start.wait(timeout=30)
        for i in range(MINUTES):
            bar = minute("SPY", DAY, i)
            record = sqs_record(encode_bar_message(bar), group="SPY", dedup=deduplication_id(bar),
                                queue_arn="arn:aws:sqs:us-east-1:123456789012:b.fifo")  # fmt: skip
            _until_ok(lambda r=record: handler.lambda_handler(sqs_event([r]), LambdaContext()))

    def polls() -> None:
        start.wait(timeout=30)
        for m in range(2, MINUTES + 2):
            event = poll_event(SESSION.open + timedelta(minutes=m))
            _until_ok(lambda e=event: handler.lambda_handler(e, LambdaContext()))

    def run(target: Any) -> None:
        try:
            target()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in (pushes, polls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors and not any(t.is_alive() for t in threads)
    bars = [minute(s, DAY, i) for s in ("SPY", "QQQ") for i in range(MINUTES)]
    assert stage.stored_states() == clean_states(bars, DAY_HISTORY, DAY_REGIME)


def _until_ok(call: Any, attempts: int = 5) -> None:
    """A failed record or tick is redelivered: retry as SQS / Scheduler would."""
    last: Exception | None = None
    for _ in range(attempts):
        try:
            answer = call()
        except Exception as exc:  # the redelivery is the point
            last = exc
        else:
            if not answer.get("batchItemFailures"):
                return
    raise AssertionError(f"still failing after {attempts} deliveries") from last
