"""Pytest fixtures of the monitor's integration tests: the function's stage on moto server and
the Alpaca emulator. A test module takes them with ``pytest_plugins =
("tests.support.alpaca_fixtures", "tests.support.monitor_fixtures")``.

The factory's broker is the real adapter on the emulator with the tests' short timeout and no
backoff sleep (``make_broker``); ``test_monitor_handler`` also runs the untouched factory path
(the Alpaca secret read from Secrets Manager).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from maxtrader.adapters.alpaca_broker import AlpacaBroker
from maxtrader.domain.clock import FixedClock
from maxtrader.emulators.alpaca import AlpacaEmulator
from maxtrader.runtime import factory
from tests.support.alert_topic import AlertTopic, create_alert_topic
from tests.support.monitor_harness import MonitorStage


@pytest.fixture
def monitor_topic(aws_env: str) -> AlertTopic:
    return create_alert_topic()


@pytest.fixture
def real_factory_stage(
    state_table: str,
    monitor_topic: AlertTopic,
    alpaca: AlpacaEmulator,
    alpaca_clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[MonitorStage]:
    built = MonitorStage(monkeypatch, state_table, monitor_topic, alpaca, alpaca_clock)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def monitor_stage(
    real_factory_stage: MonitorStage, broker: AlpacaBroker, monkeypatch: pytest.MonkeyPatch
) -> MonitorStage:
    monkeypatch.setattr(factory, "broker", lambda: broker)
    return real_factory_stage
