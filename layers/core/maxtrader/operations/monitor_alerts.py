"""What the monitor tells the operators: the engine's events and its own findings, as alerts.

Each alert's dedup key names the condition (and, for a breaker, the trip or reset instant), so
a condition that persists run after run pages once per cooldown and a new one always goes out.
The first line fits an SMS whole (``alert_kinds.clip_line``: bytes, not characters); the
details go to email.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from maxtrader.domain.models import AuditKind, AuditRecord
from maxtrader.domain.ports import Alert
from maxtrader.operations.alert_kinds import clip_line
from maxtrader.operations.monitor_exits import ExitOutcome
from maxtrader.operations.monitor_inflight import InFlight, InFlightAction
from maxtrader.operations.monitor_reconcile import RECONCILIATION_ACTOR, Drift

__all__ = ["drift_alert", "event_alerts", "exit_alert", "inflight_alert"]


def event_alerts(events: Sequence[AuditRecord]) -> list[Alert]:
    """Breaker trips and resets, safe mode turned on, risk breaches, fills naming no order."""
    alerts: list[Alert] = []
    for e in events:
        subject = _EVENT_SUBJECTS.get(e.kind)
        if subject is None or (
            e.kind is AuditKind.SAFE_MODE
            and (not e.detail.get("on") or e.actor == RECONCILIATION_ACTOR)  # drift_alert says it
        ):
            continue
        why = e.detail.get("reason") or e.detail.get("event") or ""
        alerts.append(
            Alert(
                subject=f"{subject}: {e.subject}",
                line=clip_line(f"{subject} {e.subject} {why}".strip()),
                details={
                    "kind": e.kind.value,
                    "at": e.ts.isoformat(),
                    "actor": e.actor,
                    **e.detail,
                },
                dedup_key=f"monitor:{e.kind.value}:{e.subject}:{e.ts.isoformat()}",
            )
        )
    return alerts


def drift_alert(drifts: Sequence[Drift]) -> Alert:
    digest = hashlib.sha256("|".join(sorted(d.line() for d in drifts)).encode()).hexdigest()
    first = drifts[0]
    more = f" (+{len(drifts) - 1} more)" if len(drifts) > 1 else ""
    return Alert(
        subject="Reconciliation drift: safe mode ON",
        line=clip_line(f"DRIFT {first.kind.value} {first.subject}{more}; safe mode on"),
        details={
            "drift": [d.detail() for d in drifts],
            "operator": "see docs/monitor.md: what to do on drift",
        },
        dedup_key=f"monitor:drift:{digest[:32]}",
    )


def inflight_alert(item: InFlight) -> Alert | None:
    if item.action is InFlightAction.RELEASED_UNKNOWN:
        title = "In-flight order released, broker could not say"
    elif item.action is InFlightAction.RELEASED_ABSENT:
        title = "In-flight reservation released (never sent)"
    else:
        return None
    return Alert(
        subject=title,
        line=clip_line(f"{title}: {item.client_order_id}"),
        details={
            "client_order_id": item.client_order_id,
            "symbol": item.symbol,
            "action": item.action.value,
            "reason": item.reason,
        },
        dedup_key=f"monitor:inflight:{item.client_order_id}",
    )


def exit_alert(outcome: ExitOutcome) -> Alert:
    return Alert(
        subject="Exit not sent",
        line=clip_line(f"EXIT NOT SENT {outcome.client_order_id} ({outcome.reason.value})"),
        details={
            "client_order_id": outcome.client_order_id,
            "reason": outcome.reason.value,
            "detail": outcome.detail,
        },
        dedup_key=f"monitor:exit:{outcome.client_order_id}",
    )


_EVENT_SUBJECTS = {
    AuditKind.BREAKER_TRIP: "Breaker tripped",
    AuditKind.BREAKER_RESET: "Breaker reset",
    AuditKind.SAFE_MODE: "Safe mode ON",
    AuditKind.RISK_BREACH: "Risk breach",
    AuditKind.RECONCILIATION: "Unknown fill",
}
