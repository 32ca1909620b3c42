"""What the signals function costs in AWS requests (counted on the wire, on moto).

Pinned so that a regression fails: a pushed bar with nothing missing before it is ONE read (its
symbol's states and the day's regime, one BatchGetItem) and ONE write (the states that moved,
one conditional UpdateItem); a batch's records share one read (a symbol's second record reads
again); a redelivered bar is the read alone; a poll tick with nothing to step is one read of
every traded symbol and nothing else. (Before: 7 requests per bar, 6 per idle tick.)
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from functions.signals import handler
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.models import Bar
from maxtrader.runtime import factory
from maxtrader.signals import SessionStartDependencies, prepare_session_states, routable_strategies
from tests.integration.test_signals_faults import deliver, record
from tests.support.aws_calls import aws_calls
from tests.support.ingest_events import LambdaContext
from tests.support.signals_stage import (
    DAY_HISTORY,
    DAY_REGIME,
    SYMBOLS,
    SignalsStage,
    clean_states,
    poll_event,
    sqs_event,
)
from tests.support.signals_world import DAY, minute, session_of

pytest_plugins = ("tests.support.signals_fixtures",)


@pytest.fixture
def stage(signals_day_stage: SignalsStage) -> SignalsStage:
    """This module's ``stage``: each support plugin names its own (plugins are global, and three
    defined ``stage``: which one a module got depended on the collection order)."""
    return signals_day_stage


SESSION = session_of(DAY)
READ, WRITE = "dynamodb.BatchGetItem", "dynamodb.UpdateItem"


def bars(i: int) -> list[Bar]:
    return [minute("SPY", DAY, i), minute("QQQ", DAY, i)]


@pytest.fixture
def started(stage: SignalsStage, signals_clock: FixedClock) -> SignalsStage:
    """The session started (states built from REST history) and its first minute stepped."""
    deliver(signals_clock, *bars(0))
    return stage


def test_a_pushed_bar_is_one_read_and_one_write(
    started: SignalsStage, signals_clock: FixedClock
) -> None:
    for i in range(1, 4):
        for bar in bars(i):
            with aws_calls() as calls:
                answer = deliver(signals_clock, bar)
            assert answer["batchItemFailures"] == []
            assert calls == [READ, WRITE], (bar.symbol, i)
    assert started.stored_states() == clean_states(
        [b for i in range(4) for b in bars(i)], DAY_HISTORY, DAY_REGIME
    )  # and the states are a clean run's


def batch(clock: FixedClock, *bars: Bar) -> list[str]:
    """The AWS requests of one SQS batch of ``bars`` (at the newest one's close + 1 s)."""
    clock.set(max(b.closed_at for b in bars) + timedelta(seconds=1))
    with aws_calls() as calls:
        answer = handler.lambda_handler(sqs_event([record(b) for b in bars]), LambdaContext())
    assert answer["batchItemFailures"] == []
    return calls


def test_a_batch_s_records_share_one_read(started: SignalsStage, signals_clock: FixedClock) -> None:
    assert batch(signals_clock, *bars(1)) == [READ, WRITE, WRITE]  # SPY, QQQ: one read
    spy2, qqq2 = bars(2)
    spy3 = minute("SPY", DAY, 3)
    # SPY's second record reads again: its states moved with the first
    assert batch(signals_clock, spy2, qqq2, spy3) == [READ, WRITE, WRITE, READ, WRITE]
    assert started.stored_states() == clean_states(
        [*bars(0), *bars(1), spy2, qqq2, spy3], DAY_HISTORY, DAY_REGIME
    )


def test_a_redelivered_bar_is_the_read_alone(
    started: SignalsStage, signals_clock: FixedClock
) -> None:
    deliver(signals_clock, *bars(1))
    with aws_calls() as calls:
        deliver(signals_clock, minute("SPY", DAY, 1))
    assert calls == [READ]


def test_a_poll_tick_with_nothing_to_step_is_one_read(
    started: SignalsStage, signals_clock: FixedClock
) -> None:
    deliver(signals_clock, *bars(1))
    at = SESSION.open + timedelta(minutes=3)  # minutes 0 and 1 are the ones closed by the grace
    signals_clock.set(at)
    with aws_calls() as calls:
        answer = handler.lambda_handler(poll_event(at), LambdaContext())
    assert answer["stepped"] == 0 and answer["polled"] == 0
    assert calls == [READ]  # every traded symbol's states and the regime, together


def test_a_session_start_is_one_read_and_one_save_per_symbol(stage: SignalsStage) -> None:
    """The premarket run's preparation (and a first bar's): history over REST, not AWS."""
    deps = SessionStartDependencies(
        sessions=factory.session_store(), market_data=factory.market_data(),
        calendar=factory.calendar(), strategies=routable_strategies(factory.strategies_config()),
    )  # fmt: skip
    with aws_calls() as calls:
        prepared = prepare_session_states(SESSION, SYMBOLS, deps)
    assert len(prepared) == len(deps.strategies) * len(SYMBOLS)
    assert calls == [READ, WRITE, WRITE]
    with aws_calls() as calls:
        assert prepare_session_states(SESSION, SYMBOLS, deps) == prepared  # already started
    assert calls == [READ]
