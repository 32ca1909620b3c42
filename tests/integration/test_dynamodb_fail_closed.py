"""Stored state fails closed, end to end on moto server (the table built from the CDK template).

Items are written the way a hand edit, a bug or an older version could leave them. An ABSENT item
is a fresh table (switch off, nothing counted) and trades; a PRESENT item that is incomplete or out
of range is ``state_unavailable``: no entry is approved against it, and the reservation's own
conditions refuse it too (a decision on a stale snapshot cannot slip past).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maxtrader import state_schema as schema
from maxtrader.adapters import dynamodb_items as items
from maxtrader.adapters.dynamodb_items import key, n, s
from maxtrader.adapters.dynamodb_store import DynamoDBStateStore
from maxtrader.config.safety import SafetyConfig
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import StateUnavailableError
from maxtrader.domain.models import TradingState
from maxtrader.domain.safety.engine import STATE_UNAVAILABLE, SafetyEngine
from maxtrader.domain.safety.state import (
    BreakerName,
    BreakerState,
    StateConflictError,
    SwitchName,
    SwitchState,
)
from tests.support.safety import entry, make_engine, market, reservation_for, seed_figures

DAY = "2024-06-03"
# Three positions at most (NORMAL_VOL's override); nothing else in the way of eight entries.
CONFIG = SafetyConfig.model_validate(
    {"limits": {"max_daily_trades_per_strategy": 100, "max_exposure_pct": 1.0}}
)


def put(table: str, pk_sk: tuple[str, str], **attributes: Any) -> None:
    client = boto3.client("dynamodb")
    client.put_item(TableName=table, Item={**key(*pk_sk), **attributes})


@pytest.fixture(autouse=True)
def _seeded(state_table: str, clock: FixedClock) -> None:
    """The pre-market run's and the monitor's figures, stored BEFORE a test corrupts an item
    (seeding after would overwrite the corruption under test)."""
    seed_figures(DynamoDBStateStore.create(state_table), clock)


def engine_on(table: str, clock: FixedClock) -> tuple[SafetyEngine, DynamoDBStateStore]:
    store = DynamoDBStateStore.create(table)
    return make_engine(store, clock, CONFIG, seed=None), store


def eight_entries(engine: SafetyEngine, clock: FixedClock) -> list[tuple[str, ...]]:
    """The failing checks of eight entries a minute apart (() when approved)."""
    seen = []
    for _ in range(8):
        verdict = engine.reserve(entry(qty=1), market())
        seen.append(
            tuple(c.reason if c.name == "state_store" else c.name for c in verdict.failures)
        )
        clock.advance(61)
    return seen


def test_a_fresh_table_trades_up_to_the_limit(state_table: str, clock: FixedClock) -> None:
    # Absent items are legitimate: the same eight entries stop at the 3-position limit.
    engine, store = engine_on(state_table, clock)
    seen = eight_entries(engine, clock)
    assert seen[:3] == [(), (), ()]
    assert all("concurrent_positions" in failures for failures in seen[3:])
    assert store.portfolio().slots == 3


def test_a_negative_slot_count_admits_nothing(state_table: str, clock: FixedClock) -> None:
    # On main the decoder took slots = -5 at face value and 8 entries passed a limit of 3.
    put(state_table, schema.PORTFOLIO_KEY, slots=n(-5), exposure=n(0))
    engine, store = engine_on(state_table, clock)
    assert eight_entries(engine, clock) == [(STATE_UNAVAILABLE,)] * 8
    assert store.day_entries(DAY) == 0
    with pytest.raises(StateUnavailableError, match="'slots' must be at least 0, is -5"):
        store.portfolio()


@pytest.mark.parametrize(
    "portfolio",
    [
        {"slots": n(-5), "exposure": n(0)},
        {"slots": n(0), "exposure": n(-500.0)},
        {"exposure": n(0)},  # present, its counter gone
    ],
)
def test_the_reservation_refuses_a_corrupt_portfolio_on_its_own(
    state_table: str, clock: FixedClock, portfolio: dict[str, Any]
) -> None:
    # The transaction's conditions, not only the decoder, refuse the item: a decision taken on
    # an older snapshot cannot write against it.
    put(state_table, schema.PORTFOLIO_KEY, **portfolio)
    store = DynamoDBStateStore.create(state_table)
    with pytest.raises(StateConflictError) as caught:
        store.reserve(reservation_for(entry(), clock.now(), max_slots=3))
    assert "portfolio" in caught.value.reasons
    assert store.day_entries(DAY) == 0


def test_a_counter_of_the_wrong_type_cannot_be_added_to(
    state_table: str, clock: FixedClock
) -> None:
    put(state_table, schema.PORTFOLIO_KEY, slots=s("0"), exposure=n(0))
    store = DynamoDBStateStore.create(state_table)
    with pytest.raises(StateUnavailableError, match="transaction cancelled"):
        store.reserve(reservation_for(entry(), clock.now(), max_slots=3))
    assert store.day_entries(DAY) == 0


def test_a_kill_switch_item_without_its_flag_is_not_off(
    state_table: str, clock: FixedClock
) -> None:
    # On main this item read as OFF and the entry was approved.
    switch = schema.switch_key(SwitchName.KILL_SWITCH.value)
    put(state_table, switch, actor=s("ops"), reason=s("drill"), version=n(1))
    engine, store = engine_on(state_table, clock)
    verdict = engine.reserve(entry(), market())
    assert [c.reason for c in verdict.failures] == [STATE_UNAVAILABLE]
    with pytest.raises(StateUnavailableError, match="'on' is missing"):
        engine.trading_state()
    with pytest.raises(StateConflictError) as caught:
        store.reserve(reservation_for(entry(), clock.now()))
    assert "kill_switch" in caught.value.reasons


@pytest.mark.parametrize(
    ("pk_sk", "attributes"),
    [
        (schema.entries_key(DAY), {"entries": n(-7)}),
        (schema.entries_key(DAY, "wave_renko"), {}),  # present, its counter gone
        (schema.pnl_key(DAY), {"realized": {"S": "lots"}}),
        (schema.breaker_key("rapid_loss"), {"until": n(-5), "events": {"L": []}}),
        (schema.switch_key("safe_mode"), {"on": {"S": "false"}, "version": n(1)}),
    ],
)
def test_any_corrupt_snapshot_item_rejects_the_entry(
    state_table: str, clock: FixedClock, pk_sk: tuple[str, str], attributes: dict[str, Any]
) -> None:
    put(state_table, pk_sk, **attributes)
    engine, _ = engine_on(state_table, clock)
    verdict = engine.reserve(entry(), market())
    assert [c.reason for c in verdict.failures] == [STATE_UNAVAILABLE]
    portfolio = boto3.client("dynamodb").get_item(
        TableName=state_table, Key=key(*schema.PORTFOLIO_KEY), ConsistentRead=True
    )["Item"]
    assert (portfolio["slots"], portfolio["exposure"]) == (n(0), n(0))  # nothing reserved


def test_a_peak_at_or_below_zero_is_not_no_peak(state_table: str, clock: FixedClock) -> None:
    # On main peak = 0 read as "no peak": the next mark re-based the drawdown at today's equity.
    put(state_table, schema.PORTFOLIO_KEY, slots=n(0), exposure=n(0), peak=n(0))
    engine, _ = engine_on(state_table, clock)
    with pytest.raises(StateUnavailableError, match="'peak' must be positive"):
        engine.mark_to_market({}, 90_000.0)
    item = boto3.client("dynamodb").get_item(
        TableName=state_table, Key=key(*schema.PORTFOLIO_KEY), ConsistentRead=True
    )["Item"]
    assert item["peak"] == n(0)  # nothing written over it


def test_a_mark_before_any_entry_leaves_a_whole_portfolio(
    state_table: str, clock: FixedClock
) -> None:
    # The mark creates the portfolio item; its counters are created with it, so the item
    # decodes (a present item must carry them) and entries still trade.
    engine, store = engine_on(state_table, clock)
    engine.mark_to_market({}, 100_000.0)
    assert (store.portfolio().slots, store.portfolio().exposure) == (0, 0.0)
    assert engine.reserve(entry(), market()).approved
    assert engine.trading_state() is TradingState.ACTIVE


def test_a_corrupt_ticket_is_not_skipped_when_marking(state_table: str, clock: FixedClock) -> None:
    # A held position whose ticket cannot be read must not drop out of the unrealized P&L (a
    # losing position silently ignored would loosen the daily loss stop): marking fails closed.
    engine, store = engine_on(state_table, clock)
    intent = entry()
    assert engine.reserve(intent, market()).approved
    boto3.client("dynamodb").update_item(
        TableName=state_table,
        Key=key(*schema.ticket_key(intent.client_order_id)),
        UpdateExpression="SET strategy = :s",
        ExpressionAttributeValues={":s": s("renko")},
    )
    with pytest.raises(StateUnavailableError, match="'strategy' is not a known strategy"):
        engine.mark_to_market({"SPY": 490.0}, 99_000.0)
    assert store.portfolio().equity == 100_000.0  # nothing marked: the seeded figure stands


# --- any single corruption of a permissive snapshot rejects the entry ---------------------------
T0 = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)
PERMISSIVE: dict[tuple[str, str], tuple[dict[str, Any], tuple[str, ...]]] = {
    # item (every attribute its writers write, nothing in the way of an entry) and what it needs
    schema.switch_key("kill_switch"): (
        items.switch_item(SwitchState(SwitchName.KILL_SWITCH, False, False, "ops", "", T0, 2)),
        ("on", "automatic", "actor", "reason", "version"),
    ),
    schema.breaker_key("drawdown"): (
        items.breaker_item(
            BreakerState(BreakerName.DRAWDOWN, T0 - timedelta(hours=1), T0, "dd", (), 2)
        ),
        ("events", "version"),
    ),
    schema.PORTFOLIO_KEY: (
        {"slots": n(0), "exposure": n(0), "peak": n(100_000.0), "equity": n(100_000.0)},
        ("slots", "exposure"),
    ),
    schema.entries_key(DAY): ({"entries": n(0)}, ("entries",)),
    schema.entries_key(DAY, "wave_renko"): ({"entries": n(0)}, ("entries",)),
    schema.pnl_key(DAY): ({"realized": n(0)}, ("realized",)),
}
BAD_VALUES = [n(-5), n(0), {"S": "0"}, {"BOOL": True}, {"L": []}]


def put_all(table: str, corrupt: tuple[tuple[str, str], str, Any] | None) -> None:
    for pk_sk, (whole, _) in PERMISSIVE.items():
        item = dict(whole)
        if corrupt is not None and corrupt[0] == pk_sk:
            _, name, value = corrupt
            if value is None:
                item.pop(name)
            else:
                item[name] = value
        put(table, pk_sk, **item)


def test_the_permissive_snapshot_admits_an_entry(state_table: str, clock: FixedClock) -> None:
    put_all(state_table, None)
    engine, _ = engine_on(state_table, clock)
    assert engine.reserve(entry(), market()).approved


def corruptions() -> st.SearchStrategy[tuple[tuple[str, str], str, Any]]:
    dropped = [(k, name, None) for k, (_, required) in PERMISSIVE.items() for name in required]
    numeric = [
        (k, name)
        for k, (item, _) in PERMISSIVE.items()
        for name, value in item.items()
        if "N" in value and name not in {"unrealized", "realized"}
    ]
    changed = st.tuples(st.sampled_from(numeric), st.sampled_from(BAD_VALUES)).map(
        lambda kv: (kv[0][0], kv[0][1], kv[1])
    )
    legitimate_zero = {"slots", "exposure", "entries"}  # zero is a count, not a corruption
    return st.sampled_from(dropped) | changed.filter(
        lambda c: not (c[2] == n(0) and c[1] in legitimate_zero)
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(corrupt=corruptions())
def test_any_one_corruption_rejects_the_entry_and_writes_nothing(
    state_table: str, clock: FixedClock, corrupt: tuple[tuple[str, str], str, Any]
) -> None:
    put_all(state_table, corrupt)
    engine, _ = engine_on(state_table, clock)
    intent = entry()
    verdict = engine.reserve(intent, market())
    client = boto3.client("dynamodb")
    try:
        assert [c.reason for c in verdict.failures] == [STATE_UNAVAILABLE], corrupt
        for written in (
            schema.ticket_key(intent.client_order_id),
            schema.signal_key(intent.signal_id),
        ):
            got = client.get_item(TableName=state_table, Key=key(*written), ConsistentRead=True)
            assert "Item" not in got, written  # nothing reserved
    finally:
        for k in PERMISSIVE:
            client.delete_item(TableName=state_table, Key=key(*k))
