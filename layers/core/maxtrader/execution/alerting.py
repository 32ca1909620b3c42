"""The safety engine's events of one execution, told to the operators (breaker trips, resets).

A trip alerts once per pause: the dedup key names the breaker and its ``until``, so a repeat
within the cooldown is held back while a new trip always goes out. A delivery failure is logged,
never raised: the order path must not fail because SNS did.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from maxtrader.domain.errors import MaxTraderError
from maxtrader.domain.models import AuditKind, AuditRecord
from maxtrader.domain.ports import Alert, Alerts

log = logging.getLogger(__name__)
_TOLD = {AuditKind.BREAKER_TRIP: "tripped", AuditKind.BREAKER_RESET: "reset"}


def event_alert(event: AuditRecord) -> Alert | None:
    """The alert of one engine event (None: not one the operators are told of)."""
    verb = _TOLD.get(event.kind)
    if verb is None:
        return None
    until = event.detail.get("until")
    reason = str(event.detail.get("reason") or "")
    line = f"Breaker {event.subject} {verb}" + (f" until {until}" if until else "")
    if reason:
        line += f": {reason}"
    return Alert(
        subject=f"Circuit breaker {event.subject} {verb}",
        line=line,
        details={"kind": event.kind.value, "at": event.ts.isoformat(), **event.detail},
        dedup_key=f"breaker-{verb}:{event.subject}:{until or event.ts.isoformat()}",
    )


def publish_events(alerts: Alerts, events: Sequence[AuditRecord]) -> list[str]:
    """Publish the alert of every event that has one; the subjects that went out."""
    sent: list[str] = []
    for event in events:
        alert = event_alert(event)
        if alert is None:
            continue
        try:
            if alerts.publish(alert):
                sent.append(alert.subject)
        except MaxTraderError as exc:  # delivery, or the dedup state around it
            log.error("alert %r not delivered: %s", alert.subject, exc)
    return sent
