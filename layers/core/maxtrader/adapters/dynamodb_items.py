"""DynamoDB attribute values <-> the safety state values (the item layout of state_schema.py).

Instants are integer epoch microseconds (exact, and comparable in condition expressions); money is
a DynamoDB number written from the float's shortest repr. Decoding an item of unexpected shape
raises ``ItemShapeError``; the store turns it into ``StateUnavailableError``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from maxtrader.domain.models import AuditKind, AuditRecord, Direction, Instrument
from maxtrader.domain.safety.state import (
    BreakerName,
    BreakerState,
    HealthState,
    PortfolioState,
    SwitchName,
    SwitchState,
    Ticket,
    TicketStatus,
)

Item = dict[str, Any]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


class ItemShapeError(ValueError):
    """A stored item does not have the shape this code writes."""


# --- attribute values ------------------------------------------------------------------------
def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: float | int) -> dict[str, str]:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value} is not a storable number")
    return {"N": repr(value) if isinstance(value, float) else str(value)}


def b(value: bool) -> dict[str, bool]:
    return {"BOOL": value}


def micros(ts: datetime) -> int:
    return (ts - _EPOCH) // _US


def ts_value(ts: datetime) -> dict[str, str]:
    return n(micros(ts))


def ttl(ts: datetime, days: int) -> dict[str, str]:
    return n(int((ts + timedelta(days=days)).timestamp()))


def key(pk: str, sk: str) -> dict[str, dict[str, str]]:
    return {"pk": s(pk), "sk": s(sk)}


# --- readers -----------------------------------------------------------------------------------
def _get(item: Mapping[str, Any], name: str, kind: str) -> Any:
    try:
        return item[name][kind]
    except (KeyError, TypeError) as exc:
        raise ItemShapeError(
            f"item {_where(item)}: attribute {name!r} is not of type {kind}"
        ) from exc


def _opt(item: Mapping[str, Any], name: str, kind: str) -> Any:
    return _get(item, name, kind) if name in item else None


def num(item: Mapping[str, Any], name: str, default: float = 0.0) -> float:
    raw = _opt(item, name, "N")
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ItemShapeError(f"item {_where(item)}: {name!r} is not a number") from exc


def integer(item: Mapping[str, Any], name: str, default: int = 0) -> int:
    raw = _opt(item, name, "N")
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ItemShapeError(f"item {_where(item)}: {name!r} is not an integer") from exc


def text(item: Mapping[str, Any], name: str, default: str = "") -> str:
    raw = _opt(item, name, "S")
    return default if raw is None else str(raw)


def flag(item: Mapping[str, Any], name: str) -> bool:
    raw = _opt(item, name, "BOOL")
    return bool(raw)


def instant(item: Mapping[str, Any], name: str) -> datetime | None:
    raw = _opt(item, name, "N")
    if raw is None:
        return None
    try:
        return _EPOCH + int(raw) * _US
    except (ValueError, OverflowError) as exc:
        raise ItemShapeError(f"item {_where(item)}: {name!r} is not an instant") from exc


def _where(item: Mapping[str, Any]) -> str:
    try:
        return f"{item['pk']['S']}/{item['sk']['S']}"
    except (KeyError, TypeError):
        return "<no key>"


# --- state values ----------------------------------------------------------------------------
def switch_item(state: SwitchState) -> Item:
    item: Item = {
        "on": b(state.on),
        "automatic": b(state.automatic),
        "actor": s(state.actor),
        "reason": s(state.reason),
        "version": n(state.version),
    }
    if state.changed_at is not None:
        item["changed_at"] = ts_value(state.changed_at)
    return item


def switch_state(name: SwitchName, item: Mapping[str, Any] | None) -> SwitchState:
    if not item:
        return SwitchState(name=name)
    return SwitchState(
        name=name,
        on=flag(item, "on"),
        automatic=flag(item, "automatic"),
        actor=text(item, "actor", "system") or "system",
        reason=text(item, "reason"),
        changed_at=instant(item, "changed_at"),
        version=integer(item, "version"),
    )


def breaker_item(state: BreakerState) -> Item:
    item: Item = {
        "reason": s(state.reason),
        "events": {"L": [ts_value(e) for e in state.events]},
        "version": n(state.version),
    }
    if state.until is not None:
        item["until"] = ts_value(state.until)
    if state.tripped_at is not None:
        item["tripped_at"] = ts_value(state.tripped_at)
    return item


def breaker_state(name: BreakerName, item: Mapping[str, Any] | None) -> BreakerState:
    if not item:
        return BreakerState(name=name)
    raw_events = _opt(item, "events", "L") or []
    try:
        events = tuple(_EPOCH + int(e["N"]) * _US for e in raw_events)
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise ItemShapeError(f"item {_where(item)}: malformed events") from exc
    return BreakerState(
        name=name,
        until=instant(item, "until"),
        tripped_at=instant(item, "tripped_at"),
        reason=text(item, "reason"),
        events=events,
        version=integer(item, "version"),
    )


def portfolio_state(item: Mapping[str, Any] | None) -> PortfolioState:
    if not item:
        return PortfolioState()
    raw_marks = _opt(item, "marks", "M") or {}
    try:
        marks = {sym: float(v["N"]) for sym, v in raw_marks.items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise ItemShapeError(f"item {_where(item)}: malformed marks") from exc
    peak = num(item, "peak", -1.0)
    equity = num(item, "equity", -1.0)
    return PortfolioState(
        slots=integer(item, "slots"),
        exposure=num(item, "exposure"),
        last_entry_at=instant(item, "last_entry_at"),
        unrealized=num(item, "unrealized"),
        peak_equity=peak if peak > 0 else None,
        equity=equity if equity > 0 else None,
        marks=marks,
    )


def health_state(item: Mapping[str, Any] | None) -> HealthState:
    if not item:
        return HealthState()
    return HealthState(
        broker_failures=integer(item, "broker_failures"),
        checked_at=instant(item, "checked_at"),
        version=integer(item, "version"),
    )


def health_item(state: HealthState) -> Item:
    item: Item = {"broker_failures": n(state.broker_failures), "version": n(state.version)}
    if state.checked_at is not None:
        item["checked_at"] = ts_value(state.checked_at)
    return item


_TICKET_TEXT = ("signal_id", "strategy", "symbol", "underlying")


def ticket_item(t: Ticket) -> Item:
    item: Item = {
        "client_order_id": s(t.client_order_id),
        **{name: s(getattr(t, name)) for name in _TICKET_TEXT},
        "instrument": s(t.instrument.value),
        "direction": s(t.direction.value),
        "status": s(t.status.value),
        "reserved_qty": n(t.reserved_qty),
        "max_loss": n(t.max_loss),
        "reserved_at": ts_value(t.reserved_at),
        "qty": n(t.qty),
        "avg_price": n(t.avg_price),
        "realized": n(t.realized),
        "version": n(t.version),
    }
    for name in ("stop", "target"):
        value = getattr(t, name)
        if value is not None:
            item[name] = n(value)
    if t.broker_order_id is not None:
        item["broker_order_id"] = s(t.broker_order_id)
    for name in ("opened_at", "closed_at"):
        value = getattr(t, name)
        if value is not None:
            item[name] = ts_value(value)
    return item


def ticket(item: Mapping[str, Any]) -> Ticket:
    try:
        reserved_at = instant(item, "reserved_at")
        if reserved_at is None:
            raise ItemShapeError(f"item {_where(item)}: no reserved_at")
        stop, target = (num(item, k, -1.0) for k in ("stop", "target"))
        return Ticket(
            client_order_id=_get(item, "client_order_id", "S"),
            signal_id=_get(item, "signal_id", "S"),
            strategy=_get(item, "strategy", "S"),
            symbol=_get(item, "symbol", "S"),
            underlying=_get(item, "underlying", "S"),
            instrument=Instrument(_get(item, "instrument", "S")),
            direction=Direction(_get(item, "direction", "S")),
            status=TicketStatus(_get(item, "status", "S")),
            reserved_qty=integer(item, "reserved_qty"),
            max_loss=num(item, "max_loss"),
            reserved_at=reserved_at,
            qty=integer(item, "qty"),
            avg_price=num(item, "avg_price"),
            realized=num(item, "realized"),
            stop=stop if stop > 0 else None,
            target=target if target > 0 else None,
            broker_order_id=text(item, "broker_order_id") or None,
            opened_at=instant(item, "opened_at"),
            closed_at=instant(item, "closed_at"),
            version=integer(item, "version", 1),
        )
    except ValueError as exc:  # bad enum values included
        raise ItemShapeError(f"item {_where(item)}: {exc}") from exc


def audit_item(record: AuditRecord) -> Item:
    return {
        "ts": ts_value(record.ts),
        "kind": s(record.kind.value),
        "subject": s(record.subject),
        "actor": s(record.actor),
        "detail": s(json.dumps(record.detail, separators=(",", ":"), sort_keys=True)),
    }


def audit_record(item: Mapping[str, Any]) -> AuditRecord:
    try:
        when = instant(item, "ts")
        return AuditRecord(
            ts=when,  # None is rejected by validation
            kind=AuditKind(_get(item, "kind", "S")),
            subject=_get(item, "subject", "S"),
            actor=_get(item, "actor", "S"),
            detail=json.loads(_get(item, "detail", "S")),
        )
    except ValueError as exc:  # pydantic's ValidationError and JSONDecodeError are ValueErrors
        raise ItemShapeError(f"audit item {_where(item)}: {exc}") from exc
