"""The DynamoDB item codec: every state value survives a round trip exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.adapters import dynamodb_items as items
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
        strategy=names,
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
    version=st.integers(0, 1000),
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
    on=st.booleans(), automatic=st.booleans(), when=st.none() | instants, version=st.integers(0, 99)
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


def test_absent_items_read_as_defaults() -> None:
    assert items.switch_state(SwitchName.KILL_SWITCH, None) == SwitchState(SwitchName.KILL_SWITCH)
    assert items.portfolio_state(None).slots == 0


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
