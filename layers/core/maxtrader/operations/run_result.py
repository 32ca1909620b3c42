"""What one scheduled operation did: the answer its handler returns, logs and counts.

Every scheduled function (regime, health, premarket, eod) answers with a ``RunResult``: whether
it acted (``skipped`` says why not: a holiday, outside the session, not the flatten time), a
one-line summary, the details, the alerts it sent and the problems it worked around. An alert
that could not be delivered never fails the run (what it reports is already decided and
stored): it is a warning, logged and counted by the handler.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import JsonValue

from maxtrader.domain.errors import AlertDeliveryError
from maxtrader.domain.ports import Alert, Alerts

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RunResult:
    function: str
    scheduled_time: datetime
    acted: bool
    summary: str
    detail: dict[str, JsonValue] = field(default_factory=dict)
    alerts: dict[str, str] = field(default_factory=dict)  # dedup key -> sent|deduplicated|failed
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def skipped(cls, function: str, scheduled_time: datetime, why: str) -> RunResult:
        return cls(function, scheduled_time, acted=False, summary=f"nothing to do: {why}")

    @property
    def alert_failures(self) -> int:
        return sum(1 for status in self.alerts.values() if status == "failed")

    def publish(self, alerts: Alerts, alert: Alert) -> bool:
        """Send ``alert``; a delivery failure becomes a warning (the run's decision stands)."""
        try:
            sent = alerts.publish(alert)
        except AlertDeliveryError as exc:
            log.error("alert %s not sent: %s", alert.key(), exc)
            self.alerts[alert.key()] = "failed"
            self.warnings.append(f"alert {alert.key()} not sent: {exc}")
            return False
        self.alerts[alert.key()] = "sent" if sent else "deduplicated"
        return sent

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "function": self.function,
            "scheduled_time": self.scheduled_time.isoformat(),
            "acted": self.acted,
            "summary": self.summary,
            "detail": self.detail,
            "alerts": dict(self.alerts),
            "warnings": list(self.warnings),
        }


__all__ = ["RunResult"]
