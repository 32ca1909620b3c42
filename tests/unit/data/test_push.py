"""The "AM" minute-aggregate push message: validation and conversion to Bar."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maxtrader.data import MinuteAggregate, parse_minute_aggregates
from maxtrader.domain.errors import DataError
from maxtrader.domain.models import Bar

START_MS = 1_711_460_400_000  # 2024-03-26 13:40 UTC


def _message(**overrides: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "ev": "AM", "sym": "SPY", "v": 1200, "av": 250_000, "op": 520.1, "vw": 521.22,
        "o": 521.0, "c": 521.4, "h": 521.5, "l": 520.9, "a": 520.8, "z": 40,
        "s": START_MS, "e": START_MS + 60_000,
    }  # fmt: skip
    msg.update(overrides)
    return msg


def test_valid_message_becomes_a_closed_one_minute_bar() -> None:
    [agg] = parse_minute_aggregates(json.dumps([_message(otc=False, dv="1200")]))
    bar = agg.to_bar()
    assert bar == Bar(
        symbol="SPY", ts=datetime(2024, 3, 26, 13, 40, tzinfo=UTC), open=521.0, high=521.5,
        low=520.9, close=521.4, volume=1200, minutes=1, vwap=521.22,
    )  # fmt: skip
    assert bar.closed_at == datetime(2024, 3, 26, 13, 41, tzinfo=UTC)


def test_frame_with_status_events_and_a_single_object() -> None:
    frame = [{"ev": "status", "status": "auth_success"}, _message(), _message(sym="QQQ")]
    assert [a.sym for a in parse_minute_aggregates(frame)] == ["SPY", "QQQ"]
    assert len(parse_minute_aggregates(json.dumps(_message()).encode())) == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ev": "A"}, "field 'ev': Input should be 'AM'"),
        ({"h": "521.5"}, "field 'h': Input should be a valid number"),
        ({"v": True}, "field 'v'"),
        ({"o": float("nan")}, "field 'o'"),
        ({"c": -1.0}, "field 'c': Input should be greater than 0"),
        ({"l": 522.0}, r"h \(521.5\) is below l \(522.0\)"),
        ({"o": 519.0}, r"o \(519.0\) is outside \[l 520.9, h 521.5\]"),
        ({"c": 530.0}, r"c \(530.0\) is outside"),
        ({"s": START_MS // 1000}, "field 's': Input should be greater than or equal to"),
        ({"s": START_MS + 1}, "not on a whole minute"),
        ({"e": START_MS + 120_000}, "e - s is 120000 ms, not one minute"),
        ({"sym": "SPY SPY"}, "field 'sym'"),
    ],
)
def test_invalid_messages_are_named(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(DataError, match=rf"push event 1: .*{message}"):
        parse_minute_aggregates([_message(), _message(**overrides)])


def test_missing_field_and_non_json() -> None:
    msg = _message()
    del msg["vw"]
    with pytest.raises(DataError, match="field 'vw': Field required"):
        parse_minute_aggregates([msg])
    with pytest.raises(DataError, match="not JSON"):
        parse_minute_aggregates("[{")
    with pytest.raises(DataError, match="push event 0: not an object but int"):
        parse_minute_aggregates("[1]")


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)


@pytest.mark.fuzz
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    field=st.sampled_from(sorted(_message())),
    value=_json_values,
    drop=st.booleans(),
)
def test_fuzzed_field_is_either_a_valid_bar_or_a_data_error(
    field: str, value: Any, drop: bool
) -> None:
    msg = _message()
    if drop:
        del msg[field]
    else:
        msg[field] = value
    try:
        [agg] = parse_minute_aggregates([msg])
    except DataError as exc:
        assert "push event 0" in str(exc)
        return
    bar = agg.to_bar()  # whatever got through must satisfy the Bar invariants
    assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high


@pytest.mark.fuzz
@settings(max_examples=200, deadline=None)
@given(payload=st.binary(max_size=64) | st.text(max_size=64).map(str.encode))
def test_fuzzed_frames_never_escape_as_other_errors(payload: bytes) -> None:
    try:
        result = parse_minute_aggregates(payload)
    except DataError:
        return
    assert all(isinstance(a, MinuteAggregate) for a in result)


@pytest.mark.property
@settings(max_examples=200, deadline=None)
@given(
    low=st.floats(0.01, 10_000),
    spread=st.floats(0, 100),
    o_frac=st.floats(0, 1),
    c_frac=st.floats(0, 1),
    minute=st.integers(0, 10_000_000),
    volume=st.integers(0, 10**9),
)
def test_consistent_prices_always_round_trip(
    *, low: float, spread: float, o_frac: float, c_frac: float, minute: int, volume: int
) -> None:
    high = low + spread
    o = min(high, low + spread * o_frac)
    c = min(high, low + spread * c_frac)
    start = START_MS + minute * 60_000
    msg = _message(o=o, c=c, h=high, l=low, v=volume, av=volume, s=start, e=start + 60_000)
    bar = parse_minute_aggregates([msg])[0].to_bar()
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (o, high, low, c, volume)
    assert int(bar.ts.timestamp() * 1000) == start
