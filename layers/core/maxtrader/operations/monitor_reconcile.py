"""Reconciliation: the broker's positions and open orders against the stored tickets, both ways.

    reconcile(view) -> list[Drift]                     pure; drift exactly when the sides differ
    drift_record(drifts, now) -> AuditRecord           AuditKind.RECONCILIATION, both sides

Positions, per symbol (an equity or an OCC option symbol), signed (short < 0):
- ``unknown_position``: the broker holds it, no ticket does (opened by hand, as freqtrade's
  ``handle_onexchange_order`` catches);
- ``missing_position``: a ticket holds it, the broker does not (closed outside the system);
- ``quantity_mismatch``: both hold it, in different quantities.
The system's side is the open tickets' quantities plus what working exits have filled and not
yet been applied (monitor_fills ``pending_qty``). Symbols whose state moved during the run are
``deferred`` (the broker's positions differ between the run's first and last read; a
reservation still in flight; a ticket whose orders could not be read): compared next run, not
called drift on a race.

Orders:
- ``unknown_order``: an open broker order no live ticket accounts for (a hand-typed id, an entry
  whose ticket is released or closed, an exit of a position that is not open);
- ``missing_order``: a confirmed or open ticket whose entry the broker does not have;
- ``order_mismatch``: an order's fills do not fit its ticket (monitor_fills' anomalies).

Nothing here sends an order: the caller turns safe mode on, alerts and audits; the operator
decides (docs/monitor.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from pydantic import JsonValue

from maxtrader.domain.models import AuditKind, AuditRecord, Direction, OrderPurpose
from maxtrader.domain.models import parse_client_order_id as parse_coid
from maxtrader.domain.safety import audit
from maxtrader.domain.safety.state import Ticket, TicketStatus

__all__ = [
    "RECONCILIATION_ACTOR",
    "BrokerSideOrder",
    "Drift",
    "DriftKind",
    "ReconcileView",
    "drift_record",
    "reconcile",
]

RECONCILIATION_ACTOR = "monitor:reconciliation"


class DriftKind(StrEnum):
    UNKNOWN_POSITION = "unknown_position"
    MISSING_POSITION = "missing_position"
    QUANTITY_MISMATCH = "quantity_mismatch"
    UNKNOWN_ORDER = "unknown_order"
    MISSING_ORDER = "missing_order"
    ORDER_MISMATCH = "order_mismatch"  # an order's fills do not fit its ticket


@dataclass(frozen=True, slots=True)
class BrokerSideOrder:
    """A top-level open order at the broker (a bracket's legs travel with their parent)."""

    client_order_id: str
    broker_order_id: str
    symbol: str
    qty: int


@dataclass(frozen=True, slots=True)
class Drift:
    kind: DriftKind
    subject: str  # the symbol, or the order's client_order_id
    broker: JsonValue  # the broker's side (a quantity, an order) or None
    system: JsonValue  # the system's side (a quantity, the tickets) or None

    def line(self) -> str:
        return f"{self.kind.value} {self.subject}: broker {self.broker}, system {self.system}"

    def detail(self) -> dict[str, JsonValue]:
        return {
            "kind": self.kind.value,
            "subject": self.subject,
            "broker": self.broker,
            "system": self.system,
        }


@dataclass(frozen=True, slots=True)
class ReconcileView:
    """Both sides as one run saw them."""

    broker_positions: Mapping[str, int]  # symbol -> signed quantity (no zero entries)
    broker_orders: Sequence[BrokerSideOrder]
    tickets: Sequence[Ticket]  # every live ticket (reserved, confirmed, open)
    known_tickets: Mapping[str, Ticket] = field(default_factory=dict)  # any status, by coid
    pending: Mapping[str, int] = field(default_factory=dict)  # symbol -> signed unapplied units
    missing_entries: Sequence[Ticket] = ()  # confirmed/open tickets whose entry is not found
    deferred: frozenset[str] = frozenset()  # symbols not compared this run
    mismatches: Mapping[str, str] = field(default_factory=dict)  # coid -> what does not fit


def system_positions(view: ReconcileView) -> dict[str, int]:
    held: dict[str, int] = {}
    for t in view.tickets:
        if t.qty:
            held[t.symbol] = held.get(t.symbol, 0) + _signed(t)
    for symbol, units in view.pending.items():
        held[symbol] = held.get(symbol, 0) + units
    return {s: q for s, q in held.items() if q}


def reconcile(view: ReconcileView) -> list[Drift]:
    drifts: list[Drift] = []
    system = system_positions(view)
    for symbol in sorted(set(system) | set(view.broker_positions)):
        if symbol in view.deferred:
            continue
        ours, theirs = system.get(symbol, 0), view.broker_positions.get(symbol, 0)
        if ours == theirs:
            continue
        kind = (
            DriftKind.UNKNOWN_POSITION
            if not ours
            else DriftKind.MISSING_POSITION
            if not theirs
            else DriftKind.QUANTITY_MISMATCH
        )
        tickets: list[JsonValue] = [_ticket_view(t) for t in view.tickets if t.symbol == symbol]
        drifts.append(Drift(kind, symbol, theirs, {"qty": ours, "tickets": tickets}))
    live = {t.client_order_id: t for t in view.tickets}
    for order in view.broker_orders:
        if order.symbol in view.deferred or _accounted(order, live, view.known_tickets):
            continue
        drifts.append(
            Drift(DriftKind.UNKNOWN_ORDER, order.client_order_id, _order_view(order), None)
        )
    for t in view.missing_entries:
        drifts.append(Drift(DriftKind.MISSING_ORDER, t.client_order_id, None, _ticket_view(t)))
    for coid, problem in sorted(view.mismatches.items()):
        drifts.append(Drift(DriftKind.ORDER_MISMATCH, coid, problem, None))
    return drifts


def drift_record(drifts: Sequence[Drift], now: datetime, actor: str) -> AuditRecord:
    found: list[JsonValue] = [d.detail() for d in drifts]
    return audit.record(AuditKind.RECONCILIATION, "reconciliation", now, actor, drift=found)


def _accounted(
    order: BrokerSideOrder, live: Mapping[str, Ticket], known: Mapping[str, Ticket]
) -> bool:
    """An open order some live ticket sent: its entry, or an exit of its open position."""
    ref = parse_coid(order.client_order_id)
    if ref is None:
        return False
    if ref.purpose is OrderPurpose.ENTRY:
        ticket = live.get(order.client_order_id) or known.get(order.client_order_id)
        return ticket is not None and ticket.status.holds_slot
    for ticket in (*live.values(), *known.values()):
        if ticket.signal_id == ref.signal_id:
            return ticket.status is TicketStatus.OPEN
    return False


def _signed(ticket: Ticket) -> int:
    return ticket.qty if ticket.direction is Direction.LONG else -ticket.qty


def _ticket_view(ticket: Ticket) -> dict[str, JsonValue]:
    return {
        "client_order_id": ticket.client_order_id,
        "status": ticket.status.value,
        "qty": _signed(ticket),
        "broker_order_id": ticket.broker_order_id,
    }


def _order_view(order: BrokerSideOrder) -> dict[str, JsonValue]:
    return {
        "broker_order_id": order.broker_order_id,
        "symbol": order.symbol,
        "qty": order.qty,
    }
