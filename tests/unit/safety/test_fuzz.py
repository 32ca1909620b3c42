"""Generated bad input at the safety layer's boundaries: a clear error naming it, nothing changed.

Boundaries: the MarketContext a caller builds, the marks it passes, and the items the DynamoDB
store reads back (anything stored by hand or by an older version).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from maxtrader.adapters import dynamodb_items as items
from maxtrader.adapters.dynamodb_items import ItemShapeError
from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.safety.context import MarketContext
from maxtrader.domain.safety.state import BreakerName, SwitchName
from maxtrader.domain.strategy_names import KNOWN_STRATEGIES
from tests.support.safety import entry, make_engine
from tests.support.stored_state import ATTRIBUTES, assert_in_range

pytestmark = pytest.mark.fuzz
NOW = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)

numbers = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**6),
    st.text(max_size=5),
)


@settings(max_examples=150, deadline=None)
@given(
    equity=numbers,
    start=numbers,
    last=numbers,
    rr=numbers,
    regime=st.sampled_from(["NORMAL_VOL", "HIGH_VOL", "nope", "", None]),
)
def test_market_context_is_validated_and_any_valid_one_gets_a_verdict(
    equity: Any, start: Any, last: Any, rr: Any, regime: Any
) -> None:
    raw = {
        "regime": regime,
        "equity": equity,
        "start_of_day_equity": start,
        "last_price": last,
        "reward_risk": rr,
        "account": {},
    }
    try:
        ctx = MarketContext.model_validate(raw)
    except ValidationError as exc:
        named = {str(e["loc"][0]) for e in exc.errors()}
        assert named <= set(raw), named  # every error names a field of the input
        return
    for value in (ctx.equity, ctx.start_of_day_equity):
        assert value is None or (math.isfinite(value) and value > 0)  # None: nothing to check
    store = InMemoryStateStore()
    verdict = make_engine(store, FixedClock(NOW)).reserve(entry(), ctx)
    if not verdict.approved:
        assert store.day_entries("2024-06-03") == 0 and store.portfolio().slots == 0


@settings(max_examples=100, deadline=None)
@given(
    marks=st.dictionaries(
        st.sampled_from(["SPY", "QQQ"]), st.floats(allow_nan=True, allow_infinity=True)
    ),
    equity=st.floats(allow_nan=True, allow_infinity=True),
)
def test_bad_marks_change_nothing(marks: dict[str, float], equity: float) -> None:
    store = InMemoryStateStore()
    engine = make_engine(store, FixedClock(NOW), seed=None)
    good = (
        all(math.isfinite(p) and p > 0 for p in marks.values())
        and math.isfinite(equity)
        and equity > 0
    )
    if good:
        assert engine.mark_to_market(marks, equity).equity == equity
        return
    with pytest.raises(ValueError, match="finite and positive"):
        engine.mark_to_market(marks, equity)
    assert store.portfolio().peak_equity is None and store.portfolio().marks == {}


# Numbers a hand edit, a bug or an older version could have stored.
stored_numbers = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-0", "1.5", "", "1_0", " 3"]),
    st.text(max_size=6),
)
attribute = st.one_of(
    st.fixed_dictionaries({"S": st.text(max_size=8)}),
    st.fixed_dictionaries({"N": stored_numbers}),
    st.fixed_dictionaries({"BOOL": st.booleans() | st.sampled_from(["false", 0, None])}),
    st.fixed_dictionaries({"S": st.sampled_from([*KNOWN_STRATEGIES, "renko", "open", "option"])}),
    st.fixed_dictionaries(
        {"L": st.lists(st.fixed_dictionaries({"N": stored_numbers}) | st.integers(), max_size=3)}
    ),
    st.fixed_dictionaries(
        {
            "M": st.dictionaries(
                st.text(max_size=3),
                st.fixed_dictionaries({"S": st.text(max_size=3)})
                | st.fixed_dictionaries({"N": stored_numbers}),
                max_size=2,
            )
        }
    ),
    st.just({"NULL": True}),
    st.just({"N": 5}),  # a value of the wrong Python type under the right DynamoDB type
    st.integers(),
)
FIELDS = [*ATTRIBUTES, "ts", "kind", "subject", "detail"]  # + the audit record's


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(FIELDS), attribute, max_size=16))
def test_items_of_any_shape_decode_in_range_or_raise_item_shape_error(item: dict[str, Any]) -> None:
    decoders: list[Callable[[], object]] = [
        lambda: items.switch_state(SwitchName.KILL_SWITCH, item),
        lambda: items.breaker_state(BreakerName.DRAWDOWN, item),
        lambda: items.portfolio_state(item),
        lambda: items.health_state(item),
        lambda: items.entries(item),
        lambda: items.realized(item),
        lambda: items.ticket(item),
        lambda: items.audit_record(item),
    ]
    for decode in decoders:
        # Decoded in range, or ItemShapeError (the store turns it into StateUnavailableError):
        # any other exception would escape the engine's fail-closed path.
        try:
            state = decode()
        except ItemShapeError:
            continue
        assert_in_range(state)
