"""The session store's item codec: values survive a round trip exactly; any corrupted item is
refused with an ``ItemShapeError`` naming the item (never another exception, never a value)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader import state_schema as schema
from maxtrader.adapters import dynamodb_session_items as items
from maxtrader.adapters.dynamodb_items import ItemShapeError, key
from maxtrader.domain.models import Bar, Regime
from maxtrader.domain.ports import StoredStrategyState
from maxtrader.domain.regime import RegimeState
from maxtrader.domain.strategy_names import KNOWN_STRATEGIES

instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
prices = st.floats(min_value=0.01, max_value=1e6, allow_nan=False, allow_infinity=False)
EXPIRES = datetime(2030, 1, 1, tzinfo=UTC)


@st.composite
def bars(draw: st.DrawFn) -> Bar:
    low, high = sorted((draw(prices), draw(prices)))
    return Bar(
        symbol=draw(st.sampled_from(["SPY", "QQQ", "I:VIX", "BRK.B"])),
        ts=draw(instants),
        open=draw(st.floats(min_value=low, max_value=high)),
        high=high,
        low=low,
        close=draw(st.floats(min_value=low, max_value=high)),
        volume=draw(st.floats(min_value=0, max_value=1e12)),
        vwap=draw(st.none() | prices),
    )


regimes = st.builds(
    RegimeState,
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 1, 1)),
    regime=st.sampled_from(Regime),
    anchor=st.none() | st.sampled_from(Regime),
    vix=st.none() | st.floats(min_value=0.01, max_value=200),
    observed_at=st.none() | instants,
    reason=st.text(max_size=40),
)
states = st.builds(
    StoredStrategyState,
    strategy=st.sampled_from(sorted(KNOWN_STRATEGIES)),
    symbol=st.text(min_size=1, max_size=10),
    last_bar_ts=instants,
    payload=st.text(max_size=200),
)


def updated_item(symbol: str, saved: Sequence[StoredStrategyState]) -> dict[str, Any]:
    """The item ``strategy_states_update`` makes of an absent one (its SET applied)."""
    update = items.strategy_states_update(symbol, saved)
    names, values = update["ExpressionAttributeNames"], update["ExpressionAttributeValues"]
    sets = re.findall(r"(#\w+) = (:\w+)", update["UpdateExpression"])
    return {**update["Key"], **{names[n]: values[v] for n, v in sets}}


@pytest.mark.property
@settings(max_examples=150, deadline=None)
@given(
    bar=bars(),
    symbol=st.text(st.characters(categories=("L", "N", "P", "S")), min_size=1, max_size=9),
    saved=st.lists(states, max_size=4, unique_by=lambda s: s.strategy),
    regime=regimes,
)
def test_every_value_survives_a_round_trip(
    bar: Bar, symbol: str, saved: list[StoredStrategyState], regime: RegimeState
) -> None:
    assert items.bar(items.bar_item(bar, EXPIRES), bar.symbol) == bar
    mine = [StoredStrategyState(s.strategy, symbol, s.last_bar_ts, s.payload) for s in saved]
    decoded = items.strategy_states(updated_item(symbol, mine), symbol)
    assert decoded == {s.strategy: s for s in mine}
    assert items.regime_state(items.regime_item(regime), regime.day) == regime


def test_a_symbol_s_save_sets_only_its_states_each_on_its_own_condition() -> None:
    a = StoredStrategyState("wave_renko", "SPY", datetime(2024, 6, 3, 13, 31, tzinfo=UTC), "{}")
    b = StoredStrategyState("pause", "SPY", datetime(2024, 6, 3, 13, 29, tzinfo=UTC), "{}")
    update = items.strategy_states_update("SPY", [a, b])
    assert update["Key"] == key("STRATEGIES", "SPY")
    assert update["ConditionExpression"] == (
        "(attribute_not_exists(#s0) OR #s0.#ts < :t0) AND "
        "(attribute_not_exists(#s1) OR #s1.#ts < :t1)"
    )
    names, values = update["ExpressionAttributeNames"], update["ExpressionAttributeValues"]
    assert (names["#s0"], names["#s1"]) == ("state#wave_renko", "state#pause")
    assert values[":t0"] == {"N": "1717421460000000"}  # epoch microseconds, as the map holds
    assert values[":s0"]["M"]["last_bar_ts"] == values[":t0"]
    assert "vwap_reversion" not in str(update)  # the other strategies are left alone


# --- corruption -----------------------------------------------------------------------------
BAR = Bar(symbol="SPY", ts=datetime(2024, 6, 3, 13, 30, tzinfo=UTC), open=500.0, high=501.0,
          low=499.0, close=500.5, volume=1200.0, vwap=500.2)  # fmt: skip
STATE = StoredStrategyState(
    strategy="wave_renko", symbol="SPY", last_bar_ts=BAR.ts, payload='{"bricks": []}'
)
REGIME = RegimeState(
    day=date(2024, 6, 3),
    regime=Regime.HIGH_VOL,
    anchor=Regime.HIGH_VOL,
    vix=31.5,
    observed_at=BAR.ts,
    reason="VIX 31.50",
)
GOOD: dict[str, dict[str, Any]] = {
    "bar": items.bar_item(BAR, EXPIRES),
    "state": updated_item("SPY", [STATE]),
    "regime": {**key(*schema.regime_key("2024-06-03")), **items.regime_item(REGIME)},
}
DECODE: dict[str, Callable[[dict[str, Any]], object]] = {
    "bar": lambda item: items.bar(item, "SPY"),
    "state": lambda item: items.strategy_states(item, "SPY"),
    "regime": lambda item: items.regime_state(item, date(2024, 6, 3)),
}
attribute_values = st.one_of(
    st.builds(lambda v: {"S": v}, st.text(max_size=30)),
    st.builds(lambda v: {"N": v}, st.from_regex(r"-?[0-9]{1,25}(\.[0-9]{1,5})?", fullmatch=True)),
    st.builds(lambda v: {"BOOL": v}, st.booleans()),
    st.builds(lambda v: {"L": v}, st.lists(st.just({"S": "x"}), max_size=2)),
    st.just({"NULL": True}),
    st.just("not an attribute value"),
)


@pytest.mark.fuzz
@settings(max_examples=400, deadline=None)
@given(
    kind=st.sampled_from(sorted(GOOD)),
    data=st.data(),
)
def test_a_corrupted_item_is_refused_naming_it(kind: str, data: st.DataObject) -> None:
    item = dict(GOOD[kind])
    fields = sorted(k for k in item if k not in ("pk", "sk", schema.TTL_ATTRIBUTE))
    changed = data.draw(st.lists(st.sampled_from(fields), min_size=1, max_size=3, unique=True))
    for name in changed:
        if data.draw(st.booleans()):
            del item[name]
        else:
            item[name] = data.draw(attribute_values)
    try:
        decoded = DECODE[kind](item)
    except ItemShapeError as exc:
        assert f"{item['pk']['S']}/{item['sk']['S']}" in str(exc)
        return
    # Survived: only if every change still decodes to a value of the right shape (e.g. an
    # optional field dropped, a strategy's state dropped: absent, or text given other text).
    if isinstance(decoded, dict):
        assert set(decoded) <= {"wave_renko"} and all(v == STATE for v in decoded.values())
        return
    assert isinstance(decoded, (Bar, RegimeState))


map_fields = st.sampled_from(["last_bar_ts", "payload"])


@pytest.mark.fuzz
@settings(max_examples=200, deadline=None)
@given(changed=st.lists(map_fields, min_size=1, max_size=2, unique=True), data=st.data())
def test_a_corrupted_strategy_state_map_is_refused_naming_its_field(
    changed: list[str], data: st.DataObject
) -> None:
    item = dict(GOOD["state"])
    fields = dict(item["state#wave_renko"]["M"])
    for name in changed:
        if data.draw(st.booleans()):
            del fields[name]
        else:
            fields[name] = data.draw(attribute_values)
    item["state#wave_renko"] = {"M": fields}
    try:
        decoded = items.strategy_states(item, "SPY")
    except ItemShapeError as exc:
        assert "STRATEGIES/SPY" in str(exc) and "state#wave_renko" in str(exc)
        return
    assert decoded["wave_renko"].strategy == "wave_renko"  # e.g. a payload given other text


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"state#wave_renko": {"S": "x"}}, "'state#wave_renko' is missing or not M"),
        ({"state#renko2": {"M": {}}}, "'state#renko2': unknown strategy"),
        ({"symbol": {"S": "QQQ"}}, "holds the symbol 'QQQ'"),
    ],
)
def test_a_strategy_states_item_of_another_shape_is_refused(
    change: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ItemShapeError, match=re.escape(problem)):
        items.strategy_states(GOOD["state"] | change, "SPY")


def test_a_dropped_required_field_names_the_field() -> None:
    for kind, item in GOOD.items():
        for name in item:
            if name in ("pk", "sk", schema.TTL_ATTRIBUTE, "vwap", "anchor", "vix", "observed_at"):
                continue
            broken = {k: v for k, v in item.items() if k != name}
            if name.startswith(schema.STRATEGY_STATE_PREFIX):
                assert DECODE[kind](broken) == {}  # a strategy without a state: absent
                continue
            with pytest.raises(ItemShapeError, match=rf"{name}|holds|not a bar"):
                DECODE[kind](broken)


def test_a_future_bar_key_sorts_after_every_earlier_one() -> None:
    starts = [BAR.ts + timedelta(microseconds=k) for k in (0, 1, 999_999, 10**6, 86_400 * 10**6)]
    assert sorted(schema.bar_sk(t) for t in starts) == [schema.bar_sk(t) for t in starts]
