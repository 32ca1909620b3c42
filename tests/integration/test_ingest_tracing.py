"""What the ingest's X-Ray trace carries: a fresh interpreter runs the handler as Lambda would
(tracing on, the trace header set) and its segments are captured on a UDP "daemon" on
127.0.0.1. Neither the secret nor a live signature may appear in any of them."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest

from maxtrader.runtime import factory
from maxtrader.webhook import sign
from tests.support.ingest_events import (
    OPEN,
    SECRET,
    IngestStage,
    body_of,
    function_url_event,
    handle_in_fresh_interpreter,
    minute_bar,
    signed_event,
)
from tests.support.xray_daemon import received

pytest_plugins = ["tests.support.xray_daemon"]  # the `daemon` fixture

PREVIOUS = "previous-webhook-secret-31aa"
TRACE_ID = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def test_no_secret_or_signature_reaches_a_trace_segment(
    aws_env: str, monkeypatch: pytest.MonkeyPatch, daemon: socket.socket
) -> None:
    factory.clear()
    stage = IngestStage(monkeypatch)
    stage.put_secret({"secret": SECRET, "previous": PREVIOUS})
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED")
    now = OPEN + timedelta(minutes=10)
    body = body_of(minute_bar("SPY", 1))
    good = sign(body, SECRET, int(now.timestamp()))
    events = [
        signed_event(body, now),
        function_url_event(body, signature=sign(body, "forged", int(now.timestamp()))),
        signed_event(body, now - timedelta(seconds=900)),
        signed_event(b'[{"ev": "AM"}]', now),
    ]
    lambda_env = {
        "LAMBDA_TASK_ROOT": "/var/task",
        "AWS_LAMBDA_FUNCTION_NAME": "maxtrader-staging-ingest",
        "_X_AMZN_TRACE_ID": TRACE_ID,
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
    }
    statuses, _ = handle_in_fresh_interpreter(events, now, env=lambda_env)
    assert statuses == [200, 401, 401, 400]
    segments = received(daemon)
    # The capture saw the handler, the secret being read (twice: the forged request re-reads
    # it) and the writes.
    assert "## functions.ingest.handler.ingest" in segments
    assert segments.count('"GetSecretValue"') == 2
    assert '"PutItem"' in segments
    assert '"SendMessageBatch"' in segments
    for value in (SECRET, PREVIOUS, good.split("v1=")[1]):
        assert value not in segments
