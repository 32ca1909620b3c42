"""Ports: the protocols the core sees; adapters (layers/core/maxtrader/adapters) implement them.

``StateStore`` is the safety layer's durable state. Every method is atomic: it either applies all
of its effect or none. Errors are domain errors only:

- ``StateUnavailableError``: the store could not be read or written (throttling, timeout, an item
  of unexpected shape). The caller fails closed.
- ``StateConflictError``: a condition did not hold (a lost race, a stale version). Nothing was
  written; the caller re-reads and decides again.

Implementations: ``InMemoryStateStore`` (backtests, unit tests) and ``DynamoDBStateStore`` (live).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from maxtrader.domain.clock import Clock
from maxtrader.domain.models import AuditRecord
from maxtrader.domain.safety.state import (
    BreakerName,
    BreakerState,
    FillApplication,
    HealthState,
    PortfolioState,
    Reservation,
    Snapshot,
    SnapshotKeys,
    SwitchName,
    SwitchState,
    Ticket,
)

__all__ = ["Clock", "StateStore"]


class StateStore(Protocol):
    # --- reads (strongly consistent) -------------------------------------------------------
    def snapshot(self, keys: SnapshotKeys) -> Snapshot:
        """Everything an entry decision needs, in one consistent read."""
        ...

    def switch(self, name: SwitchName) -> SwitchState:
        """Kill switch or safe mode (absent = off, version 0)."""
        ...

    def breaker(self, name: BreakerName) -> BreakerState: ...

    def portfolio(self) -> PortfolioState: ...

    def ticket(self, client_order_id: str) -> Ticket | None: ...

    def open_tickets(self) -> list[Ticket]:
        """Tickets holding a slot (reserved, confirmed or open)."""
        ...

    def health(self) -> HealthState: ...

    def realized(self, period_key: str) -> float:
        """Realized P&L of a day (``2024-06-03``), ISO week (``2024-W23``), month (``2024-06``)."""
        ...

    def day_entries(self, day: str, strategy: str | None = None) -> int: ...

    def audit_log(self, day: str) -> list[AuditRecord]:
        """The audit records of a New York trading date, oldest first."""
        ...

    # --- writes (atomic, conditional) ------------------------------------------------------
    def reserve(self, reservation: Reservation) -> None:
        """Write an approved entry if every guard still holds, else raise StateConflictError."""
        ...

    def update_ticket(
        self,
        ticket: Ticket,
        expected_version: int,
        *,
        slot_delta: int = 0,
        exposure_delta: float = 0.0,
        audit: Sequence[AuditRecord] = (),
    ) -> None:
        """Replace a ticket at ``expected_version`` (confirm, release), adjusting the counters."""
        ...

    def apply_fill(self, application: FillApplication) -> bool:
        """Apply a fill; False when this fill id was already applied (nothing written)."""
        ...

    def put_switch(
        self, state: SwitchState, expected_version: int, audit: Sequence[AuditRecord] = ()
    ) -> None: ...

    def put_breaker(
        self, state: BreakerState, expected_version: int, audit: Sequence[AuditRecord] = ()
    ) -> None: ...

    def put_health(self, state: HealthState, expected_version: int) -> None: ...

    def update_marks(
        self,
        *,
        unrealized: float,
        marks: Mapping[str, float],
        equity: float,
        peak: float,
        reset_peak: bool = False,
    ) -> None:
        """Store the marks; ``peak`` only rises (a lower one raises StateConflictError) unless
        ``reset_peak`` (the operator's reset)."""
        ...

    def append_audit(self, records: Sequence[AuditRecord]) -> None: ...
