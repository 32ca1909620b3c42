"""In-flight orders: reservations the broker has not acknowledged, and orders that died unfilled.

As NautilusTrader's live execution engine resolves its in-flight orders, a reservation older
than ``monitor.ack_timeout_seconds`` is looked up by its ``client_order_id``:

- found: the broker has it -> ``confirm`` (the execute function sent it and died before
  confirming, or the answer was lost);
- certainly absent (the broker answers "no such order"): it was never sent -> ``release``
  (its slot and exposure are given back);
- still unknown (the lookup itself failed): each failed lookup is audited
  (``broker_response``/``lookup_unknown``); after ``monitor.lookup_attempts`` of them the
  reservation is released and the operator alerted: should the order exist after all,
  reconciliation meets it as an order and a position the system does not know (safe mode).

A confirmed order that the broker canceled, rejected or expired without a fill is released too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from maxtrader.config.safety import Monitor
from maxtrader.domain.broker import BrokerOrder
from maxtrader.domain.clock import trading_date
from maxtrader.domain.errors import BrokerError
from maxtrader.domain.models import AuditKind
from maxtrader.domain.safety import audit
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.domain.safety.state import Ticket, TicketStatus

__all__ = [
    "ACTOR",
    "InFlight",
    "InFlightAction",
    "due_for_lookup",
    "lookup_failed",
    "release_if_dead",
    "settle_reservation",
]

ACTOR = "monitor"
LOOKUP_UNKNOWN = "lookup_unknown"


class InFlightAction(StrEnum):
    CONFIRMED = "confirmed"
    RELEASED_ABSENT = "released_absent"  # the broker has no such order
    RELEASED_UNKNOWN = "released_unknown"  # lookups kept failing: released with an alert
    RELEASED_DEAD = "released_dead"  # canceled, rejected or expired without a fill
    UNKNOWN = "unknown"  # this lookup failed; retried next run


@dataclass(frozen=True, slots=True)
class InFlight:
    client_order_id: str
    action: InFlightAction
    reason: str
    symbol: str

    @property
    def released(self) -> bool:
        return self.action.value.startswith("released")


def due_for_lookup(ticket: Ticket, now: datetime, config: Monitor) -> bool:
    """A reservation old enough that its sender has either sent it or never will."""
    age = now - ticket.reserved_at
    return ticket.status is TicketStatus.RESERVED and age >= timedelta(
        seconds=config.ack_timeout_seconds
    )


def settle_reservation(engine: SafetyEngine, ticket: Ticket, entry: BrokerOrder | None) -> InFlight:
    """The lookup answered: confirm what the broker holds, release what it does not."""
    coid = ticket.client_order_id
    if entry is not None:
        engine.confirm(coid, entry.broker_order_id, actor=ACTOR)
        return InFlight(coid, InFlightAction.CONFIRMED, f"found as {entry.broker_order_id}",
                        ticket.symbol)  # fmt: skip
    reason = "not at the broker after the acknowledgement timeout: never sent"
    engine.release(coid, reason, actor=ACTOR)
    return InFlight(coid, InFlightAction.RELEASED_ABSENT, reason, ticket.symbol)


def lookup_failed(
    engine: SafetyEngine, ticket: Ticket, error: BrokerError, now: datetime, config: Monitor
) -> InFlight:
    """Count this failed lookup (durably, in the audit log); release after the last one."""
    coid = ticket.client_order_id
    store = engine.store
    days = {trading_date(ticket.reserved_at), trading_date(now)}
    earlier = sum(
        1
        for day in sorted(days)
        for r in store.audit_log(day)
        if r.kind is AuditKind.BROKER_RESPONSE
        and r.subject == coid
        and r.detail.get("event") == LOOKUP_UNKNOWN
    )
    attempt = earlier + 1
    record = audit.record(
        AuditKind.BROKER_RESPONSE, coid, now, ACTOR, event=LOOKUP_UNKNOWN, attempt=attempt,
        error=f"{type(error).__name__}: {error}",
    )  # fmt: skip
    store.append_audit([record])
    if attempt < config.lookup_attempts:
        return InFlight(coid, InFlightAction.UNKNOWN, f"lookup {attempt} failed: {error}",
                        ticket.symbol)  # fmt: skip
    reason = f"the broker could not say after {attempt} lookups (last: {error})"
    engine.release(coid, reason, actor=ACTOR)
    return InFlight(coid, InFlightAction.RELEASED_UNKNOWN, reason, ticket.symbol)


def release_if_dead(engine: SafetyEngine, ticket: Ticket, entry: BrokerOrder) -> InFlight | None:
    """A confirmed entry the broker ended without a single fill gives its slot back."""
    if ticket.status is not TicketStatus.CONFIRMED or not entry.status.terminal:
        return None
    if entry.filled_qty:
        return None  # filled: apply_fills has made it OPEN (or will, next run)
    reason = f"the broker ended the order {entry.status.value} without a fill"
    engine.release(ticket.client_order_id, reason, actor=ACTOR)
    return InFlight(ticket.client_order_id, InFlightAction.RELEASED_DEAD, reason, ticket.symbol)
