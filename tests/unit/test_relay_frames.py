"""Fuzz: whatever a stream frame holds, the relay's frame handler never raises, and only events
that pass the AM model reach its buffer (and each (symbol, start) only once)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.data.push import MinuteAggregate
from maxtrader.relay import Relay, RelaySettings

_VALID = {"ev": "AM", "sym": "SPY", "v": 10.0, "av": 10.0, "op": 1.0, "vw": 1.2, "o": 1.0,
          "c": 1.5, "h": 2.0, "l": 0.5, "a": 1.2, "z": 10.0, "s": 1717423200000,
          "e": 1717423260000}  # fmt: skip
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8))
_JSONISH = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)
_MUTATED = st.builds(
    lambda key, value, drop: {k: v for k, v in {**_VALID, key: value}.items() if k != drop},
    st.sampled_from(sorted(_VALID)),
    _SCALARS,
    st.sampled_from([*sorted(_VALID), None]),
)


def _relay() -> Relay:
    return Relay(
        RelaySettings(symbols=("SPY",), ingest_url="http://127.0.0.1:9/"),
        api_key=lambda force: "k",
        ingest_secret=lambda force: "s",
    )


@pytest.mark.fuzz
@pytest.mark.slow
@settings(max_examples=1500)
@given(
    frame=st.one_of(
        st.lists(st.one_of(_JSONISH, _MUTATED, st.just(_VALID)), max_size=6).map(json.dumps),
        st.one_of(_JSONISH, _MUTATED).map(lambda e: json.dumps(e).encode()),
        st.binary(max_size=40),
    )
)
def test_any_frame_is_handled_and_only_valid_bars_are_kept(frame: str | bytes) -> None:
    relay = _relay()
    relay.take_frame(frame)
    kept = list(relay._buffer)
    for event in kept:
        MinuteAggregate.model_validate(event)  # raises if anything invalid got through
    keys = [(e["sym"], e["s"]) for e in kept]
    assert len(keys) == len(set(keys))
    assert relay.stats.received == len(kept)
