"""In-memory ``Alerts``: records what it sent (tests and the backtest). Same cooldown as SNS."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from maxtrader.adapters.alert_cooldown import Cooldown
from maxtrader.domain.clock import Clock
from maxtrader.domain.ports import Alert


@dataclass(frozen=True, slots=True)
class SentAlert:
    alert: Alert
    sent_at: datetime


class InMemoryAlerts:
    def __init__(self, clock: Clock, cooldown: Cooldown) -> None:
        self._clock = clock
        self._cooldown = cooldown
        self._lock = threading.Lock()
        self._last_sent: dict[str, datetime] = {}
        self.sent: list[SentAlert] = []
        self.suppressed: list[SentAlert] = []  # held back by the cooldown, with when

    def publish(self, alert: Alert) -> bool:
        now = self._clock.now()
        key = alert.key()
        with self._lock:
            if not self._cooldown.allows(self._last_sent.get(key), now):
                self.suppressed.append(SentAlert(alert, now))
                return False
            self._last_sent[key] = now
            self.sent.append(SentAlert(alert, now))
            return True


__all__ = ["InMemoryAlerts", "SentAlert"]
