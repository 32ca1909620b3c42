"""Fuzz: any SQS record body that is not a valid bar message of a traded symbol fails that
record alone, clearly, with nothing written; the batch's other groups go on."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.signals import handler
from maxtrader.domain.clock import FixedClock
from maxtrader.ingest import encode_bar_message
from maxtrader.runtime import factory
from tests.support.ingest_events import LambdaContext
from tests.support.signals_stage import SignalsStage, sqs_event, sqs_record
from tests.support.signals_world import DAY, minute, session_bars, session_of

pytest_plugins = ("tests.support.signals_fixtures",)


pytestmark = [pytest.mark.fuzz, pytest.mark.property]

SESSION = session_of(DAY)
VALID = json.loads(encode_bar_message(minute("SPY", DAY, 0)))
REQUIRED = [("version",), ("kind",), ("bar",)] + [
    ("bar", k) for k in ("symbol", "ts", "open", "high", "low", "close", "volume")
]
FIELDS = [("version",), ("kind",), ("bar",)] + [("bar", k) for k in VALID["bar"]]
GARBAGE = st.sampled_from([[], {}, -1e9, "¿", True, "2024-13-01T00:00:00Z"])


def _mutated(draw: Any) -> str:
    payload = json.loads(json.dumps(VALID))
    how = draw(st.sampled_from(["replace", "delete", "extra"]))
    path = draw(st.sampled_from(REQUIRED if how == "delete" else FIELDS))
    target = payload if len(path) == 1 else payload["bar"]
    if how == "replace":
        target[path[-1]] = draw(GARBAGE)
    elif how == "delete":
        del target[path[-1]]
    else:
        target[draw(st.sampled_from(["x", "Symbol", "extra_" + path[-1]]))] = 1
    return json.dumps(payload)


@st.composite
def bad_bodies(draw: Any) -> str:
    kind = draw(st.sampled_from(["text", "json", "mutated", "truncated"]))
    if kind == "text":
        return str(draw(st.text(max_size=200)))
    if kind == "json":
        value = draw(st.recursive(st.none() | st.booleans() | st.floats() | st.text(max_size=20),
                                  lambda c: st.lists(c, max_size=4)
                                  | st.dictionaries(st.text(max_size=8), c, max_size=4),
                                  max_leaves=12))  # fmt: skip
        return json.dumps(value)
    if kind == "truncated":
        text = encode_bar_message(minute("SPY", DAY, 0))
        return text[: draw(st.integers(min_value=0, max_value=len(text) - 1))]
    return _mutated(draw)


@pytest.fixture
def stage(signals_stage: SignalsStage, signals_clock: FixedClock) -> SignalsStage:
    signals_stage.emulator.add_bars(session_bars("QQQ", DAY - timedelta(days=1)))
    signals_stage.save_regime(DAY, 17.0)
    signals_clock.set(SESSION.open + timedelta(minutes=5))
    return signals_stage


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bad_bodies())
def test_a_bad_body_fails_its_record_alone_and_writes_nothing(
    stage: SignalsStage, body: str
) -> None:
    bad = sqs_record(body, group="SPY", dedup="SPY-x", queue_arn="arn:aws:sqs:us-east-1:1:b.fifo")
    good_bar = minute("QQQ", DAY, 0)
    good = sqs_record(encode_bar_message(good_bar), group="QQQ", dedup="QQQ-0",
                      queue_arn="arn:aws:sqs:us-east-1:1:b.fifo")  # fmt: skip
    response = handler.lambda_handler(sqs_event([bad, good]), LambdaContext())
    assert response["batchItemFailures"] == [{"itemIdentifier": bad["messageId"]}]
    written = {pk for pk, _ in stage.stored_bars()} | {
        symbol for (_, symbol), payload in stage.stored_states().items() if payload is not None
    }
    assert "SPY" not in written and "BAR#SPY" not in written
    assert factory.session_store().strategy_state("pause", "QQQ") is not None
