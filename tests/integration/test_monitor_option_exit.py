"""An option position's exit end to end: the monitor decides it (time stop, stop on the
underlying's stored bars), sends one reduce-only market order through alpaca-py to the emulator,
and books the fill on the next run."""

from __future__ import annotations

from datetime import timedelta

import pytest

from maxtrader.domain.models import AuditKind, Instrument, OrderIntent, OrderSide
from maxtrader.domain.safety.state import TicketStatus
from maxtrader.runtime import factory
from tests.support.alpaca_env import bar, contract, minute
from tests.support.monitor_harness import MonitorStage
from tests.support.safety import entry

pytest_plugins = ("tests.support.alpaca_fixtures", "tests.support.monitor_fixtures")


@pytest.fixture
def stage(monitor_stage: MonitorStage) -> MonitorStage:
    """This module's ``stage``: each support plugin names its own (plugins are global, and three
    defined ``stage``: which one a module got depended on the collection order)."""
    return monitor_stage


CALL = contract(500.0)


def open_call(stage: MonitorStage) -> OrderIntent:
    stage.emulator.list_option(CALL)
    stage.emulator.set_option_quote(CALL.symbol, bid=1.95, ask=2.05)
    intent = entry(symbol=CALL.symbol, underlying="SPY", instrument=Instrument.OPTION, qty=2,
                   price=2.05, stop=495.0, target=510.0, underlying_price=500.0)  # fmt: skip
    stage.send_entry(intent)  # a limit at the ask
    stage.emulator.set_option_quote(CALL.symbol, bid=1.95, ask=2.0)  # fills at 2.00
    stage.clock.set(minute(1))
    assert stage.run()["fills_applied"] == 1
    assert stage.ticket(intent.client_order_id).status is TicketStatus.OPEN
    return intent


def test_a_time_stop_exits_the_option_once_and_the_fill_closes_it(stage: MonitorStage) -> None:
    intent = open_call(stage)
    stage.clock.set(minute(62))  # past wave_renko's 60-minute hold
    answer = stage.run()
    assert [(e["reason"], e["sent"]) for e in answer["exits"]] == [("time_stop", True)]
    exits = stage.emulator.orders(f"mt-{intent.signal_id}-exit")
    assert [(o["side"], o["qty"], o["type"]) for o in exits] == [("sell", "2", "market")]
    assert stage.run()["exits"] == []  # the working exit is found: nothing sent twice
    stage.emulator.set_option_quote(CALL.symbol, bid=1.5, ask=1.6)  # the market sell fills
    stage.clock.set(minute(63))
    done = stage.run()
    ticket = stage.ticket(intent.client_order_id)
    assert ticket.status is TicketStatus.CLOSED
    assert ticket.realized == pytest.approx((1.5 - 2.0) * 2 * 100)
    assert done["drift"] == [] and stage.emulator.positions() == {}
    verdicts = [r for r in stage.audit(AuditKind.VERDICT) if r.subject.endswith("-exit")]
    assert len(verdicts) == 1 and verdicts[0].detail["approved"] is True


def test_the_underlying_touching_the_stop_exits_the_option(stage: MonitorStage) -> None:
    intent = open_call(stage)
    store = factory.session_store()
    spy = bar(minute(1), (499.0, 499.5, 494.0, 494.5))  # the stop (495) touched
    store.put_bars([spy], expires_at=minute(0) + timedelta(days=3))
    stage.clock.set(minute(2) + timedelta(seconds=5))
    answer = stage.run()
    assert [(e["reason"], e["sent"]) for e in answer["exits"]] == [("stop", True)]
    (sent,) = stage.emulator.orders(f"mt-{intent.signal_id}-exit")
    assert sent["side"] == OrderSide.SELL.value and sent["symbol"] == CALL.symbol
