"""The signals function and the Massive API key: a rotated key is picked up after the vendor
refuses the old one (``force_fetch``, not after ``max_age``), and the key never reaches a log
line, an answer or a trace segment. The real massive client against the emulator, on moto."""

from __future__ import annotations

import json
import logging
import socket
from datetime import timedelta
from typing import Any

import boto3
import pytest

from functions.signals import handler
from maxtrader.domain.clock import FixedClock
from maxtrader.emulators.massive import MassiveEmulator
from maxtrader.runtime import factory
from maxtrader.runtime.observability import logger
from tests.support.cold_handler import handle_cold
from tests.support.ingest_events import LambdaContext
from tests.support.signals_stage import (
    DAY_HISTORY,
    DAY_REGIME,
    MASSIVE_KEY,
    SignalsStage,
    clean_states,
    poll_event,
)
from tests.support.signals_world import DAY, minute, session_of

pytest_plugins = ("tests.support.signals_fixtures", "tests.support.xray_daemon")


@pytest.fixture
def stage(signals_day_stage: SignalsStage) -> SignalsStage:
    """This module's ``stage``: each support plugin names its own (plugins are global, and three
    defined ``stage``: which one a module got depended on the collection order)."""
    return signals_day_stage


SESSION = session_of(DAY)
ROTATED = "signals-test-rotated-massive-key-5d2e"
TRACE_ID = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def poll(clock: FixedClock, minutes: int) -> dict[str, Any]:
    at = SESSION.open + timedelta(minutes=minutes)
    clock.set(at + timedelta(seconds=5))
    answer: dict[str, Any] = handler.lambda_handler(poll_event(at), LambdaContext())
    return answer


def rotate(massive: MassiveEmulator, key: str) -> None:
    """The operator's rotation: the vendor takes only the new key, the secret holds it."""
    massive.api_key = key
    boto3.client("secretsmanager").put_secret_value(
        SecretId="maxtrader/staging/massive", SecretString=json.dumps({"api_key": key})
    )


def test_a_rotated_key_is_picked_up_when_the_vendor_refuses_the_cached_one(
    stage: SignalsStage, massive: MassiveEmulator, signals_clock: FixedClock
) -> None:
    assert poll(signals_clock, 5)["polled"] == 2 * 4  # minutes 0..3; the key is now cached
    assert factory.secrets().max_age_seconds == 300  # the rotation is well within max_age
    rotate(massive, ROTATED)
    answer = poll(signals_clock, 10)  # a warm container: its client holds the old key
    assert answer["polled"] == 2 * 5  # minutes 4..8 of SPY and QQQ, over REST
    expected = clean_states([minute("SPY", DAY, i) for i in range(9)], DAY_HISTORY, DAY_REGIME)
    assert {k: v for k, v in stage.stored_states().items() if k[1] == "SPY"} == {
        k: v for k, v in expected.items() if k[1] == "SPY"
    }


def test_a_key_nobody_rotated_still_fails_the_poll_with_the_vendors_reason(
    stage: SignalsStage, massive: MassiveEmulator, signals_clock: FixedClock
) -> None:
    poll(signals_clock, 5)
    massive.api_key = ROTATED  # the vendor revoked the key; the secret still holds it
    with pytest.raises(Exception, match="Unknown API Key"):
        poll(signals_clock, 10)
    assert stage.stored_states()  # the first poll's states are kept as they were


def test_the_massive_key_never_reaches_a_log_line_or_an_answer(  # noqa: PLR0917 - fixtures
    stage: SignalsStage,
    massive: MassiveEmulator,
    signals_clock: FixedClock,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    caplog.set_level(logging.DEBUG)  # every library's debug output: botocore, urllib3, massive
    logger.setLevel(logging.DEBUG)  # the staging stage logs at DEBUG
    request.addfinalizer(lambda: logger.setLevel(logging.INFO))
    answers = [poll(signals_clock, 5)]
    with caplog.at_level(logging.WARNING):  # the operator's PutSecretValue is not the function's
        rotate(massive, ROTATED)  # then a refusal, a forced re-read and a retry are logged
    answers.append(poll(signals_clock, 10))
    out, err = capfd.readouterr()  # the file descriptors: whatever any stream handler wrote
    records = json.dumps([r.__dict__ for r in caplog.records], default=str)  # extras included
    seen = out + err + caplog.text + records + json.dumps(answers)
    assert "GetSecretValue" in seen  # the capture saw the secret being read ...
    assert "/v2/aggs/ticker/SPY/range/1/minute/" in seen  # ... and the vendor being asked
    assert "signals stepped" in caplog.text  # ... and the handler's own lines
    for key in (MASSIVE_KEY, ROTATED):
        assert key not in seen


def test_the_massive_key_never_reaches_a_trace_segment(
    stage: SignalsStage, daemon: socket.socket
) -> None:
    now = SESSION.open + timedelta(minutes=6)
    lambda_env = {
        "POWERTOOLS_TRACE_DISABLED": "false",
        "LAMBDA_TASK_ROOT": "/var/task",
        "AWS_LAMBDA_FUNCTION_NAME": "maxtrader-staging-signals",
        "_X_AMZN_TRACE_ID": TRACE_ID,
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
    }
    from tests.support.xray_daemon import received  # a plugin: imported once registered

    result = handle_cold("signals", [poll_event(now)], now, env=lambda_env)
    assert result["answers"][0]["polled"] == 2 * 5
    segments = received(daemon)
    assert "## functions.signals.handler._poll" in segments  # the capture saw the poll ...
    assert '"GetSecretValue"' in segments  # ... read the secret (then it fetched over REST)
    assert MASSIVE_KEY not in segments
