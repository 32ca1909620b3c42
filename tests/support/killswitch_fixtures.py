"""Pytest fixtures of the kill-switch tests: its adapters on moto and the Alpaca emulator, the
handler's factory pointed at them, the order path's engine on the same table.

A test module takes them with ``pytest_plugins = ("tests.support.alpaca_fixtures",
"tests.support.killswitch_fixtures")``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from maxtrader.adapters.alpaca_broker import AlpacaBroker
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.runtime import operator_factory
from tests.support.alert_topic import AlertTopic, create_alert_topic
from tests.support.killswitch_harness import KillSwitchRig
from tests.support.safety import make_engine


@pytest.fixture
def topic(aws_env: str) -> AlertTopic:
    return create_alert_topic()


@pytest.fixture
def rig(
    state_table: str,
    topic: AlertTopic,
    alpaca_clock: FixedClock,
    broker: AlpacaBroker,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[KillSwitchRig]:
    built = KillSwitchRig.build(state_table, topic, alpaca_clock, lambda: broker)
    monkeypatch.setattr(operator_factory, "killswitch_operations", lambda: built.ops)
    yield built


@pytest.fixture
def engine(rig: KillSwitchRig) -> SafetyEngine:
    """The order path's engine on the same table (what the next entry goes through)."""
    return make_engine(rig.store, rig.clock)
