"""Fuzz the ingest's input boundary (``-m fuzz``): random and mutated bodies and signature
headers against the handler in process, on moto. Never a 5xx; a refused request never writes.

Writes are counted on the wire (every PutItem, TransactWriteItems and SendMessageBatch the
adapters send) and the table and the queue are checked at the end.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, cast

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.ingest import handler
from maxtrader.adapters.dynamodb_session_store import DynamoDBSessionStore
from maxtrader.adapters.sqs_bar_queue import SqsBarQueue
from maxtrader.domain.clock import FixedClock
from maxtrader.runtime import factory
from maxtrader.webhook import sign
from tests.support.ingest_events import (
    OPEN,
    SECRET,
    IngestStage,
    LambdaContext,
    am_event,
    function_url_event,
    minute_bar,
)
from tests.support.recording_client import RecordingClient

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]
NOW = OPEN + timedelta(minutes=30, seconds=2)
T = int(NOW.timestamp())
WRITES = ("put_item", "transact_write_items", "send_message_batch")
FUZZ = settings(
    max_examples=1500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
VALID = [am_event(minute_bar("SPY", 1)), am_event(minute_bar("QQQ", 2))]
VALID_BODY = json.dumps(VALID).encode()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


class Wire:
    """The stage's adapters over recording clients: every request they send is counted."""

    def __init__(self, stage: IngestStage, monkeypatch: pytest.MonkeyPatch) -> None:
        self.stage = stage
        self.dynamodb = RecordingClient(boto3.client("dynamodb"))
        self.sqs = RecordingClient(boto3.client("sqs"))
        store = DynamoDBSessionStore(cast(Any, self.dynamodb), stage.table)
        queue = SqsBarQueue(cast(Any, self.sqs), stage.queue_url)
        monkeypatch.setattr(factory, "session_store", lambda: store)
        monkeypatch.setattr(factory, "bar_queue", lambda: queue)

    def writes(self) -> int:
        return sum(len(c.requests[op]) for c in (self.dynamodb, self.sqs) for op in WRITES)

    def invoke(self, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        before = self.writes()
        response = handler.lambda_handler(event, LambdaContext())
        status = response["statusCode"]
        assert status < 500, response["body"]
        if status != 200:
            assert self.writes() == before, f"a {status} wrote"
        return status, json.loads(response["body"])


@pytest.fixture
def wire(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Wire]:
    factory.clear()
    monkeypatch.setattr(handler, "clock", FixedClock(NOW))
    yield Wire(IngestStage(monkeypatch), monkeypatch)
    factory.clear()


def _nothing_written(wire: Wire) -> None:
    assert wire.writes() == 0
    assert (wire.stage.item_count(), wire.stage.drain()) == (0, [])


headers = st.one_of(
    st.none(),
    st.text(max_size=80),
    st.builds(lambda t, h: f"t={t},v1={h}", st.integers(-(10**13), 10**13),
              st.text("0123456789abcdef", min_size=60, max_size=68)),
    st.builds(lambda body, dt: sign(body, SECRET, T + dt), st.binary(max_size=50),
              st.integers(-1000, 1000)),  # a real signature, of another body
    st.builds(lambda dt: sign(VALID_BODY, SECRET, T + dt),
              st.integers(301, 10**6) | st.integers(-(10**6), -301)),  # right body, stale
    st.builds(lambda secret: sign(VALID_BODY, secret, T), st.text(min_size=1, max_size=20)
              .filter(lambda s: s != SECRET)),  # right body, wrong secret
)  # fmt: skip


@FUZZ
@given(
    body=st.one_of(st.text(max_size=300), st.just(VALID_BODY.decode()), st.binary(max_size=300)),
    header=headers,
    as_base64=st.booleans(),
)
def test_unsigned_or_missigned_requests_are_refused_and_never_write(
    wire: Wire, body: str | bytes, header: str | None, as_base64: bool
) -> None:
    if isinstance(body, bytes) and not as_base64:
        body = body.decode("latin-1")
    event = function_url_event(b"", signature=header)
    if as_base64:
        raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
        event |= {"body": base64.b64encode(raw).decode(), "isBase64Encoded": True}
    else:
        event["body"] = body
    status, _ = wire.invoke(event)
    assert status in (400, 401)
    _nothing_written(wire)


@st.composite
def mutated_bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["field", "drop", "bytes", "truncate", "wrap"]))
    events = [dict(e) for e in VALID]
    target = events[draw(st.integers(0, len(events) - 1))]
    if kind == "field":
        target[draw(st.sampled_from(sorted(target)))] = draw(json_values)
    elif kind == "drop":
        del target[draw(st.sampled_from(sorted(target)))]
    body = json.dumps(events).encode()
    if kind == "bytes":
        at = draw(st.integers(0, len(body) - 1))
        body = body[:at] + draw(st.binary(min_size=1, max_size=3)) + body[at + 1 :]
    elif kind == "truncate":
        body = body[: draw(st.integers(0, len(body) - 1))]
    elif kind == "wrap":
        body = json.dumps(draw(json_values)).encode()
    return body


@FUZZ
@given(body=mutated_bodies(), as_base64=st.booleans())
def test_signed_mutated_bodies_are_stored_or_refused_never_a_5xx(
    wire: Wire, body: bytes, as_base64: bool
) -> None:
    event = function_url_event(body if as_base64 else b"", signature=sign(body, SECRET, T),
                               base64_encoded=as_base64)  # fmt: skip
    if not as_base64:
        event["body"] = body.decode("utf-8", "replace")
        event["headers"]["x-maxtrader-signature"] = sign(event["body"].encode(), SECRET, T)
    status, answer = wire.invoke(event)
    assert status in (200, 400)
    if status == 400:
        assert answer["error"] in ("malformed_json", "invalid_bar")


@FUZZ
@given(data=st.data())
def test_mutated_signature_headers_over_a_valid_body_never_5xx(wire: Wire, data: Any) -> None:
    header = sign(VALID_BODY, SECRET, T)
    mutation = data.draw(st.sampled_from(["char", "insert", "delete", "entry", "time"]))
    if mutation == "time":
        header = header.replace(f"t={T}", f"t={data.draw(st.text(max_size=14))}")
    elif mutation == "entry":
        header += "," + data.draw(st.text(max_size=30))
    else:
        at = data.draw(st.integers(0, len(header) - 1))
        piece = "" if mutation == "delete" else data.draw(st.characters())
        header = header[:at] + piece + header[at + (mutation != "insert") :]
    status, _ = wire.invoke(function_url_event(VALID_BODY, signature=header))
    assert status in (200, 401)
