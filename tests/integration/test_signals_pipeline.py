"""End to end through DynamoDB and SQS on moto: signed bars into ingest -> the bars queue ->
the signals handler -> the signal queue, on a real session (2024-07-02, SPY), with the real
massive client against the emulator serving the vendor's history and today's minutes."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from functions.ingest import handler as ingest_handler
from functions.signals import handler as signals_handler
from maxtrader.adapters.memory_market_data import InMemoryMarketData
from maxtrader.domain.clock import NEW_YORK, FixedClock
from maxtrader.domain.models import Bar
from tests.support.ingest_events import LambdaContext, body_of, signed_event
from tests.support.signals_real import RealDay
from tests.support.signals_stage import SignalsStage, clean_states
from tests.support.signals_world import SignalsWorld

pytest_plugins = ("tests.support.signals_fixtures",)
pytestmark = pytest.mark.slow


def _local(day: RealDay, hh: int, mm: int) -> list[Bar]:
    start = time(hh, mm)
    return [b for b in day.bars if b.ts.astimezone(NEW_YORK).time() >= start]


def test_pushed_bars_become_the_backtesters_signals_on_the_signal_queue(
    real_stage: tuple[SignalsStage, RealDay], signals_clock: FixedClock
) -> None:
    signals_stage, day = real_stage
    # The relay starts at 11:30: the first bar's session start reads the history over REST
    # and fills 09:30..11:29 from REST too; then one signed request per minute.
    pushed = [b for b in _local(day, 11, 30) if b.ts.astimezone(NEW_YORK).time() < time(11, 45)]
    for bar in pushed:
        at = bar.closed_at + timedelta(seconds=2)
        signals_clock.set(at)
        response = ingest_handler.lambda_handler(signed_event(body_of(bar), at), LambdaContext())
        assert response["statusCode"] == 200
        signals_clock.set(at + timedelta(milliseconds=300))
        for answer in signals_stage.deliver_bars(signals_handler.lambda_handler):
            assert answer["batchItemFailures"] == []

    reference = SignalsWorld(("SPY",), market=InMemoryMarketData(day.all_bars))
    reference.store_regime(day.day, day.vix)
    for bar in [b for b in day.bars if b.ts <= pushed[-1].ts]:
        reference.push(bar)
    expected = reference.queue.delivered
    assert [m.signal.strategy for m in expected] == ["vwap_reversion"]  # the 11:38 short
    assert signals_stage.signals() == [("SPY", m.signal.id, m) for m in expected]
    upto = [b for b in day.bars if b.ts <= pushed[-1].ts]
    assert signals_stage.stored_states() == clean_states(upto, day.all_bars, (day.day, day.vix))
    audit = signals_stage.audit_log(day.day)
    assert [r.subject for r in audit] == [m.signal.id for m in expected]
