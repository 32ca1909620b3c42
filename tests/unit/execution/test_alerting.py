"""Breaker events become operator alerts: once per pause, never failing the order path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from maxtrader.adapters.alert_cooldown import Cooldown
from maxtrader.adapters.memory_alerts import InMemoryAlerts
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import AlertDeliveryError
from maxtrader.domain.models import AuditKind, AuditRecord
from maxtrader.domain.ports import Alert
from maxtrader.execution.alerting import event_alert, publish_events

NOW = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)


def trip(until: datetime) -> AuditRecord:
    detail = {"reason": "5 errors in 10 min", "until": until.isoformat()}
    return AuditRecord(ts=NOW, kind=AuditKind.BREAKER_TRIP, subject="error_rate", detail=detail)


def test_a_trip_alerts_once_per_pause_and_a_new_pause_alerts_again() -> None:
    clock = FixedClock(NOW)
    alerts = InMemoryAlerts(clock, Cooldown(timedelta(minutes=15)))
    first = trip(NOW + timedelta(minutes=30))
    assert publish_events(alerts, [first, first]) == ["Circuit breaker error_rate tripped"]
    later = trip(NOW + timedelta(minutes=45))
    assert len(publish_events(alerts, [later])) == 1  # another pause: another alert
    [sent, _] = alerts.sent
    assert "until" in sent.alert.line and "5 errors" in sent.alert.line


def test_events_without_an_alert_are_ignored() -> None:
    verdict = AuditRecord(ts=NOW, kind=AuditKind.VERDICT, subject="mt-x-entry")
    assert event_alert(verdict) is None
    reset = AuditRecord(ts=NOW, kind=AuditKind.BREAKER_RESET, subject="error_rate")
    alert = event_alert(reset)
    assert alert is not None and alert.subject == "Circuit breaker error_rate reset"


class DownAlerts:
    def __init__(self) -> None:
        self.tried: list[Alert] = []

    def publish(self, alert: Alert) -> bool:
        self.tried.append(alert)
        raise AlertDeliveryError("SNS unavailable")


def test_an_alert_service_down_does_not_fail_the_caller() -> None:
    down = DownAlerts()
    assert publish_events(down, [trip(NOW + timedelta(minutes=30))]) == []
    assert len(down.tried) == 1
