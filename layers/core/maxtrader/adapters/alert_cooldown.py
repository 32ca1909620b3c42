"""The alert cooldown rule, shared by every ``Alerts`` adapter so they deduplicate alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from maxtrader.config.safety import Alerts as AlertsConfig
from maxtrader.domain.errors import InvalidInputError


@dataclass(frozen=True, slots=True)
class Cooldown:
    """An alert key sends again only once ``period`` has passed since it last went out.

    Measured from the last *sent* alert, not the last attempt: a condition that persists
    alerts once per period, not never. A zero period sends every alert.
    """

    period: timedelta

    def __post_init__(self) -> None:
        if self.period < timedelta(0):
            raise InvalidInputError(f"alert cooldown {self.period} is negative")

    @classmethod
    def from_config(cls, config: AlertsConfig) -> Cooldown:
        return cls(timedelta(minutes=config.alert_cooldown_minutes))

    def allows(self, last_sent: datetime | None, now: datetime) -> bool:
        return last_sent is None or now >= last_sent + self.period

    def cutoff(self, now: datetime) -> datetime:
        """Alerts sent at or before this instant no longer hold the key back."""
        return now - self.period
