"""DynamoDB items <-> the safety state values (the item layout of state_schema.py).

Fail closed: an ABSENT item is the legitimate state of a fresh table (a switch off, a breaker
never tripped, no entries yet, version 0); a PRESENT item must carry every attribute its writers
always write, each in range (no negative counter or exposure, a peak or equity > 0, instants in
plausible years, known strategies and enum values). Anything else raises ``ItemShapeError``,
which the store turns into ``StateUnavailableError``: never a default that loosens a limit.
Attribute values and their strict readers are in dynamodb_values.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from maxtrader.adapters.dynamodb_values import (
    Item,
    ItemShapeError,
    b,
    bad,
    instant,
    instant_list,
    key,
    micros,
    n,
    opt_instant,
    opt_num,
    opt_text,
    raw,
    req_flag,
    req_instant,
    req_int,
    req_num,
    req_text,
    s,
    ts_value,
    ttl,
    where,
)
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
from maxtrader.domain.strategy_names import KNOWN_STRATEGIES

__all__ = [
    "Item",
    "ItemShapeError",
    "b",
    "instant",
    "key",
    "micros",
    "n",
    "s",
    "ts_value",
    "ttl",
]

# Exposure is a sum of float deltas: a release can leave a rounding crumb below zero. Anything
# further below is corruption (a negative exposure would make room past the cap).
EXPOSURE_ROUNDING = 1e-6


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
    if item is None:
        return SwitchState(name=name)  # never set: off, version 0
    return SwitchState(
        name=name,
        on=req_flag(item, "on"),
        automatic=req_flag(item, "automatic"),
        actor=req_text(item, "actor", non_empty=True),
        reason=req_text(item, "reason"),
        changed_at=opt_instant(item, "changed_at"),
        version=req_int(item, "version", minimum=1),
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
    if item is None:
        return BreakerState(name=name)
    # A losing fill creates the rapid-loss item with its events and version only: no reason yet.
    return BreakerState(
        name=name,
        until=opt_instant(item, "until"),
        tripped_at=opt_instant(item, "tripped_at"),
        reason=opt_text(item, "reason") or "",
        events=instant_list(item, "events"),
        version=req_int(item, "version", minimum=1),
    )


def portfolio_state(item: Mapping[str, Any] | None) -> PortfolioState:
    if item is None:
        return PortfolioState()
    exposure = req_num(item, "exposure", minimum=-EXPOSURE_ROUNDING)
    return PortfolioState(
        slots=req_int(item, "slots"),
        exposure=max(exposure, 0.0),
        last_entry_at=opt_instant(item, "last_entry_at"),
        unrealized=opt_num(item, "unrealized") or 0.0,  # absent until the first fill
        peak_equity=opt_num(item, "peak", positive=True),
        equity=opt_num(item, "equity", positive=True),
        marks=_marks(item),
    )


def _marks(item: Mapping[str, Any]) -> dict[str, float]:
    stored: dict[str, Any] = raw(item, "marks", "M", required=False) or {}
    marks = {}
    for symbol, value in stored.items():
        try:
            marks[symbol] = req_num({symbol: value}, symbol, positive=True)
        except ItemShapeError as exc:
            problem = str(exc).split(": ", 1)[-1]  # "attribute 'SPY' ...", without "<no key>"
            raise bad(item, "marks", f"holds a bad mark: {problem}") from None
    return marks


def entries(item: Mapping[str, Any] | None) -> int:
    """A day's entry counter (all strategies or one): absent is a fresh day, 0."""
    return 0 if item is None else req_int(item, "entries")


def realized(item: Mapping[str, Any] | None) -> float:
    """A period's realized P&L: absent is a period without a close yet, 0."""
    return 0.0 if item is None else req_num(item, "realized")


def health_state(item: Mapping[str, Any] | None) -> HealthState:
    if item is None:
        return HealthState()
    return HealthState(
        broker_failures=req_int(item, "broker_failures"),
        checked_at=opt_instant(item, "checked_at"),
        version=req_int(item, "version", minimum=1),
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
    strategy = req_text(item, "strategy")
    if strategy not in KNOWN_STRATEGIES:
        raise bad(item, "strategy", f"is not a known strategy: {strategy!r:.40}")
    broker_order_id = opt_text(item, "broker_order_id")
    if broker_order_id is not None and not broker_order_id.strip():
        raise bad(item, "broker_order_id", "is empty")
    return Ticket(
        client_order_id=req_text(item, "client_order_id", non_empty=True),
        signal_id=req_text(item, "signal_id", non_empty=True),
        strategy=strategy,
        symbol=req_text(item, "symbol", non_empty=True),
        underlying=req_text(item, "underlying", non_empty=True),
        instrument=_enum(item, "instrument", Instrument),
        direction=_enum(item, "direction", Direction),
        status=_enum(item, "status", TicketStatus),
        reserved_qty=req_int(item, "reserved_qty", minimum=1),
        max_loss=req_num(item, "max_loss", minimum=0.0),
        reserved_at=req_instant(item, "reserved_at"),
        qty=req_int(item, "qty"),
        avg_price=req_num(item, "avg_price", minimum=0.0),
        realized=req_num(item, "realized"),
        stop=opt_num(item, "stop", positive=True),
        target=opt_num(item, "target", positive=True),
        broker_order_id=broker_order_id,
        opened_at=opt_instant(item, "opened_at"),
        closed_at=opt_instant(item, "closed_at"),
        version=req_int(item, "version", minimum=1),
    )


_E = TypeVar("_E", Instrument, Direction, TicketStatus)


def _enum(item: Mapping[str, Any], name: str, kind: type[_E]) -> _E:
    value = req_text(item, name)
    try:
        return kind(value)
    except ValueError:
        raise bad(item, name, f"is not a {kind.__name__}: {value!r:.40}") from None


def audit_item(record: AuditRecord) -> Item:
    return {
        "ts": ts_value(record.ts),
        "kind": s(record.kind.value),
        "subject": s(record.subject),
        "actor": s(record.actor),
        "detail": s(json.dumps(record.detail, separators=(",", ":"), sort_keys=True)),
    }


def audit_record(item: Mapping[str, Any]) -> AuditRecord:
    when = req_instant(item, "ts")
    text = req_text(item, "detail")
    try:
        detail = json.loads(text)
        return AuditRecord(
            ts=when,
            kind=AuditKind(req_text(item, "kind")),
            subject=req_text(item, "subject"),
            actor=req_text(item, "actor"),
            detail=detail,
        )
    except ValueError as exc:  # pydantic's ValidationError and JSONDecodeError are ValueErrors
        raise ItemShapeError(f"audit item {where(item)}: {exc}") from exc
