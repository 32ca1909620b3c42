"""Two monitor runs at once (a slow run overlapping the next minute's) on one DynamoDB table and
one broker: every fill is applied exactly once, and neither calls the other's writes drift."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from maxtrader.adapters.alert_cooldown import Cooldown
from maxtrader.adapters.dynamodb_session_store import DynamoDBSessionStore
from maxtrader.adapters.dynamodb_store import DynamoDBStateStore
from maxtrader.adapters.memory_alerts import InMemoryAlerts
from maxtrader.config.safety import Alerts, SafetyConfig
from maxtrader.config.strategies import StrategiesConfig
from maxtrader.domain.models import AuditKind
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.domain.safety.state import TicketStatus
from maxtrader.operations.monitor import MonitorReport, MonitorService
from tests.support.alpaca_env import WEEK, bar, make_broker, minute
from tests.support.monitor_harness import MonitorStage
from tests.support.safety import entry

pytest_plugins = ("tests.support.alpaca_fixtures", "tests.support.monitor_fixtures")


@pytest.fixture
def stage(monitor_stage: MonitorStage) -> MonitorStage:
    """This module's ``stage``: each support plugin names its own (plugins are global, and three
    defined ``stage``: which one a module got depended on the collection order)."""
    return monitor_stage


pytestmark = pytest.mark.concurrency
RUNNERS = 3


def independent_monitor(stage: MonitorStage) -> MonitorService:
    """A monitor with its own clients and engine, as a second Lambda container would have."""
    config = SafetyConfig()
    store = DynamoDBStateStore.create(stage.table)
    return MonitorService(
        engine=SafetyEngine(config, store, stage.clock),
        broker=make_broker(stage.emulator),
        sessions=DynamoDBSessionStore.create(stage.table),
        alerts=InMemoryAlerts(stage.clock, Cooldown.from_config(Alerts())),
        calendar=WEEK,
        strategies=StrategiesConfig(),
        config=config.monitor,
        clock=stage.clock,
    )


def test_overlapping_runs_apply_each_fill_exactly_once(stage: MonitorStage) -> None:
    intents = [entry(qty=10, price=500.0, stop=495.0, target=510.0) for _ in range(2)]
    for intent in intents:
        stage.send_entry(intent)
        stage.clock.advance(61)  # the order path's spacing between entries
    stage.emulator.feed_bar(bar(minute(2), (500.0, 500.6, 499.6, 500.2)))
    stage.clock.set(minute(3))
    monitors = [independent_monitor(stage) for _ in range(RUNNERS)]
    start = threading.Barrier(RUNNERS)

    def run(monitor: MonitorService) -> MonitorReport:
        start.wait(timeout=30)
        return monitor.run()

    with ThreadPoolExecutor(RUNNERS) as pool:
        reports = list(pool.map(run, monitors))

    assert sum(r.fills_applied for r in reports) == len(intents)
    for intent in intents:
        ticket = stage.ticket(intent.client_order_id)
        assert (ticket.status, ticket.qty) == (TicketStatus.OPEN, 10)
    assert len(stage.audit(AuditKind.FILL)) == len(intents)
    assert stage.store.portfolio().slots == len(intents)
    assert all(r.drifts == [] for r in reports), [r.drifts for r in reports]
    assert not stage.safe_mode()
