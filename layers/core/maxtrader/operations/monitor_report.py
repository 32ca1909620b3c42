"""What one monitor run did: counts per concern, drift, errors, and its metrics (EMF).

report.metrics() -> [(name, unit, value)]    one per concern (docs/monitor.md)
report.to_dict() -> JSON                     the handler's answer and log line
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import JsonValue

from maxtrader.operations.monitor_exits import ExitOutcome
from maxtrader.operations.monitor_inflight import InFlight, InFlightAction
from maxtrader.operations.monitor_reconcile import Drift
from maxtrader.operations.safety_gauges import Gauge

__all__ = ["MonitorReport"]


@dataclass(slots=True)
class MonitorReport:
    at: datetime
    fills_applied: int = 0
    fills_duplicate: int = 0
    inflight: list[InFlight] = field(default_factory=list)
    exits: list[ExitOutcome] = field(default_factory=list)
    entries_canceled_for_exit: int = 0
    legs_canceled_for_exit: int = 0
    drifts: list[Drift] = field(default_factory=list)
    reconciled: bool = False
    deferred: list[str] = field(default_factory=list)
    equity: float | None = None
    drawdown: float | None = None
    breaker_trips: int = 0
    breaker_resets: int = 0
    alerts_sent: int = 0
    errors: list[str] = field(default_factory=list)
    gauges: list[Gauge] = field(default_factory=list)  # the safety state (operations/safety_gauges)

    def count(self, action: InFlightAction) -> int:
        return sum(1 for i in self.inflight if i.action is action)

    def metrics(self) -> list[tuple[str, str, float]]:
        """(name, unit, value) per concern, for EMF (docs/monitor.md)."""
        released = sum(1 for i in self.inflight if i.released)
        counts = {
            "FillsApplied": self.fills_applied,
            "FillsDuplicate": self.fills_duplicate,
            "InFlightConfirmed": self.count(InFlightAction.CONFIRMED),
            "InFlightReleased": released,
            "InFlightUnknown": self.count(InFlightAction.UNKNOWN),
            "ExitsSubmitted": sum(1 for e in self.exits if e.sent),
            "ExitsNotSent": sum(1 for e in self.exits if not e.sent),
            "ExitCancels": self.entries_canceled_for_exit + self.legs_canceled_for_exit,
            "ReconciliationDrift": len(self.drifts),
            "ReconciliationDeferred": len(self.deferred),
            "BreakerTrips": self.breaker_trips,
            "BreakerResets": self.breaker_resets,
            "AlertsSent": self.alerts_sent,
            "StepErrors": len(self.errors),
        }
        out = [(name, "Count", float(value)) for name, value in counts.items()]
        if self.equity is not None:
            out.append(("Equity", "None", self.equity))
        if self.drawdown is not None:
            out.append(("DrawdownPct", "Percent", self.drawdown * 100))
        return out

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "at": self.at.isoformat(),
            "ok": not self.errors and not self.drifts,
            "fills_applied": self.fills_applied,
            "inflight": [
                {"client_order_id": i.client_order_id, "action": i.action.value}
                for i in self.inflight
            ],
            "exits": [
                {
                    "client_order_id": e.client_order_id,
                    "reason": e.reason.value,
                    "sent": e.sent,
                    "detail": e.detail,
                }
                for e in self.exits
            ],
            "drift": [d.detail() for d in self.drifts],
            "reconciled": self.reconciled,
            "deferred": list(self.deferred),
            "equity": self.equity,
            "errors": list(self.errors),
        }
