"""The ingest Function URL handler in process, end to end through DynamoDB and SQS on moto.

Every refusal is checked on the real resources: the table and the queue are left as they were.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from functions.ingest import handler
from maxtrader.domain.clock import FixedClock
from maxtrader.ingest import MAX_BODY_BYTES, deduplication_id
from maxtrader.runtime import factory
from maxtrader.webhook import sign
from tests.support.ingest_events import (
    OPEN,
    SECRET,
    IngestStage,
    LambdaContext,
    am_event,
    body_of,
    function_url_event,
    minute_bar,
    signed_event,
)

NOW = OPEN + timedelta(minutes=30, seconds=2)  # 10:00:02 New York: bars 0..29 have closed


@pytest.fixture
def stage(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[IngestStage]:
    factory.clear()
    yield IngestStage(monkeypatch)
    factory.clear()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FixedClock:
    fixed = FixedClock(NOW)
    monkeypatch.setattr(handler, "clock", fixed)
    return fixed


def invoke(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = handler.lambda_handler(event, LambdaContext())
    return response["statusCode"], json.loads(response["body"])


def test_one_bar_is_stored_and_handed_on_with_its_fifo_ids(
    stage: IngestStage, clock: FixedClock
) -> None:
    bar = minute_bar("SPY", 3)
    status, answer = invoke(signed_event(body_of(bar, single=True), NOW))
    assert (status, answer) == (200, {"accepted": 1, "duplicated": 0, "ignored": 0, "enqueued": 1})
    assert stage.stored_bars() == [("BAR#SPY", "2024-06-03T13:33:00.000000Z")]
    assert stage.drain() == [("SPY", "SPY-20240603T1333Z", bar)]


def test_many_bars_out_of_order_are_handed_on_in_order_per_symbol(
    stage: IngestStage, clock: FixedClock
) -> None:
    bars = [minute_bar(sym, m) for m in (7, 2, 9, 0, 4) for sym in ("QQQ", "SPY")]
    status, answer = invoke(signed_event(body_of(*bars), NOW))
    assert (status, answer["accepted"], answer["enqueued"]) == (200, 10, 10)
    assert len(stage.stored_bars()) == 10
    delivered = stage.drain()
    for symbol in ("SPY", "QQQ"):
        mine = [bar for group, _, bar in delivered if group == symbol]
        assert [b.ts for b in mine] == sorted(b.ts for b in bars if b.symbol == symbol)


def _refusals() -> list[Any]:
    bar = minute_bar("SPY", 1)
    good = body_of(bar)
    t = int(NOW.timestamp())

    def bad(**changes: Any) -> bytes:
        return json.dumps([{**am_event(bar), **changes}]).encode()

    def signed(body: bytes) -> dict[str, Any]:
        return signed_event(body, NOW)

    cases = [
        ("missing", function_url_event(good, signature=None), 401, "missing_signature", ""),
        ("wrong secret", signed_event(good, NOW, secret="not-the-secret"), 401, "bad_signature",
         ""),
        ("other body", function_url_event(good, signature=sign(b"[]", SECRET, t)), 401,
         "bad_signature", ""),
        ("malformed", function_url_event(good, signature="v1=abc"), 401, "malformed_signature",
         ""),
        ("stale", signed_event(good, NOW - timedelta(seconds=301)), 401, "replay", "replay"),
        ("future", signed_event(good, NOW + timedelta(seconds=301)), 401, "replay", "future"),
        ("not json", signed(b"[{"), 400, "malformed_json", "not JSON"),
        ("scalar", signed(b"42"), 400, "invalid_bar", "AM event"),
        ("high below low", signed(bad(h=1.0)), 400, "invalid_bar", "h (1.0) is below l"),
        ("price as text", signed(bad(c="500.2")), 400, "invalid_bar", "field 'c'"),
        ("missing field", signed(json.dumps([{k: v for k, v in am_event(bar).items()
                                              if k != "vw"}]).encode()),
         400, "invalid_bar", "field 'vw'"),
        ("not AM", signed(bad(ev="A")), 400, "invalid_bar", "field 'ev'"),
        ("not closed", signed(body_of(minute_bar("SPY", 40))), 400, "invalid_bar",
         "field 'e'"),
        ("bad base64", function_url_event(good, signature=sign(good, SECRET, t)) | {
            "body": "!!not base64!!", "isBase64Encoded": True}, 400, "malformed_body", "base64"),
        ("too large", signed(b" " * (MAX_BODY_BYTES + 1)), 413, "too_large", "262144"),
    ]  # fmt: skip
    return [pytest.param(case[1:], id=case[0]) for case in cases]


@pytest.mark.parametrize("case", _refusals())
def test_each_refusal_has_its_status_and_cause_and_writes_nothing(
    stage: IngestStage, clock: FixedClock, case: tuple[dict[str, Any], int, str, str]
) -> None:
    event, status, reason, says = case
    got, answer = invoke(event)
    assert (got, answer["error"]) == (status, reason)
    assert says in answer["message"]
    assert stage.item_count() == 0
    assert stage.drain() == []


def test_an_invalid_bar_beside_valid_ones_writes_none_of_them(
    stage: IngestStage, clock: FixedClock
) -> None:
    events = [am_event(minute_bar("SPY", m)) for m in range(5)]
    events[3] = {**events[3], "s": events[3]["s"] + 1}  # not on a whole minute
    status, answer = invoke(signed_event(json.dumps(events).encode(), NOW))
    assert status == 400
    assert "push event 3" in answer["message"]
    assert "field 's'" in answer["message"] or "whole minute" in answer["message"]
    assert (stage.item_count(), stage.drain()) == (0, [])


@pytest.mark.parametrize(
    ("signed_at", "status"),
    [(-300, 200), (-301, 401), (300, 200), (301, 401), (0, 200)],
    ids=["300s-old", "301s-old", "300s-ahead", "301s-ahead", "now"],
)
def test_the_replay_window_is_300_seconds_either_way(
    stage: IngestStage, clock: FixedClock, signed_at: int, status: int
) -> None:
    got, _ = invoke(signed_event(body_of(minute_bar("SPY", 0)), NOW + timedelta(seconds=signed_at)))
    assert got == status
    assert stage.item_count() == (1 if status == 200 else 0)


def test_a_captured_request_is_refused_once_the_window_has_passed(
    stage: IngestStage, clock: FixedClock
) -> None:
    event = signed_event(body_of(minute_bar("SPY", 0)), NOW)
    assert invoke(event)[0] == 200
    clock.advance(301)
    assert invoke(event) == (401, {"error": "replay", "message": invoke(event)[1]["message"]})


def test_a_duplicate_delivery_is_stored_once_and_deduplicated_by_the_queue(
    stage: IngestStage, clock: FixedClock
) -> None:
    body = body_of(minute_bar("SPY", 5), minute_bar("SPY", 5), minute_bar("QQQ", 5))
    first = invoke(signed_event(body, NOW))
    assert first == (200, {"accepted": 2, "duplicated": 1, "ignored": 0, "enqueued": 2})
    again = invoke(signed_event(body_of(minute_bar("SPY", 5)), NOW))
    assert again == (200, {"accepted": 0, "duplicated": 1, "ignored": 0, "enqueued": 1})
    assert len(stage.stored_bars()) == 2
    assert sorted(d for _, d, _ in stage.drain()) == ["QQQ-20240603T1335Z", "SPY-20240603T1335Z"]


def test_a_late_bar_after_a_newer_one_is_stored_and_handed_on(
    stage: IngestStage, clock: FixedClock
) -> None:
    assert invoke(signed_event(body_of(minute_bar("SPY", 9)), NOW))[1]["accepted"] == 1
    assert invoke(signed_event(body_of(minute_bar("SPY", 8)), NOW))[1]["accepted"] == 1
    assert [d for _, d, _ in stage.drain()] == [
        deduplication_id(minute_bar("SPY", 9)),
        deduplication_id(minute_bar("SPY", 8)),
    ]


def test_an_unknown_symbol_is_accepted_counted_and_not_stored(
    stage: IngestStage, clock: FixedClock
) -> None:
    status, answer = invoke(signed_event(body_of(minute_bar("IWM", 1), minute_bar("SPY", 1)), NOW))
    assert (status, answer) == (200, {"accepted": 1, "duplicated": 0, "ignored": 1, "enqueued": 1})
    assert stage.stored_bars() == [("BAR#SPY", "2024-06-03T13:31:00.000000Z")]
    only_unknown = invoke(signed_event(body_of(minute_bar("IWM", 2)), NOW))
    assert only_unknown == (200, {"accepted": 0, "duplicated": 0, "ignored": 1, "enqueued": 0})
    assert [group for group, _, _ in stage.drain()] == ["SPY"]


def test_a_base64_body_is_verified_over_its_decoded_bytes(
    stage: IngestStage, clock: FixedClock
) -> None:
    body = body_of(minute_bar("SPY", 2))
    status, answer = invoke(signed_event(body, NOW, base64_encoded=True))
    assert (status, answer["accepted"]) == (200, 1)
    # Signing the base64 text instead of the bytes is not the contract.
    text = base64.b64encode(body)
    wrong = function_url_event(body, signature=sign(text, SECRET, int(NOW.timestamp())),
                               base64_encoded=True)  # fmt: skip
    assert invoke(wrong)[1]["error"] == "bad_signature"


def test_a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_413(
    stage: IngestStage, clock: FixedClock
) -> None:
    body = body_of(minute_bar("SPY", 2))
    padded = body + b" " * (MAX_BODY_BYTES - len(body))
    assert invoke(signed_event(padded, NOW))[0] == 200
    assert invoke(signed_event(padded + b" ", NOW, base64_encoded=True))[0] == 413


def test_only_post_on_the_root_is_served(stage: IngestStage, clock: FixedClock) -> None:
    body = body_of(minute_bar("SPY", 2))
    assert invoke(signed_event(body, NOW, method="GET"))[0] == 404
    assert invoke(signed_event(body, NOW, path="/admin"))[0] == 404
    assert stage.item_count() == 0


def test_a_rotated_secret_is_picked_up_on_the_first_request_signed_with_it(
    stage: IngestStage, clock: FixedClock
) -> None:
    assert invoke(signed_event(body_of(minute_bar("SPY", 0)), NOW))[0] == 200  # caches SECRET
    stage.put_secret({"secret": "rotated-secret-2", "previous": SECRET})
    rotated = signed_event(body_of(minute_bar("SPY", 1)), NOW, secret="rotated-secret-2")
    assert invoke(rotated)[0] == 200  # a bad signature re-reads the secret
    assert invoke(signed_event(body_of(minute_bar("SPY", 2)), NOW))[0] == 200  # previous
    # Forged requests re-read it at most once a minute: the next is refused from the cache.
    stage.put_secret({"secret": "rotated-secret-3"})
    third = signed_event(body_of(minute_bar("SPY", 3)), NOW, secret="rotated-secret-3")
    assert invoke(third)[1]["error"] == "bad_signature"
    clock.advance(61)
    assert invoke(signed_event(body_of(minute_bar("SPY", 3)), clock.now(),
                               secret="rotated-secret-3"))[0] == 200  # fmt: skip
    assert len(stage.stored_bars()) == 4


def test_a_missing_environment_variable_is_a_500_naming_nothing_secret(
    stage: IngestStage, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MAXTRADER_STATE_TABLE")
    factory.clear()
    status, answer = invoke(signed_event(body_of(minute_bar("SPY", 0)), NOW))
    assert (status, answer["error"]) == (500, "internal")
    assert stage.item_count() == 0
