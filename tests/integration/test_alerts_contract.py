"""One dedup contract for every ``Alerts``: the in-memory adapter and SNS on moto server.

What reached the operators is counted where it lands: the in-memory adapter's record, or the SQS
queue subscribed to the SNS topic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from maxtrader.adapters.alert_cooldown import Cooldown
from maxtrader.adapters.memory_alerts import InMemoryAlerts
from maxtrader.adapters.sns_alerts import SnsAlerts
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.ports import Alert, Alerts
from tests.support.alert_topic import create_alert_topic

COOLDOWN = timedelta(minutes=15)


@dataclass
class Backend:
    make: Callable[[timedelta], Alerts]  # an adapter with this cooldown
    delivered: Callable[[], list[str]]  # subjects delivered since the last call
    clock: FixedClock


@pytest.fixture(params=["memory", "sns"])
def backend(request: pytest.FixtureRequest) -> Backend:
    clock = FixedClock(datetime(2024, 6, 3, 14, 0, tzinfo=UTC))
    if request.param == "memory":
        made: list[InMemoryAlerts] = []
        seen = [0]

        def make_memory(cooldown: timedelta) -> Alerts:
            made.append(InMemoryAlerts(clock, Cooldown(cooldown)))
            return made[-1]

        def memory_delivered() -> list[str]:
            sent = [s.alert.subject for a in made for s in a.sent]
            new, seen[0] = sent[seen[0] :], len(sent)
            return new

        return Backend(make_memory, memory_delivered, clock)
    table: str = request.getfixturevalue("state_table")
    topic = create_alert_topic()

    def make_sns(cooldown: timedelta) -> Alerts:
        return SnsAlerts.create(topic.topic_arn, table, clock=clock, cooldown=Cooldown(cooldown))

    def sns_delivered() -> list[str]:
        return [e["Subject"].removeprefix("[MaxTrader] ") for e in topic.delivered()]

    return Backend(make_sns, sns_delivered, clock)


def alert(subject: str, key: str = "") -> Alert:
    return Alert(subject=subject, line=f"{subject}: details follow", dedup_key=key)


def test_the_same_key_goes_out_once_per_cooldown(backend: Backend) -> None:
    alerts = backend.make(COOLDOWN)
    assert alerts.publish(alert("Daily loss stop", "daily_loss"))
    backend.clock.advance(COOLDOWN - timedelta(seconds=1))
    assert alerts.publish(alert("Daily loss stop again", "daily_loss")) is False
    backend.clock.advance(timedelta(seconds=1))
    assert alerts.publish(alert("Daily loss stop, still", "daily_loss")) is True
    assert backend.delivered() == ["Daily loss stop", "Daily loss stop, still"]


def test_keys_are_independent_and_the_subject_is_the_default_key(backend: Backend) -> None:
    alerts = backend.make(COOLDOWN)
    assert alerts.publish(alert("Breaker tripped: rapid_loss"))
    assert alerts.publish(alert("Breaker tripped: drawdown"))
    assert alerts.publish(alert("Breaker tripped: rapid_loss")) is False
    assert alerts.publish(alert("Other subject", "Breaker tripped: drawdown")) is False
    assert backend.delivered() == ["Breaker tripped: rapid_loss", "Breaker tripped: drawdown"]


def test_a_persisting_condition_alerts_once_per_period(backend: Backend) -> None:
    alerts = backend.make(timedelta(minutes=10))
    sent_at = []
    for minute in range(25):
        if alerts.publish(alert("Stale data", "stale:SPY")):
            sent_at.append(minute)
        backend.clock.advance(60)
    assert sent_at == [0, 10, 20]
    assert len(backend.delivered()) == 3


def test_a_zero_cooldown_sends_everything(backend: Backend) -> None:
    alerts = backend.make(timedelta(0))
    assert all(alerts.publish(alert("Health failing", "health")) for _ in range(3))
    assert len(backend.delivered()) == 3
