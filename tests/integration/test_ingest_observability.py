"""What the ingest tells the world: its EMF metrics, and never a secret (logs, responses)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from functions.ingest import handler
from maxtrader.domain.clock import FixedClock
from maxtrader.runtime import factory
from maxtrader.runtime.observability import logger
from maxtrader.webhook import sign
from tests.support.ingest_events import (
    OPEN,
    SECRET,
    IngestStage,
    LambdaContext,
    body_of,
    function_url_event,
    minute_bar,
    signed_event,
)

NOW = OPEN + timedelta(minutes=30, seconds=2)


@pytest.fixture
def stage(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[IngestStage]:
    factory.clear()
    monkeypatch.setattr(handler, "clock", FixedClock(NOW))
    yield IngestStage(monkeypatch)
    factory.clear()


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = handler.lambda_handler(event, LambdaContext())
    return response


def emf(out: str) -> list[dict[str, Any]]:
    """The EMF documents among the handler's stdout lines (the logger's lines are JSON too)."""
    docs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [d for d in docs if "_aws" in d]


def test_a_request_emits_the_documented_metrics(
    stage: IngestStage, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    bars = [minute_bar("SPY", 3), minute_bar("SPY", 3), minute_bar("IWM", 3), minute_bar("QQQ", 7)]
    assert invoke(signed_event(body_of(*bars), NOW))["statusCode"] == 200
    (doc,) = emf(capsys.readouterr().out)
    (directive,) = doc["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "MaxTrader"
    units = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    assert units == {"BarsIngested": "Count", "BarsDuplicated": "Count", "BarsIgnored": "Count",
                     "DataAgeSeconds": "Seconds"}  # fmt: skip
    assert (doc["BarsIngested"], doc["BarsDuplicated"], doc["BarsIgnored"]) == ([2.0], [1.0], [1.0])
    newest_end = minute_bar("QQQ", 7).closed_at
    assert doc["DataAgeSeconds"] == [(NOW - newest_end).total_seconds()]


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (function_url_event(b"[]", signature=None), "missing_signature"),
        (signed_event(b"[]", NOW - timedelta(seconds=400)), "replay"),
        (signed_event(b"{", NOW), "malformed_json"),
    ],
    ids=["401", "replay", "400"],
)
def test_a_refusal_counts_IngestRejected_by_reason(
    stage: IngestStage, capsys: pytest.CaptureFixture[str], event: dict[str, Any], reason: str
) -> None:
    capsys.readouterr()
    assert invoke(event)["statusCode"] in (400, 401)
    (doc,) = emf(capsys.readouterr().out)
    (directive,) = doc["_aws"]["CloudWatchMetrics"]
    assert [m["Name"] for m in directive["Metrics"]] == ["IngestRejected"]
    assert any("reason" in dimensions for dimensions in directive["Dimensions"])
    assert (doc["reason"], doc["IngestRejected"]) == (reason, [1.0])


def test_no_secret_or_live_signature_reaches_a_log_line_or_a_response(
    stage: IngestStage,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    stage.put_secret({"secret": SECRET, "previous": "previous-secret-8c0f"})  # before capture
    caplog.set_level(logging.DEBUG)  # every library's debug output, botocore's included
    logger.setLevel(logging.DEBUG)
    request.addfinalizer(lambda: logger.setLevel(logging.INFO))
    body = body_of(minute_bar("SPY", 1))
    t = int(NOW.timestamp())
    good = sign(body, SECRET, t)
    events = [
        signed_event(body, NOW),
        function_url_event(body, signature=good.replace("v1=", "v1=0")[:-1]),  # near miss
        function_url_event(body, signature=sign(body, "wrong-secret", t)),  # forces a re-read
        function_url_event(body, signature=good) | {"body": body.decode() + " "},  # other body
        signed_event(body, NOW - timedelta(seconds=999)),
        signed_event(b"[1]", NOW),
    ]
    answers = [invoke(e) for e in events]
    assert [a["statusCode"] for a in answers] == [200, 401, 401, 401, 401, 400]
    captured = capsys.readouterr()  # once: a second read would be empty
    seen = captured.out + captured.err + caplog.text
    seen += json.dumps(answers)
    assert "ingest refused" in seen  # the capture did see the handler's log lines
    assert "GetSecretValue" in seen  # ... and botocore's, while the secret was read
    for value in (SECRET, "previous-secret-8c0f", good.split("v1=")[1]):
        assert value not in seen


def test_the_reason_dimension_does_not_leak_into_the_next_requests_metrics(
    stage: IngestStage, capsys: pytest.CaptureFixture[str]
) -> None:
    invoke(function_url_event(b"[]", signature=None))
    capsys.readouterr()
    assert invoke(signed_event(body_of(minute_bar("SPY", 1)), NOW))["statusCode"] == 200
    (doc,) = emf(capsys.readouterr().out)
    assert "reason" not in doc
    assert all("reason" not in d for d in doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"])
