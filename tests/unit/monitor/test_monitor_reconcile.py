"""Reconciliation: drift exactly when the broker's side and the system's differ, both ways."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.domain.models import Direction, Instrument, OrderPurpose, client_order_id
from maxtrader.domain.safety.state import Ticket, TicketStatus
from maxtrader.operations.monitor_reconcile import (
    BrokerSideOrder,
    DriftKind,
    ReconcileView,
    reconcile,
    system_positions,
)

AT = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)
SYMBOLS = ("SPY", "QQQ", "IWM", "SPY240603C00500000")


def ticket(signal: str, symbol: str = "SPY", qty: int = 10, *,
           status: TicketStatus = TicketStatus.OPEN,
           direction: Direction = Direction.LONG) -> Ticket:  # fmt: skip
    return Ticket(
        client_order_id=client_order_id(signal, OrderPurpose.ENTRY),
        signal_id=signal,
        strategy="wave_renko",
        symbol=symbol,
        underlying="SPY",
        instrument=Instrument.OPTION if len(symbol) > 6 else Instrument.EQUITY,
        direction=direction,
        status=status,
        reserved_qty=max(qty, 1),
        max_loss=50.0,
        reserved_at=AT,
        qty=qty if status is TicketStatus.OPEN else 0,
        opened_at=AT if status is TicketStatus.OPEN else None,
    )


def order(coid: str, symbol: str = "SPY", qty: int = 10) -> BrokerSideOrder:
    return BrokerSideOrder(coid, f"b-{coid}", symbol, qty)


def kinds(view: ReconcileView) -> list[tuple[DriftKind, str]]:
    return [(d.kind, d.subject) for d in reconcile(view)]


def test_matching_sides_are_no_drift() -> None:
    t = ticket("s1")
    view = ReconcileView({"SPY": 10}, [order(t.client_order_id)], [t])
    assert reconcile(view) == []


def test_a_position_opened_outside_the_system() -> None:
    assert kinds(ReconcileView({"QQQ": 5}, [], [])) == [(DriftKind.UNKNOWN_POSITION, "QQQ")]


def test_a_position_closed_outside_the_system() -> None:
    drift = reconcile(ReconcileView({}, [], [ticket("s1")]))
    assert [(d.kind, d.subject, d.broker) for d in drift] == [
        (DriftKind.MISSING_POSITION, "SPY", 0)
    ]
    assert drift[0].system == {"qty": 10, "tickets": [
        {"client_order_id": "mt-s1-entry", "status": "open", "qty": 10, "broker_order_id": None}
    ]}  # fmt: skip


def test_a_quantity_that_differs_names_both_sides() -> None:
    (drift,) = reconcile(ReconcileView({"SPY": 7}, [], [ticket("s1")]))
    assert (drift.kind, drift.broker) == (DriftKind.QUANTITY_MISMATCH, 7)
    assert isinstance(drift.system, dict) and drift.system["qty"] == 10


def test_a_short_is_compared_signed() -> None:
    short = ticket("s1", direction=Direction.SHORT)
    assert reconcile(ReconcileView({"SPY": -10}, [], [short])) == []
    assert kinds(ReconcileView({"SPY": 10}, [], [short])) == [(DriftKind.QUANTITY_MISMATCH, "SPY")]


def test_a_working_exit_s_unapplied_fill_is_expected_at_the_broker() -> None:
    view = ReconcileView({"SPY": 7}, [], [ticket("s1")], pending={"SPY": -3})
    assert reconcile(view) == []


def test_a_deferred_symbol_is_not_compared_this_run() -> None:
    view = ReconcileView({"SPY": 3}, [order("hand-typed")], [], deferred=frozenset({"SPY"}))
    assert reconcile(view) == []


def test_open_orders_the_system_does_not_know() -> None:
    live = ticket("s1")
    released = ticket("s2", status=TicketStatus.RELEASED)
    view = ReconcileView(
        {"SPY": 10},
        [
            order(live.client_order_id),  # ours, live
            order(client_order_id("s1", OrderPurpose.EXIT)),  # an exit of an open position
            order("web-ui-1234"),  # typed by hand
            order(released.client_order_id),  # an entry whose ticket was released
            order(client_order_id("s9", OrderPurpose.EXIT, 2)),  # an exit of nothing we hold
        ],
        [live],
        known_tickets={released.client_order_id: released},
    )
    assert kinds(view) == [
        (DriftKind.UNKNOWN_ORDER, "web-ui-1234"),
        (DriftKind.UNKNOWN_ORDER, released.client_order_id),
        (DriftKind.UNKNOWN_ORDER, "mt-s9-exit-2"),
    ]


def test_an_order_the_system_holds_that_the_broker_does_not() -> None:
    confirmed = ticket("s1", status=TicketStatus.CONFIRMED)
    view = ReconcileView({}, [], [confirmed], missing_entries=[confirmed])
    assert kinds(view) == [(DriftKind.MISSING_ORDER, confirmed.client_order_id)]


def test_an_order_whose_fills_do_not_fit_is_drift() -> None:
    view = ReconcileView({"SPY": 10}, [], [ticket("s1")], mismatches={"mt-s1-entry": "shrank"})
    assert kinds(view) == [(DriftKind.ORDER_MISMATCH, "mt-s1-entry")]


@st.composite
def sides(draw: st.DrawFn) -> tuple[dict[str, int], list[Ticket]]:
    tickets: list[Ticket] = []
    for i in range(draw(st.integers(0, 6))):
        symbol = draw(st.sampled_from(SYMBOLS))
        qty = draw(st.integers(1, 50))
        direction = draw(st.sampled_from(Direction))
        status = draw(st.sampled_from([TicketStatus.OPEN, TicketStatus.CONFIRMED]))
        tickets.append(ticket(f"p{i}", symbol, qty, status=status, direction=direction))
    positions = draw(
        st.dictionaries(st.sampled_from(SYMBOLS), st.integers(-60, 60).filter(bool), max_size=4)
    )
    if draw(st.booleans()):  # half the time: the broker agrees exactly
        positions = system_positions(ReconcileView({}, [], tickets))
    return positions, tickets


@pytest.mark.property
@settings(max_examples=150, deadline=None)
@given(sides())
def test_position_drift_exactly_when_the_net_quantities_differ(
    case: tuple[dict[str, int], list[Ticket]],
) -> None:
    positions, tickets = case
    net: dict[str, int] = {}
    for t in tickets:
        net[t.symbol] = net.get(t.symbol, 0) + (t.qty if t.direction is Direction.LONG else -t.qty)
    differing = {s for s in set(net) | set(positions) if net.get(s, 0) != positions.get(s, 0)}
    drifts = reconcile(ReconcileView(positions, [], tickets))
    assert {d.subject for d in drifts} == differing
    assert len(drifts) == len(differing)  # one drift per symbol, never two
    for d in drifts:
        assert d.broker == positions.get(d.subject, 0)


@pytest.mark.property
@settings(max_examples=100, deadline=None)
@given(sides(), st.sets(st.sampled_from(SYMBOLS)))
def test_deferred_symbols_never_drift_and_the_others_still_do(
    case: tuple[dict[str, int], list[Ticket]], deferred: set[str]
) -> None:
    positions, tickets = case
    everything = {d.subject for d in reconcile(ReconcileView(positions, [], tickets))}
    some = reconcile(ReconcileView(positions, [], tickets, deferred=frozenset(deferred)))
    assert {d.subject for d in some} == everything - deferred


def test_the_ticket_view_is_signed_for_a_short() -> None:
    short = replace(ticket("s1"), direction=Direction.SHORT)
    (drift,) = reconcile(ReconcileView({}, [], [short]))
    assert isinstance(drift.system, dict)
    assert drift.system["qty"] == -10
