"""Exits of unprotected positions: the backtester's decisions, a reduce-only market order through
the safety engine, never a double exit of an equity bracket, attempts bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from maxtrader.domain.broker import BrokerOrder, BrokerPosition
from maxtrader.domain.errors import BrokerRejectedError
from maxtrader.domain.models import (
    AuditKind,
    Bar,
    Instrument,
    OrderPurpose,
    OrderSide,
    client_order_id,
)
from maxtrader.domain.safety.state import BreakerName, Ticket, TicketStatus
from maxtrader.operations.monitor_exits import ExitRules, broker_free_qty, exit_due
from maxtrader.trading.exits import ExitReason, exit_on_bar, exit_plan
from tests.support.monitor_fakes import MonitorWorld, S, bracket_legs, broker_order, timeout
from tests.support.safety import entry, option_entry

CALL = "SPY240603C00500000"
FLATTEN = datetime(2024, 6, 3, 19, 45, tzinfo=UTC)


def spy_bar(ts: datetime, o: float, h: float, low: float, c: float) -> Bar:
    return Bar(symbol="SPY", ts=ts, open=o, high=h, low=low, close=c, volume=1000)


def open_option(world: MonitorWorld, *, stop: float = 495.0, target: float = 510.0) -> str:
    """A long call on SPY (stop/target on the underlying), filled and applied; its coid."""
    intent = option_entry(contracts=2, stop=stop, target=target, underlying_price=500.0)
    world.reserve(intent)
    now = world.clock.now()
    placed = world.broker.put(broker_order(intent.client_order_id, CALL, OrderSide.BUY, 2, at=now))
    world.engine.confirm(intent.client_order_id, placed.broker_order_id)
    world.broker.fill(intent.client_order_id, 2, 2.0)
    world.service().run()
    assert world.ticket(intent.client_order_id).status is TicketStatus.OPEN
    return intent.client_order_id


def opened(ticket: Ticket) -> datetime:
    assert ticket.opened_at is not None
    return ticket.opened_at


def store_bars(world: MonitorWorld, *bars: Bar) -> None:
    world.sessions.put_bars(bars, expires_at=world.clock.now() + timedelta(days=3))


def test_exit_due_takes_the_backtester_s_decision_bar_by_bar() -> None:
    from tests.unit.trading.test_exits import ticket as stored

    t = stored()  # long SPY, stop 499, target 502, opened 10:00
    bars = [spy_bar(opened(t) + timedelta(minutes=i), 500, 501, 499.5, 500.5) for i in range(3)]
    bars.append(spy_bar(opened(t) + timedelta(minutes=3), 500, 502.5, 498.5, 500))  # both
    now = bars[-1].closed_at
    rules = ExitRules(60, FLATTEN)
    hit = exit_due(t, bars, now, rules)
    expected = [exit_on_bar(exit_plan(t, 60), b, FLATTEN) for b in bars]
    assert hit == next(e for e in expected if e is not None)
    assert hit is not None and (hit.reason, hit.underlying) == (ExitReason.STOP, 499.0)


def test_exit_due_ignores_bars_before_the_fill_and_bars_not_yet_closed() -> None:
    from tests.unit.trading.test_exits import ticket as stored

    t = stored()
    before = spy_bar(opened(t) - timedelta(minutes=1), 500, 500, 490, 495)  # touched the stop
    forming = spy_bar(opened(t) + timedelta(minutes=1), 500, 500, 490, 495)
    assert exit_due(t, [before, forming], forming.closed_at - timedelta(seconds=1),
                    ExitRules(60, FLATTEN)) is None  # fmt: skip


def test_time_driven_exits_fire_without_a_new_bar() -> None:
    from tests.unit.trading.test_exits import ticket as stored

    t = stored()
    late = opened(t) + timedelta(minutes=61)
    hit = exit_due(t, [], late, ExitRules(60, FLATTEN))
    assert hit is not None and hit.reason is ExitReason.TIME_STOP
    flat = exit_due(t, [], FLATTEN, ExitRules(600, FLATTEN))
    assert flat is not None and flat.reason is ExitReason.FLATTEN
    regime = exit_due(t, [], opened(t), ExitRules(600, FLATTEN, regime_flatten=True))
    assert regime is not None and regime.reason is ExitReason.REGIME_FLATTEN


def test_an_option_whose_underlying_touched_its_stop_is_exited_reduce_only(
    world: MonitorWorld,
) -> None:
    coid = open_option(world)
    ticket = world.ticket(coid)
    world.advance(minutes=2)
    store_bars(world, spy_bar(opened(ticket).replace(second=0, microsecond=0)
                              + timedelta(minutes=1), 500, 500.5, 494.0, 494.5))  # fmt: skip
    report = world.service().run()
    assert [(e.reason, e.sent) for e in report.exits] == [(ExitReason.STOP, True)]
    (sent,) = world.broker.submitted
    assert sent.client_order_id == client_order_id(ticket.signal_id, OrderPurpose.EXIT)
    assert (sent.symbol, sent.side, sent.qty, sent.type.value) == (
        CALL,
        OrderSide.SELL,
        2,
        "market",
    )
    verdicts = [
        r
        for r in world.store.audit_log("2024-06-03")
        if r.kind is AuditKind.VERDICT and r.subject == sent.client_order_id
    ]
    assert verdicts and verdicts[-1].detail["approved"] is True  # through SafetyEngine.reserve
    # the next run sees the working exit: nothing more is sent
    world.advance(minutes=1)
    assert world.service().run().exits == []
    assert len(world.broker.submitted) == 1


def test_the_exit_s_fill_closes_the_ticket_on_the_next_run(world: MonitorWorld) -> None:
    coid = open_option(world)
    world.advance(minutes=61)  # past wave_renko's 60-minute time stop
    assert [e.reason for e in world.service().run().exits] == [ExitReason.TIME_STOP]
    exit_coid = world.broker.submitted[0].client_order_id
    world.broker.fill(exit_coid, 2, 1.5)
    world.advance(minutes=1)
    world.service().run()
    ticket = world.ticket(coid)
    assert ticket.status is TicketStatus.CLOSED
    assert ticket.realized == pytest.approx((1.5 - 2.0) * 2 * 100)
    assert world.store.portfolio().slots == 0


def _open_bracket(world: MonitorWorld) -> tuple[str, tuple[BrokerOrder, BrokerOrder]]:
    intent = entry()
    world.reserve(intent)
    now = world.clock.now()
    legs = bracket_legs("SPY", OrderSide.BUY, 10, now, stop=495, target=510)
    placed = world.broker.put(broker_order(intent.client_order_id, "SPY", OrderSide.BUY, 10,
                                           at=now, legs=legs))  # fmt: skip
    world.engine.confirm(intent.client_order_id, placed.broker_order_id)
    world.broker.fill(intent.client_order_id, 10, 500.0)
    world.service().run()
    return intent.client_order_id, legs


def test_an_equity_bracket_s_stop_is_its_legs_never_a_second_exit(world: MonitorWorld) -> None:
    _open_bracket(world)
    now = world.clock.now()
    world.advance(minutes=6)
    store_bars(world, spy_bar(now.replace(second=0) + timedelta(minutes=5), 500, 500, 490, 491))
    report = world.service().run()
    assert report.exits == [] and report.legs_canceled_for_exit == 0
    assert world.broker.submitted == [] and world.broker.canceled == []


def test_legs_canceled_by_hand_leave_the_position_to_the_monitor(world: MonitorWorld) -> None:
    coid, _ = _open_bracket(world)
    parent = world.broker.orders[coid]
    world.broker.put(parent.model_copy(update={"legs": tuple(
        leg.model_copy(update={"status": S.CANCELED}) for leg in parent.legs)}))  # fmt: skip
    now = world.clock.now()
    world.advance(minutes=6)
    store_bars(world, spy_bar(now.replace(second=0) + timedelta(minutes=5), 500, 500, 490, 491))
    report = world.service().run()
    assert [(e.reason, e.sent) for e in report.exits] == [(ExitReason.STOP, True)]
    assert world.broker.submitted[0].side is OrderSide.SELL


def test_a_due_time_stop_cancels_the_legs_then_exits_as_backtested(world: MonitorWorld) -> None:
    coid, legs = _open_bracket(world)
    world.advance(minutes=61)
    first = world.service().run()
    assert first.exits == [] and first.legs_canceled_for_exit == 1 and first.errors == []
    assert world.broker.canceled[0] in {leg.broker_order_id for leg in legs}
    assert all(leg.status.terminal for leg in world.broker.orders[coid].legs)
    world.advance(minutes=1)
    second = world.service().run()
    assert [(e.reason, e.sent) for e in second.exits] == [(ExitReason.TIME_STOP, True)]
    assert (world.broker.submitted[0].qty, world.broker.submitted[0].side) == (10, OrderSide.SELL)


def test_a_still_working_entry_is_canceled_before_its_position_exits(world: MonitorWorld) -> None:
    intent = option_entry(contracts=2, stop=495, target=510, underlying_price=500.0)
    world.reserve(intent)
    placed = world.broker.put(broker_order(intent.client_order_id, CALL, OrderSide.BUY, 2,
                                           at=world.clock.now()))  # fmt: skip
    world.engine.confirm(intent.client_order_id, placed.broker_order_id)
    world.broker.fill(intent.client_order_id, 1, 2.0)  # partly filled, still working
    world.advance(minutes=61)
    report = world.service().run()
    assert report.exits == [] and report.entries_canceled_for_exit == 1
    assert world.broker.canceled == [placed.broker_order_id]
    world.advance(minutes=1)
    assert [e.sent for e in world.service().run().exits] == [True]
    assert world.broker.submitted[0].qty == 1  # what is held, never more


def test_a_refused_exit_counts_an_order_error_and_is_retried_next_run(world: MonitorWorld) -> None:
    open_option(world)
    world.advance(minutes=61)
    world.broker.fail("submit", BrokerRejectedError("HTTP 403 forbidden", status=403))
    report = world.service().run()
    assert [e.sent for e in report.exits] == [False]
    assert len(world.store.breaker(BreakerName.ERROR_RATE).events) == 1
    world.advance(minutes=1)
    assert [e.sent for e in world.service().run().exits] == [True]


def test_an_exit_whose_answer_was_lost_is_found_not_resent(world: MonitorWorld) -> None:
    open_option(world)
    world.advance(minutes=61)
    world.broker.fail("submit", timeout())
    first = world.service().run()
    assert [e.sent for e in first.exits] == [False]
    # the timed-out request did reach the broker: the order exists under its client_order_id
    coid = client_order_id(world.store.open_tickets()[0].signal_id, OrderPurpose.EXIT)
    world.broker.put(broker_order(coid, CALL, OrderSide.SELL, 2, at=world.clock.now()))
    world.advance(minutes=1)
    assert world.service().run().exits == []  # working exit found by lookup
    assert world.broker.submitted == []


def test_exit_attempts_are_bounded_and_the_operator_is_paged(world: MonitorWorld) -> None:
    coid = open_option(world)
    signal = world.ticket(coid).signal_id
    world.advance(minutes=61)
    for attempt in range(1, world.monitor_config.max_exit_attempts + 1):
        world.broker.put(broker_order(client_order_id(signal, OrderPurpose.EXIT, attempt), CALL,
                                      OrderSide.SELL, 2, at=world.clock.now(),
                                      status=S.CANCELED))  # fmt: skip
    report = world.service().run()
    assert [(e.sent, e.detail) for e in report.exits] == [(False, "3 exit attempts used")]
    assert "Exit not sent" in world.subjects()
    assert world.broker.submitted == []


def test_no_exit_is_sent_outside_the_session(world: MonitorWorld) -> None:
    open_option(world)
    world.clock.set(datetime(2024, 6, 3, 21, 0, tzinfo=UTC))  # 17:00 New York
    assert world.service().run().exits == []
    assert world.broker.submitted == []


def test_no_exit_is_sent_for_what_the_broker_no_longer_holds(world: MonitorWorld) -> None:
    """Closed elsewhere (by hand, or a flatten under ids that are not ours): an exit now would
    open a position. It is not sent; reconciliation reports the drift."""
    coid = open_option(world)
    world.broker.move_position(CALL, -2, 1.9, Instrument.OPTION)
    world.advance(minutes=61)
    report = world.service().run()
    assert [(e.sent, e.detail) for e in report.exits] == [
        (False, "the broker holds 0 free of 2: not sent")
    ]
    assert world.broker.submitted == []
    assert [d.kind.value for d in report.drifts] == ["missing_position"]
    assert world.ticket(coid).status is TicketStatus.OPEN  # nothing rewritten


def test_no_exit_is_sent_while_another_order_already_closes_the_position(
    world: MonitorWorld,
) -> None:
    open_option(world)
    world.broker.put(broker_order("eod-flatten-1", CALL, OrderSide.SELL, 2, at=world.clock.now(),
                                  instrument=Instrument.OPTION))  # fmt: skip
    world.advance(minutes=61)
    report = world.service().run()
    assert [e.sent for e in report.exits] == [False]
    assert world.broker.submitted == []


def test_broker_free_qty_counts_a_bracket_s_legs_once() -> None:
    from tests.unit.trading.test_exits import ticket as stored

    t = stored()  # long 10 SPY
    at = opened(t)
    legs = bracket_legs("SPY", OrderSide.BUY, 10, at, stop=495, target=510)
    parent = broker_order(t.client_order_id, "SPY", OrderSide.BUY, 10, at=at, status=S.FILLED,
                          filled=10, avg=500.0, legs=legs)  # fmt: skip
    held = {"SPY": BrokerPosition(symbol="SPY", qty=15, avg_entry_price=500.0)}
    assert broker_free_qty(t, held, [parent]) == 5
    assert broker_free_qty(t, held, []) == 15
    short = {"SPY": BrokerPosition(symbol="SPY", qty=-15, avg_entry_price=500.0)}
    assert broker_free_qty(t, short, []) == 0  # the wrong side is nothing to reduce
