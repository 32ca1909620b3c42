"""Builders of the audit records the engine appends (one place for their shapes)."""

from __future__ import annotations

from datetime import datetime

from pydantic import JsonValue

from maxtrader.domain.models import AuditKind, AuditRecord, CheckResult, OrderIntent, Verdict
from maxtrader.domain.safety.state import BreakerState, SwitchState


def check_detail(check: CheckResult) -> dict[str, JsonValue]:
    return {
        "name": check.name,
        "reason": check.reason,
        "observed": check.observed,
        "limit": check.limit,
    }


def verdict_record(
    verdict: Verdict,
    intent: OrderIntent,
    *,
    max_loss: float | None = None,
    cause: str | None = None,
    actor: str = "system",
) -> AuditRecord:
    detail: dict[str, JsonValue] = {
        "signal_id": intent.signal_id,
        "strategy": intent.strategy,
        "symbol": intent.symbol,
        "purpose": intent.purpose.value,
        "qty": intent.qty,
        "approved": verdict.approved,
        "checks": len(verdict.checks),
        "failures": [check_detail(c) for c in verdict.failures],
    }
    if max_loss is not None:
        detail["max_loss"] = max_loss
    if cause is not None:
        detail["cause"] = cause
    return AuditRecord(
        ts=verdict.decided_at,
        kind=AuditKind.VERDICT,
        subject=intent.client_order_id,
        actor=actor,
        detail=detail,
    )


def switch_record(state: SwitchState, now: datetime) -> AuditRecord:
    kind = AuditKind.KILL_SWITCH if state.name.value == "kill_switch" else AuditKind.SAFE_MODE
    return AuditRecord(
        ts=now,
        kind=kind,
        subject=state.name.value,
        actor=state.actor,
        detail={"on": state.on, "automatic": state.automatic, "reason": state.reason},
    )


def breaker_record(state: BreakerState, now: datetime, *, tripped: bool) -> AuditRecord:
    detail: dict[str, JsonValue] = {"reason": state.reason}
    if tripped and state.until is not None:
        detail["until"] = state.until.isoformat()
    return AuditRecord(
        ts=now,
        kind=AuditKind.BREAKER_TRIP if tripped else AuditKind.BREAKER_RESET,
        subject=state.name.value,
        detail=detail,
    )


def record(
    kind: AuditKind, subject: str, now: datetime, actor: str = "system", **detail: JsonValue
) -> AuditRecord:
    return AuditRecord(ts=now, kind=kind, subject=subject, actor=actor, detail=detail)
