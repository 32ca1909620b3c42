"""Builders of the audit records the engine appends (one place for their shapes)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import JsonValue

from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import (
    AuditKind,
    AuditRecord,
    CheckResult,
    Fill,
    OrderIntent,
    Verdict,
)
from maxtrader.domain.safety.state import BreakerState, SwitchState, Ticket

if TYPE_CHECKING:
    from maxtrader.domain.safety.accounting import FillEffect


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


def fill_record(fill: Fill, effect: FillEffect, ticket: Ticket) -> AuditRecord:
    return record(
        AuditKind.FILL,
        fill.fill_id,
        fill.ts,
        "broker",
        client_order_id=fill.client_order_id,
        ticket=ticket.client_order_id,
        symbol=fill.symbol,
        side=fill.side.value,
        qty=fill.qty,
        price=fill.price,
        fee=fill.fee,
        realized=effect.realized,
        position_qty=effect.ticket.qty,
    )


def breach_record(fill: Fill, effect: FillEffect, now: datetime) -> AuditRecord:
    """A fill took more risk than reserved: the figures, and the exposure it now holds."""
    breach = effect.breach
    if breach is None:
        raise InvalidInputError("breach_record needs a fill effect with a breach")
    return record(
        AuditKind.RISK_BREACH,
        effect.ticket.client_order_id,
        now,
        fill_id=fill.fill_id,
        reserved_qty=breach.reserved_qty,
        held_qty=breach.held_qty,
        reserved_max_loss=breach.reserved_max_loss,
        held_risk=breach.held_risk,
        exposure_delta=effect.exposure_delta,
    )


def switch_record(
    state: SwitchState, now: datetime, before: SwitchState | None = None
) -> AuditRecord:
    """A switch change: the state after it, and (``before``) the state it replaced."""
    kind = AuditKind.KILL_SWITCH if state.name.value == "kill_switch" else AuditKind.SAFE_MODE
    detail: dict[str, JsonValue] = {
        "on": state.on,
        "automatic": state.automatic,
        "reason": state.reason,
    }
    if before is not None:
        detail["before"] = {
            "on": before.on,
            "automatic": before.automatic,
            "actor": before.actor,
            "reason": before.reason,
            "changed_at": before.changed_at.isoformat() if before.changed_at else None,
        }
    return AuditRecord(
        ts=now, kind=kind, subject=state.name.value, actor=state.actor, detail=detail
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
