"""``maxtrader.ingest`` without AWS: the order of the steps, the limits, the message schema."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.adapters.memory_session_store import InMemorySessionStore
from maxtrader.adapters.sqs_bar_queue import SqsBarQueue
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import DataError, StateUnavailableError
from maxtrader.domain.models import Bar
from maxtrader.domain.ports import BarWriteResult
from maxtrader.ingest import (
    BAR_RETENTION,
    MAX_BODY_BYTES,
    BarQueueUnavailableError,
    BodyTooLargeError,
    IngestDependencies,
    IngestRequest,
    InvalidBodyError,
    UnauthorizedError,
    WebhookKeys,
    decode_bar_message,
    deduplication_id,
    encode_bar_message,
    ingest_bars,
)
from maxtrader.ingest.contract import parse_body, raw_body
from maxtrader.webhook import sign
from tests.support.ingest_events import OPEN, SECRET, am_event, body_of, minute_bar

NOW = OPEN + timedelta(minutes=30, seconds=2)


class ListQueue:
    """A ``BarQueue`` that keeps what it is sent (and can refuse)."""

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[Bar] = []
        self.batches: list[list[Bar]] = []
        self.fail = fail

    def send(self, bars: Sequence[Bar]) -> int:
        if self.fail:
            raise BarQueueUnavailableError("queue down")
        self.sent += bars
        self.batches.append(list(bars))
        return len(bars)


class Store(InMemorySessionStore):
    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.fail = fail
        self.calls: list[datetime] = []

    def put_bars(self, bars: Sequence[Bar], *, expires_at: datetime) -> BarWriteResult:
        self.calls.append(expires_at)
        if self.fail:
            raise StateUnavailableError("throttled")
        return super().put_bars(bars, expires_at=expires_at)


def deps(store: Store | None = None, queue: ListQueue | None = None) -> IngestDependencies:
    return IngestDependencies.of(store=store or Store(), queue=queue or ListQueue(),
                                 keys=WebhookKeys(lambda force: [SECRET]),
                                 symbols=["SPY", "QQQ"])  # fmt: skip


def request(body: bytes, at: datetime = NOW) -> IngestRequest:
    return IngestRequest(body=body.decode(), signature=sign(body, SECRET, int(at.timestamp())))


def test_bars_are_stored_then_handed_on_sorted_per_symbol_with_retention() -> None:
    store, queue = Store(), ListQueue()
    bars = [minute_bar("QQQ", 3), minute_bar("SPY", 2), minute_bar("SPY", 1), minute_bar("IWM", 1)]
    result = ingest_bars(request(body_of(*bars)), deps(store, queue), FixedClock(NOW))
    assert result.answer() == {"accepted": 3, "duplicated": 0, "ignored": 1, "enqueued": 3}
    assert [(b.symbol, b.ts.minute) for b in queue.sent] == [("QQQ", 33), ("SPY", 31), ("SPY", 32)]
    assert store.calls == [NOW + BAR_RETENTION]
    assert result.data_age_seconds == (NOW - minute_bar("QQQ", 3).closed_at).total_seconds()


def test_a_store_failure_hands_nothing_on_and_a_queue_failure_is_raised_after_storing() -> None:
    queue = ListQueue()
    with pytest.raises(StateUnavailableError):
        ingest_bars(request(body_of(minute_bar("SPY", 1))), deps(Store(fail=True), queue),
                    FixedClock(NOW))  # fmt: skip
    assert queue.sent == []
    store = Store()
    with pytest.raises(BarQueueUnavailableError):
        ingest_bars(request(body_of(minute_bar("SPY", 1))), deps(store, ListQueue(fail=True)),
                    FixedClock(NOW))  # fmt: skip
    assert len(store.bars("SPY", OPEN, NOW)) == 1


def test_duplicates_are_handed_on_again_so_a_failed_hand_off_is_retried() -> None:
    store, queue = Store(), ListQueue()
    body = body_of(minute_bar("SPY", 1))
    ingest_bars(request(body), deps(store, queue), FixedClock(NOW))
    again = ingest_bars(request(body), deps(store, queue), FixedClock(NOW))
    assert (again.accepted, again.duplicated, again.enqueued) == (0, 1, 1)
    assert [deduplication_id(b) for b in queue.sent] == ["SPY-20240603T1331Z"] * 2


def test_only_unknown_symbols_touch_neither_store_nor_queue() -> None:
    store, queue = Store(), ListQueue()
    result = ingest_bars(request(body_of(minute_bar("IWM", 1))), deps(store, queue),
                         FixedClock(NOW))  # fmt: skip
    assert (result.ignored, store.calls, queue.sent) == (1, [], [])


@pytest.mark.parametrize(("closes_after_now", "ok"), [(300, True), (301, False)])
def test_a_bar_that_has_not_closed_is_refused_beyond_the_clock_tolerance(
    closes_after_now: int, ok: bool
) -> None:
    bar = minute_bar("SPY", 10)
    now = bar.closed_at - timedelta(seconds=closes_after_now)
    store = Store()
    if ok:
        assert ingest_bars(request(body_of(bar), now), deps(store), FixedClock(now)).accepted == 1
    else:
        with pytest.raises(InvalidBodyError, match="field 'e'"):
            ingest_bars(request(body_of(bar), now), deps(store), FixedClock(now))
        assert store.calls == []


def test_the_signature_is_checked_before_the_body_is_parsed() -> None:
    garbage = b"{not json"
    with pytest.raises(UnauthorizedError) as refused:
        ingest_bars(IngestRequest(body=garbage.decode(), signature=None), deps(), FixedClock(NOW))
    assert refused.value.reason == "missing_signature"


def test_a_bad_signature_rereads_the_secret_at_most_once_a_minute() -> None:
    asked: list[bool] = []

    def fetch(force: bool) -> list[str]:
        asked.append(force)
        return ["new"] if force else ["old"]

    keys = WebhookKeys(fetch)
    assert keys.refreshed(1000.0) == ["new"]
    assert keys.refreshed(1059.9) is None
    assert keys.refreshed(1060.0) == ["new"]
    assert asked == [True, True]
    clock = FixedClock(NOW)
    body = body_of(minute_bar("SPY", 1))
    signed_new = IngestRequest(
        body=body.decode(), signature=sign(body, "new", int(NOW.timestamp()))
    )
    d = IngestDependencies.of(store=Store(), queue=ListQueue(), keys=WebhookKeys(fetch),
                              symbols=["SPY"])  # fmt: skip
    assert ingest_bars(signed_new, d, clock).accepted == 1


def test_body_limits_hold_for_text_and_base64() -> None:
    assert len(raw_body(" " * MAX_BODY_BYTES, is_base64_encoded=False)) == MAX_BODY_BYTES
    with pytest.raises(BodyTooLargeError):
        raw_body(" " * (MAX_BODY_BYTES + 1), is_base64_encoded=False)
    with pytest.raises(BodyTooLargeError):  # fewer characters, more bytes
        raw_body("é" * (MAX_BODY_BYTES // 2 + 1), is_base64_encoded=False)
    exact = base64.b64encode(b"x" * MAX_BODY_BYTES).decode()
    assert len(raw_body(exact, is_base64_encoded=True)) == MAX_BODY_BYTES
    with pytest.raises(BodyTooLargeError):
        raw_body(base64.b64encode(b"x" * (MAX_BODY_BYTES + 1)).decode(), is_base64_encoded=True)
    with pytest.raises(BodyTooLargeError):  # refused before decoding
        raw_body("A" * (10 * MAX_BODY_BYTES), is_base64_encoded=True)
    assert raw_body(None, is_base64_encoded=False) == b""


@pytest.mark.parametrize(
    ("body", "as_base64", "reason"),
    [("not base64!", True, "malformed_body"), ("\ud800", False, "malformed_body")],
    ids=["bad-base64", "lone-surrogate"],
)
def test_undecodable_bodies_are_400(body: str, as_base64: bool, reason: str) -> None:
    with pytest.raises(InvalidBodyError) as refused:
        raw_body(body, is_base64_encoded=as_base64)
    assert refused.value.reason == reason


@pytest.mark.parametrize(
    ("body", "says"),
    [(b"[" * 200_000, "nested too deeply"), (b"true", "AM event"), (b"\xff\xfe{", "not JSON"),
     (b'[{"ev": "AM", "sym": "SPY"}]', "push event 0: field 'v'")],
    ids=["deep", "scalar", "not-utf8", "missing-fields"],
)  # fmt: skip
def test_parse_refusals_name_the_problem(body: bytes, says: str) -> None:
    with pytest.raises(InvalidBodyError, match=says):
        parse_body(body)


def test_one_event_or_an_array_and_status_events_skipped() -> None:
    event = am_event(minute_bar("SPY", 1))
    assert len(parse_body(json.dumps(event).encode())) == 1
    both = [{"ev": "status", "status": "connected"}, event]
    assert [a.sym for a in parse_body(json.dumps(both).encode())] == ["SPY"]


def test_the_bar_message_round_trips_and_refuses_an_unknown_version() -> None:
    bar = minute_bar("SPY", 7)
    assert decode_bar_message(encode_bar_message(bar)) == bar
    for version in (2, True, "1", 1.5):  # true: pydantic's Literal[1] took it (fuzz found it)
        unknown = json.loads(encode_bar_message(bar)) | {"version": version}
        with pytest.raises(DataError, match="version"):
            decode_bar_message(json.dumps(unknown))


def test_the_queue_adapter_needs_a_fifo_queue() -> None:
    with pytest.raises(ValueError, match="FIFO"):
        SqsBarQueue(object(), "https://sqs.us-east-1.amazonaws.com/123456789012/signals")  # type: ignore[arg-type]


deliveries = st.lists(
    st.tuples(st.sampled_from(["SPY", "QQQ", "IWM"]), st.integers(0, 20)), min_size=1, max_size=40
)


@settings(max_examples=200, deadline=None)
@given(first=deliveries, second=deliveries)
def test_any_deliveries_store_each_bar_once_and_hand_on_in_order_per_symbol(
    first: list[tuple[str, int]], second: list[tuple[str, int]]
) -> None:
    store, queue = Store(), ListQueue()
    total = {"accepted": 0, "duplicated": 0, "ignored": 0}
    for batch in (first, second):
        bars = [minute_bar(sym, m) for sym, m in batch]
        answer = ingest_bars(request(body_of(*bars)), deps(store, queue), FixedClock(NOW)).answer()
        for key in total:
            total[key] += answer[key]
        assert answer["accepted"] + answer["duplicated"] + answer["ignored"] == len(batch)
    known = {(s, m) for s, m in first + second if s != "IWM"}
    assert total["accepted"] == len(known)
    assert total["ignored"] == sum(1 for s, _ in first + second if s == "IWM")
    for symbol in ("SPY", "QQQ"):
        stored = [b.ts.minute - 30 for b in store.bars(symbol, OPEN, NOW)]
        assert stored == sorted(m for s, m in known if s == symbol)
    # Each request hands its bars on sorted and unique per symbol; the union covers every bar.
    for handed_on in queue.batches:
        for symbol in ("SPY", "QQQ"):
            starts = [b.ts for b in handed_on if b.symbol == symbol]
            assert starts == sorted(set(starts))
    assert {(b.symbol, b.ts.minute - 30) for b in queue.sent} == known
