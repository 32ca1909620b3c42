"""The whole push path losing its relay mid-session (``-m faults``): the stream emulator ->
the real relay (``massive.WebSocketClient``) -> the ingest handler -> the bars queue -> the
signals handler, on moto; the relay process dies, the ``signals-poll`` schedule fetches the
missing minutes over REST (the Massive emulator), a new relay resumes the push. Every minute is
stored once and stepped once: the stored states are those of a clean run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from functions.signals import handler
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.models import Bar
from maxtrader.emulators.massive_stream import MassiveStreamEmulator, StreamStats
from maxtrader.runtime import factory
from tests.support.ingest_events import LambdaContext
from tests.support.relay_harness import WAIT
from tests.support.relay_ingest import InProcessIngest, relay_into
from tests.support.signals_stage import (
    DAY_HISTORY,
    DAY_REGIME,
    SignalsStage,
    clean_states,
    poll_event,
)
from tests.support.signals_world import DAY, minute, session_of

pytest_plugins = ("tests.support.signals_fixtures",)


@pytest.fixture
def stage(signals_day_stage: SignalsStage) -> SignalsStage:
    """This module's ``stage``: each support plugin names its own (plugins are global, and three
    defined ``stage``: which one a module got depended on the collection order)."""
    return signals_day_stage


pytestmark = [pytest.mark.faults, pytest.mark.slow]
SESSION = session_of(DAY)
STREAM_KEY = "outage-test-stream-key"
ONE_MINUTE = timedelta(minutes=1)


def minutes(first: int, last: int) -> list[Bar]:
    """SPY's and QQQ's minutes ``first..last`` of the session, as the stream sends them."""
    return [minute(symbol, DAY, i) for i in range(first, last + 1) for symbol in ("SPY", "QQQ")]


def subscribed(stats: StreamStats) -> bool:
    return {"AM.SPY", "AM.QQQ"} <= stats.live_topics


def push(stream: MassiveStreamEmulator, clock: FixedClock, bars: list[Bar]) -> InProcessIngest:
    """A relay process lives while ``bars`` are pushed through it, then dies."""
    ingest = InProcessIngest()
    now: Callable[[], float] = lambda: clock.now().timestamp()  # noqa: E731 - the signer's time
    running = relay_into(ingest, stream, api_key=STREAM_KEY, unix_time=now)
    try:
        assert stream.wait_until(subscribed, WAIT)
        stream.publish(bars)
        assert ingest.wait_for(lambda: ingest.accepted() >= len(bars))
    finally:
        running.stop()
    assert {status for status, _ in ingest.answers} == {200}
    return ingest


def test_a_dead_relay_degrades_to_polling_and_a_new_one_resumes_without_loss_or_repeat(
    stage: SignalsStage, signals_clock: FixedClock
) -> None:
    with MassiveStreamEmulator(api_key=STREAM_KEY) as stream:
        signals_clock.set(minute("SPY", DAY, 9).closed_at + timedelta(seconds=1))
        push(stream, signals_clock, minutes(0, 9))
        stage.deliver_bars(handler.lambda_handler)
        assert stream.stats().live_topics == frozenset()  # the relay is gone
        polled = 0
        for m in range(11, 31):  # the schedule fires every minute; nothing is pushed
            at = SESSION.open + timedelta(minutes=m)
            signals_clock.set(at + timedelta(seconds=5))
            polled += handler.lambda_handler(poll_event(at), LambdaContext())["polled"]
        assert polled == 2 * 19  # minutes 10..28 of SPY and QQQ, each fetched once
        # Not silence: the states kept up with the market while nothing was pushed.
        assert stage.stored_states() == clean_states(minutes(0, 28), DAY_HISTORY, DAY_REGIME)
        signals_clock.set(minute("SPY", DAY, 32).closed_at + timedelta(seconds=1))
        again = push(stream, signals_clock, minutes(30, 32))  # a new relay process
        assert [a["duplicated"] for _, a in again.answers] == [0] * len(again.answers)
        stage.deliver_bars(handler.lambda_handler)  # minute 29: a gap, filled over REST
    assert stage.stored_states() == clean_states(minutes(0, 32), DAY_HISTORY, DAY_REGIME)
    for symbol in ("SPY", "QQQ"):
        held = factory.session_store().bars(symbol, SESSION.open, SESSION.open + 33 * ONE_MINUTE)
        assert [b.ts for b in held] == [minute(symbol, DAY, i).ts for i in range(33)]
