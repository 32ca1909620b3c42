"""What the every-minute functions cost in DynamoDB requests, counted on the wire (moto server):
a monitor run with nothing held, one with an open position, a healthy health run and a failing
one. The numbers are the design (docs/monitor.md, docs/safety-layer.md "Requests per run"):
a regression that adds a request fails here."""

from __future__ import annotations

from datetime import timedelta

import pytest

from maxtrader.domain.errors import StateUnavailableError
from maxtrader.domain.safety.state import SwitchName, TicketStatus
from tests.integration.test_ops_health_eod import TEN, fresh
from tests.support.alpaca_env import bar, minute
from tests.support.flaky_client import FlakyClient, throttled
from tests.support.monitor_harness import MonitorStage
from tests.support.ops_harness import OpsStage
from tests.support.safety import entry
from tests.support.wire_counts import calls_of, count_store_calls

pytest_plugins = (
    "tests.support.alpaca_fixtures",
    "tests.support.monitor_fixtures",
    "tests.support.ops_fixtures",
)


@pytest.fixture
def stage(monitor_stage: MonitorStage) -> MonitorStage:
    """This module's ``stage``: each support plugin names its own (plugins are global, and three
    defined ``stage``: which one a module got depended on the collection order)."""
    return monitor_stage


pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:No application metrics:UserWarning"),
]


@pytest.fixture
def monitor_wire(stage: MonitorStage, monkeypatch: pytest.MonkeyPatch) -> FlakyClient:
    return count_store_calls(monkeypatch, stage.table)


@pytest.fixture
def health_wire(ops: OpsStage, monkeypatch: pytest.MonkeyPatch) -> FlakyClient:
    return count_store_calls(monkeypatch, ops.table)


def test_a_monitor_run_with_nothing_held(stage: MonitorStage, monitor_wire: FlakyClient) -> None:
    stage.run()
    stage.clock.set(minute(1))
    answer: dict[str, object] = {}
    calls = calls_of(monitor_wire, lambda: answer.update(stage.run()))
    assert answer["errors"] == [] and answer["drift"] == []
    # the live tickets, the control items read once (the breakers, then the marks and the
    # gauges on the same read: nothing changed, nothing written); nothing held on either side,
    # so reconciliation does not read the tickets again
    assert calls == {"query": 1, "batch_get_item": 1}


def test_a_monitor_run_with_one_open_position(
    stage: MonitorStage, monitor_wire: FlakyClient
) -> None:
    intent = entry(qty=10, price=500.0, stop=495.0, target=510.0)
    stage.send_entry(intent)
    stage.emulator.feed_bar(bar(minute(0), (500.0, 500.6, 499.6, 500.2)))
    stage.clock.set(minute(1))
    assert stage.run()["fills_applied"] == 1
    stage.emulator.feed_bar(bar(minute(1), (500.2, 500.8, 500.0, 500.6)))
    stage.clock.set(minute(2))
    answer: dict[str, object] = {}
    calls = calls_of(monitor_wire, lambda: answer.update(stage.run()))
    assert answer["errors"] == [] and answer["drift"] == []
    assert stage.ticket(intent.client_order_id).status is TicketStatus.OPEN
    assert stage.store.portfolio().marks == {"SPY": 500.6}
    # + the ticket read fresh after its fills, the newest SPY bar (the mark's collar), the
    # regime (exits), the marks written and the high-water mark raised (a single PutItem), the
    # tickets again after the broker's second read (reconciliation); the gauges on the read
    # the marks updated
    assert calls == {
        "query": 3,
        "batch_get_item": 1,
        "get_item": 2,
        "update_item": 1,
        "put_item": 1,
    }


def test_a_healthy_health_run(ops: OpsStage, health_wire: FlakyClient) -> None:
    fresh(ops, TEN)
    assert ops.invoke("health", TEN)["detail"]["healthy"]
    later = TEN + timedelta(minutes=1)
    fresh(ops, later)
    answer: dict[str, object] = {}
    calls = calls_of(health_wire, lambda: answer.update(ops.invoke("health", later)))
    assert answer["detail"]["healthy"]  # type: ignore[index]
    # every symbol's newest bar in one read, the control items in another: nothing changed,
    # nothing written
    assert calls == {"batch_get_item": 2}


def test_a_health_run_that_keeps_failing(ops: OpsStage, health_wire: FlakyClient) -> None:
    fresh(ops, TEN)
    stale = TEN + timedelta(minutes=7)
    ops.vix(15.0, stale - timedelta(minutes=2))
    assert ops.invoke("health", stale)["detail"]["safe_mode"]
    later = stale + timedelta(minutes=1)
    ops.vix(15.0, later - timedelta(minutes=2))
    answer: dict[str, object] = {}
    calls = calls_of(health_wire, lambda: answer.update(ops.invoke("health", later)))
    assert not answer["detail"]["healthy"] and answer["detail"]["safe_mode"]  # type: ignore[index]
    # safe mode already on: only this minute's health record (one PutItem); no bar in the
    # probed minutes, so each symbol's newest is a Query
    assert calls == {"batch_get_item": 2, "query": 2, "put_item": 1}


@pytest.mark.faults
def test_a_health_run_that_cannot_read_its_state_fails_for_lambda_to_retry(
    ops: OpsStage, health_wire: FlakyClient
) -> None:
    fresh(ops, TEN)
    health_wire.fail("batch_get_item", throttled("BatchGetItem"))
    with pytest.raises(StateUnavailableError):
        ops.invoke("health", TEN)
    assert ops.store.health().version == 0 and not ops.store.switch(SwitchName.SAFE_MODE).on
    assert ops.invoke("health", TEN)["detail"]["healthy"]  # the retry
