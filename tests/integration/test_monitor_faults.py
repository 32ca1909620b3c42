"""Faults during a monitor run: broker 500s and timeouts at each step, DynamoDB throttling.

Whatever fails, the run ends (the failure in ``errors``), no fill is lost (a later clean run
applies it), none is applied twice, no drift is called on what could not be read, and the
stored state matches the broker once the faults are gone.
"""

from __future__ import annotations

from collections.abc import Callable

import boto3
import pytest

from maxtrader.adapters.dynamodb_store import CLIENT_CONFIG, DynamoDBStateStore
from maxtrader.domain.models import AuditKind, Instrument
from maxtrader.domain.safety.state import TicketStatus
from maxtrader.emulators.alpaca import Fault
from maxtrader.runtime import factory
from tests.support.alpaca_env import bar, minute
from tests.support.flaky_client import FlakyClient, throttled, timed_out
from tests.support.monitor_harness import MonitorStage
from tests.support.safety import entry

pytest_plugins = ("tests.support.alpaca_fixtures", "tests.support.monitor_fixtures")


@pytest.fixture
def stage(monitor_stage: MonitorStage) -> MonitorStage:
    """This module's ``stage``: each support plugin names its own (plugins are global, and three
    defined ``stage``: which one a module got depended on the collection order)."""
    return monitor_stage


pytestmark = pytest.mark.faults

READS = 3  # the adapter's first try and its two read retries: a fault that outlasts them


def open_spy(stage: MonitorStage) -> str:
    intent = entry(qty=10, price=500.0, stop=495.0, target=510.0)
    stage.send_entry(intent)
    stage.emulator.feed_bar(bar(minute(0), (500.0, 500.6, 499.6, 500.2)))
    stage.clock.set(minute(1))
    return intent.client_order_id


def assert_consistent(stage: MonitorStage, coid: str) -> None:
    """After the faults: one clean run leaves the ticket where the broker is, fills once."""
    answer = stage.run()
    assert answer["errors"] == [] and answer["drift"] == [], answer
    ticket = stage.ticket(coid)
    assert (ticket.status, ticket.qty) == (TicketStatus.OPEN, 10)
    assert stage.emulator.positions() == {"SPY": 10}
    assert len(stage.audit(AuditKind.FILL)) == 1  # exactly one fill, never two
    assert stage.store.portfolio().slots == 1
    assert not stage.safe_mode()


@pytest.mark.parametrize(
    ("route", "fault"),
    [
        ("positions", lambda: Fault.of_status(500)),
        ("list_orders", lambda: Fault.of_status(500)),
        ("order_by_client_id", lambda: Fault.of_status(500)),
        ("order_by_client_id", Fault.timeout),
        ("account", lambda: Fault.of_status(503)),
        ("positions", Fault.timeout),
    ],
    ids=[
        "positions-500",
        "open-orders-500",
        "lookup-500",
        "lookup-timeout",
        "account-503",
        "positions-timeout",
    ],
)
def test_a_broker_fault_in_one_step_loses_nothing_and_calls_no_drift(
    stage: MonitorStage, route: str, fault: Callable[[], Fault]
) -> None:
    coid = open_spy(stage)
    stage.emulator.inject(route, fault(), times=READS)
    answer = stage.run()
    assert answer["errors"], "the fault is reported"
    assert answer["drift"] == [] and not stage.safe_mode()
    assert_consistent(stage, coid)


def test_a_broker_fault_after_the_fill_was_applied_applies_nothing_twice(
    stage: MonitorStage,
) -> None:
    coid = open_spy(stage)
    assert stage.run()["fills_applied"] == 1
    stage.emulator.inject("account", Fault.of_status(500), times=READS)
    stage.emulator.inject("positions", Fault.timeout(), times=READS)
    again = stage.run()
    assert again["fills_applied"] == 0 and again["errors"]
    assert_consistent(stage, coid)


@pytest.fixture
def flaky(stage: MonitorStage, monkeypatch: pytest.MonkeyPatch) -> FlakyClient:
    """The monitor's own state store on a client that fails on demand."""
    client = FlakyClient(boto3.client("dynamodb", config=CLIENT_CONFIG))
    store = DynamoDBStateStore(client, stage.table)  # type: ignore[arg-type]
    monkeypatch.setattr(factory, "state_store", lambda: store)
    factory.safety_engine.cache_clear()
    factory.monitor_service.cache_clear()
    return client


@pytest.mark.parametrize(
    ("operation", "error"),
    [
        ("transact_write_items", throttled),  # the fill's atomic write
        ("transact_write_items", timed_out),
        ("query", lambda: throttled("Query")),  # the live tickets
        ("get_item", lambda: throttled("GetItem")),  # a ticket, the regime
        ("batch_get_item", lambda: throttled("BatchGetItem")),  # switches, breakers, marks
    ],
    ids=[
        "fill-write-throttled",
        "fill-write-timeout",
        "tickets-throttled",
        "read-throttled",
        "control-read-throttled",
    ],
)
def test_dynamodb_throttling_loses_no_fill_and_applies_none_twice(
    stage: MonitorStage, flaky: FlakyClient, operation: str, error: Callable[[], Exception]
) -> None:
    coid = open_spy(stage)
    flaky.fail(operation, error(), times=1)
    answer = stage.run()
    assert answer["errors"], "the fault is reported"
    assert answer["drift"] == [] and not stage.safe_mode()
    assert_consistent(stage, coid)


def test_throttling_on_every_write_of_a_run_still_converges(
    stage: MonitorStage, flaky: FlakyClient
) -> None:
    coid = open_spy(stage)
    writes = ("transact_write_items", "put_item", "update_item")
    for op in writes:
        flaky.fail(op, throttled(op), times=20)
    answer = stage.run()
    assert answer["errors"] and answer["fills_applied"] == 0
    for op in writes:
        flaky._failures[op].clear()
    assert_consistent(stage, coid)


def _open_call(stage: MonitorStage) -> str:
    from tests.support.alpaca_env import contract

    call = contract(500.0)
    stage.emulator.list_option(call)
    stage.emulator.set_option_quote(call.symbol, bid=1.95, ask=2.0)
    intent = entry(symbol=call.symbol, underlying="SPY", instrument=Instrument.OPTION, qty=2,
                   price=2.0, stop=495.0, target=510.0, underlying_price=500.0)  # fmt: skip
    stage.send_entry(intent)
    stage.emulator.set_option_quote(call.symbol, bid=1.95, ask=2.0)
    stage.clock.set(minute(1))
    stage.run()
    stage.clock.set(minute(62))  # the time stop is due
    return intent.signal_id


@pytest.mark.parametrize(
    "fault",
    [lambda: Fault.of_status(500), Fault.timeout_after_accept, Fault.timeout],
    ids=["submit-500", "submit-accepted-then-timeout", "submit-timeout"],
)
def test_an_exit_submit_fault_sends_the_exit_exactly_once_in_the_end(
    stage: MonitorStage, fault: Callable[[], Fault]
) -> None:
    signal = _open_call(stage)
    stage.emulator.inject("submit_order", fault())
    first = stage.run()
    assert [e["sent"] for e in first["exits"]] == [False]
    stage.clock.set(minute(63))
    stage.run()  # found by its client_order_id, or sent now: never both
    stage.clock.set(minute(64))
    stage.run()
    exits = [
        o for o in stage.emulator.orders() if o["client_order_id"].startswith(f"mt-{signal}-exit")
    ]
    assert len(exits) == 1 and exits[0]["client_order_id"] == f"mt-{signal}-exit"
