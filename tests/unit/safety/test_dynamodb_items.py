"""The DynamoDB item codec: every state value survives a round trip exactly, and a present item
that is incomplete or out of range fails closed (never a default that loosens a limit)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.adapters import dynamodb_items as items
from maxtrader.adapters.dynamodb_items import Item, ItemShapeError
from maxtrader.domain.models import AuditKind, AuditRecord, Direction, Instrument
from maxtrader.domain.safety.state import (
    BreakerName,
    BreakerState,
    HealthState,
    SwitchName,
    SwitchState,
    Ticket,
    TicketStatus,
)
from maxtrader.domain.strategy_names import KNOWN_STRATEGIES
from tests.support.stored_state import DECODERS, assert_in_range

pytestmark = pytest.mark.property

instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
money = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)
prices = st.floats(min_value=0.01, max_value=1e6, allow_nan=False)
names = st.text(alphabet="abcdefgh-_0123456789", min_size=1, max_size=12)


@settings(max_examples=80, deadline=None)
@given(
    ticket=st.builds(
        Ticket,
        client_order_id=names,
        signal_id=names,
        strategy=st.sampled_from(sorted(KNOWN_STRATEGIES)),
        symbol=names,
        underlying=names,
        instrument=st.sampled_from(Instrument),
        direction=st.sampled_from(Direction),
        status=st.sampled_from(TicketStatus),
        reserved_qty=st.integers(1, 10**6),
        max_loss=st.floats(min_value=0, max_value=1e9),
        reserved_at=instants,
        qty=st.integers(0, 10**6),
        avg_price=st.floats(min_value=0, max_value=1e6),
        realized=money,
        stop=st.none() | prices,
        target=st.none() | prices,
        broker_order_id=st.none() | names,
        opened_at=st.none() | instants,
        closed_at=st.none() | instants,
        version=st.integers(1, 10**6),
    )
)
def test_tickets_round_trip(ticket: Ticket) -> None:
    item = items.ticket_item(ticket) | items.key("TICKET", ticket.client_order_id)
    assert items.ticket(item) == ticket


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(BreakerName),
    until=st.none() | instants,
    events=st.lists(instants, max_size=5),
    version=st.integers(1, 1000),
)
def test_breakers_round_trip(
    name: BreakerName, until: datetime | None, events: list[datetime], version: int
) -> None:
    state = BreakerState(
        name, until=until, tripped_at=until, reason="r", events=tuple(events), version=version
    )
    assert items.breaker_state(name, items.breaker_item(state)) == state


@settings(max_examples=60, deadline=None)
@given(
    on=st.booleans(), automatic=st.booleans(), when=st.none() | instants, version=st.integers(1, 99)
)
def test_switches_and_health_round_trip(
    on: bool, automatic: bool, when: datetime | None, version: int
) -> None:
    state = SwitchState(
        SwitchName.SAFE_MODE, on, automatic, "arn:aws:iam::1:user/ops", "why", when, version
    )
    assert items.switch_state(SwitchName.SAFE_MODE, items.switch_item(state)) == state
    health = HealthState(broker_failures=version, checked_at=when, version=version)
    assert items.health_state(items.health_item(health)) == health


def test_instants_are_exact_microseconds() -> None:
    ts = datetime(2024, 6, 3, 14, 0, 0, 1, tzinfo=UTC)
    assert items.instant({"t": items.ts_value(ts)}, "t") == ts
    assert items.micros(ts + timedelta(microseconds=1)) - items.micros(ts) == 1


def test_audit_records_round_trip() -> None:
    record = AuditRecord(
        ts=datetime(2024, 6, 3, 14, tzinfo=UTC),
        kind=AuditKind.VERDICT,
        subject="mt-x-entry",
        actor="system",
        detail={
            "failures": [{"name": "kill_switch", "observed": None, "limit": 1.5}],
            "approved": False,
        },
    )
    assert items.audit_record(items.audit_item(record)) == record


def test_numbers_that_cannot_be_stored_are_refused() -> None:
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="not a storable number"):
            items.n(bad)


# --- fail closed: a present item must be whole and in range ------------------------------------
REQUIRED = [(kind, name) for kind, (_, _, required) in DECODERS.items() for name in required]


def keyed(item: Item) -> Item:
    return item | items.key("PK", "SK")


@pytest.mark.parametrize("kind", DECODERS)
def test_a_whole_item_decodes(kind: str) -> None:
    decode, item, _ = DECODERS[kind]
    decode(keyed(item))


@pytest.mark.parametrize(("kind", "name"), REQUIRED)
def test_a_present_item_missing_a_required_attribute_fails_closed(kind: str, name: str) -> None:
    decode, item, _ = DECODERS[kind]
    broken = {k: v for k, v in keyed(item).items() if k != name}
    with pytest.raises(ItemShapeError, match=rf"PK/SK: attribute '{name}' is missing"):
        decode(broken)


def test_absent_items_are_a_fresh_table() -> None:
    # Absent (never written) is legitimate: off, never tripped, no entries, version 0.
    assert items.switch_state(SwitchName.KILL_SWITCH, None) == SwitchState(SwitchName.KILL_SWITCH)
    assert items.breaker_state(BreakerName.DRAWDOWN, None).version == 0
    assert items.portfolio_state(None).slots == 0
    assert items.entries(None) == 0 and items.realized(None) == 0.0
    assert items.health_state(None) == HealthState()


def test_a_kill_switch_without_its_flag_is_not_off() -> None:
    # On main this read as OFF: entries went through a switch whose state nobody knew.
    item = keyed({"actor": items.s("ops"), "reason": items.s(""), "version": items.n(1)})
    with pytest.raises(ItemShapeError, match="'on' is missing"):
        items.switch_state(SwitchName.KILL_SWITCH, item)


@pytest.mark.parametrize(
    ("kind", "name", "value", "problem"),
    [
        ("portfolio", "slots", {"N": "-5"}, "at least 0"),
        ("portfolio", "slots", {"N": "1.5"}, "whole number"),
        ("portfolio", "exposure", {"N": "-0.01"}, "at least"),
        ("portfolio", "exposure", {"N": "NaN"}, "not finite"),
        ("portfolio", "exposure", {"N": "Infinity"}, "not finite"),
        ("portfolio", "exposure", {"S": "100"}, "not of type N"),
        ("portfolio", "peak", {"N": "0"}, "positive"),
        ("portfolio", "peak", {"N": "-1"}, "positive"),
        ("portfolio", "equity", {"N": "0"}, "positive"),
        ("portfolio", "unrealized", {"N": "-inf"}, "not finite"),
        ("portfolio", "marks", {"M": {"SPY": {"N": "0"}}}, "positive"),
        ("portfolio", "marks", {"M": {"SPY": {"S": "500"}}}, "no price|type N"),
        ("portfolio", "last_entry_at", {"N": "-5"}, "outside"),
        ("entries", "entries", {"N": "-1"}, "at least 0"),
        ("entries", "entries", {"N": "abc"}, "not a number"),
        ("realized", "realized", {"N": "nan"}, "not finite"),
        ("switch", "on", {"BOOL": "false"}, "not of type BOOL"),
        ("switch", "on", {"S": "false"}, "not of type BOOL"),
        ("switch", "actor", {"S": "  "}, "empty"),
        ("switch", "version", {"N": "0"}, "at least 1"),
        ("breaker", "until", {"N": "-5"}, "outside"),
        ("breaker", "until", {"N": "1e30"}, "whole-microsecond|outside"),
        ("breaker", "events", {"L": [{"S": "x"}]}, "not an instant"),
        ("breaker", "events", {"L": [{"N": "-1"}]}, "outside"),
        ("health", "broker_failures", {"N": "-3"}, "at least 0"),
        ("ticket", "strategy", {"S": "renko"}, "not a known strategy"),
        ("ticket", "status", {"S": "opened"}, "not a TicketStatus"),
        ("ticket", "reserved_qty", {"N": "0"}, "at least 1"),
        ("ticket", "qty", {"N": "-10"}, "at least 0"),
        ("ticket", "max_loss", {"N": "-50"}, "at least 0"),
        ("ticket", "stop", {"N": "0"}, "positive"),
        ("ticket", "target", {"N": "-1"}, "positive"),
        ("ticket", "broker_order_id", {"S": ""}, "empty"),
        ("ticket", "version", {"N": "0"}, "at least 1"),
    ],
)
def test_values_out_of_range_fail_closed(kind: str, name: str, value: Any, problem: str) -> None:
    decode, item, _ = DECODERS[kind]
    with pytest.raises(ItemShapeError, match=problem) as caught:
        decode(keyed(item) | {name: value})
    assert f"'{name}'" in str(caught.value) and "PK/SK" in str(caught.value)


def test_a_rounding_crumb_below_zero_exposure_reads_as_zero() -> None:
    # Float deltas summed by DynamoDB can leave -1e-12 after a release: not corruption.
    _, item, _ = DECODERS["portfolio"]
    assert items.portfolio_state(item | {"exposure": {"N": "-1e-12"}}).exposure == 0.0


# Any number a hand edit, a bug or an older version could have stored.
stored_numbers = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-0", "0.0", "", "1_000"]),
)
NUMERIC = [
    ("portfolio", "slots"),
    ("portfolio", "exposure"),
    ("portfolio", "peak"),
    ("portfolio", "equity"),
    ("portfolio", "unrealized"),
    ("entries", "entries"),
    ("realized", "realized"),
    ("health", "broker_failures"),
    ("ticket", "qty"),
    ("ticket", "reserved_qty"),
    ("ticket", "max_loss"),
    ("ticket", "avg_price"),
    ("ticket", "stop"),
    ("ticket", "version"),
    ("switch", "version"),
    ("breaker", "until"),
]


@settings(max_examples=300, deadline=None)
@given(target=st.sampled_from(NUMERIC), value=stored_numbers)
def test_any_stored_number_decodes_in_range_or_fails_closed(
    target: tuple[str, str], value: str
) -> None:
    kind, name = target
    decode, item, _ = DECODERS[kind]
    try:
        state = decode(keyed(item) | {name: {"N": value}})
    except ItemShapeError:
        return
    assert_in_range(state)
