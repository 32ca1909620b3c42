"""In-memory ``StateStore``: backtests and unit tests. Same semantics as the DynamoDB store.

One lock makes every operation atomic, and every guard the DynamoDB transaction re-checks is
re-checked here, so a backtest rejects exactly what live would. ``fail_next`` injects a store
fault for tests.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace

from maxtrader.domain.clock import trading_date
from maxtrader.domain.errors import StateUnavailableError
from maxtrader.domain.models import AuditRecord
from maxtrader.domain.safety.state import (
    BreakerName,
    BreakerState,
    ControlState,
    FillApplication,
    HealthState,
    HighWaterMark,
    PortfolioState,
    Reservation,
    Snapshot,
    SnapshotKeys,
    StateConflictError,
    SwitchName,
    SwitchState,
    Ticket,
    exposure_cents,
)


class InMemoryStateStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._switches = {n: SwitchState(name=n) for n in SwitchName}
        self._breakers = {n: BreakerState(name=n) for n in BreakerName}
        self._portfolio = PortfolioState()
        self._entries: dict[tuple[str, str | None], int] = defaultdict(int)
        self._realized: dict[str, float] = defaultdict(float)
        self._signals: set[str] = set()
        self._tickets: dict[str, Ticket] = {}
        self._holding: dict[str, Ticket] = {}  # the open ones: a backtest marks them every bar
        self._fills: set[str] = set()
        self._health = HealthState()
        self._start_equity: dict[str, float] = {}
        self._high_water = HighWaterMark()
        self._refused: dict[str, str] = {}
        self._audit: dict[str, list[AuditRecord]] = defaultdict(list)
        self._faults: list[tuple[str | None, Exception]] = []

    def fail_next(self, error: Exception, *, operation: str | None = None, times: int = 1) -> None:
        """Fault injection for tests: the next ``times`` calls of ``operation`` (a method name;
        None: any operation) raise ``error`` before touching anything."""
        self._faults.extend([(operation, error)] * times)

    def _fault(self, operation: str) -> None:
        for i, (wanted, error) in enumerate(self._faults):
            if wanted is None or wanted == operation:
                del self._faults[i]
                raise error

    # --- reads -------------------------------------------------------------------------------
    def snapshot(self, keys: SnapshotKeys) -> Snapshot:
        with self._lock:
            self._fault("snapshot")
            return Snapshot(
                kill_switch=self._switches[SwitchName.KILL_SWITCH],
                safe_mode=self._switches[SwitchName.SAFE_MODE],
                breakers=tuple(self._breakers.values()),
                portfolio=self._portfolio,
                day_entries=self._entries[(keys.day, None)],
                strategy_entries=self._entries[(keys.day, keys.strategy)],
                day_realized=self._realized[keys.day],
                week_realized=self._realized[keys.week],
                month_realized=self._realized[keys.month],
                signal_seen=keys.signal_id in self._signals,
                start_of_day_equity=self._start_equity.get(keys.day),
                high_water=self._high_water,
            )

    def control_state(self, day: str) -> ControlState:
        with self._lock:
            if self._faults:
                self._fault("control_state")
            return ControlState(
                day=day,
                kill_switch=self._switches[SwitchName.KILL_SWITCH],
                safe_mode=self._switches[SwitchName.SAFE_MODE],
                breakers=tuple(self._breakers.values()),
                portfolio=self._portfolio,
                refused_marks=dict(self._refused),
                high_water=self._high_water,
                health=self._health,
                day_realized=self._realized.get(day, 0.0),
                start_of_day_equity=self._start_equity.get(day),
            )

    def switch(self, name: SwitchName) -> SwitchState:
        with self._lock:
            self._fault("switch")
            return self._switches[name]

    def breaker(self, name: BreakerName) -> BreakerState:
        with self._lock:
            if self._faults:
                self._fault("breaker")
            return self._breakers[name]

    def portfolio(self) -> PortfolioState:
        with self._lock:
            if self._faults:
                self._fault("portfolio")
            return self._portfolio

    def ticket(self, client_order_id: str) -> Ticket | None:
        with self._lock:
            self._fault("ticket")
            return self._tickets.get(client_order_id)

    def open_tickets(self) -> list[Ticket]:
        with self._lock:
            if self._faults:
                self._fault("open_tickets")
            return list(self._holding.values())

    def health(self) -> HealthState:
        with self._lock:
            self._fault("health")
            return self._health

    def realized(self, period_key: str) -> float:
        with self._lock:
            return self._realized.get(period_key, 0.0)

    def day_entries(self, day: str, strategy: str | None = None) -> int:
        with self._lock:
            return self._entries.get((day, strategy), 0)

    def audit_log(self, day: str) -> list[AuditRecord]:
        with self._lock:
            return list(self._audit.get(day, []))

    def fill_applied(self, fill_id: str) -> bool:
        with self._lock:
            self._fault("fill_applied")
            return fill_id in self._fills

    def start_of_day_equity(self, day: str) -> float | None:
        with self._lock:
            self._fault("start_of_day_equity")
            return self._start_equity.get(day)

    def high_water_mark(self) -> HighWaterMark:
        with self._lock:
            if self._faults:
                self._fault("high_water_mark")
            return self._high_water

    def refused_marks(self) -> dict[str, str]:
        with self._lock:
            self._fault("refused_marks")
            return dict(self._refused)

    # --- writes ------------------------------------------------------------------------------
    def reserve(self, reservation: Reservation) -> None:
        r, g, k = reservation, reservation.guards, reservation.keys
        with self._lock:
            self._fault("reserve")
            p = self._portfolio
            failed = [
                name
                for name, bad in (
                    ("kill_switch", self._switches[SwitchName.KILL_SWITCH].on),
                    ("safe_mode", self._switches[SwitchName.SAFE_MODE].on),
                    ("circuit_breaker", any(b.paused(g.now) for b in self._breakers.values())),
                    ("drawdown_stop", self._high_water.halted),
                    ("concurrent_positions", p.slots >= g.max_slots),
                    ("total_exposure", p.exposure > g.exposure_cap),
                    (
                        "trade_frequency",
                        p.last_entry_at is not None and p.last_entry_at > g.last_entry_cutoff,
                    ),
                    ("daily_trades", self._entries[(k.day, None)] >= g.max_day_entries),
                    (
                        "strategy_daily_trades",
                        self._entries[(k.day, k.strategy)] >= g.max_strategy_entries,
                    ),
                    ("duplicate_signal", k.signal_id in self._signals),
                    ("duplicate_order", r.ticket.client_order_id in self._tickets),
                )
                if bad
            ]
            if failed:
                raise StateConflictError("reservation guards failed", tuple(failed))
            self._portfolio = replace(
                p,
                slots=p.slots + 1,
                exposure=exposure_cents(p.exposure + exposure_cents(r.ticket.max_loss)),
                last_entry_at=g.now,
            )
            self._entries[(k.day, None)] += 1
            self._entries[(k.day, k.strategy)] += 1
            self._signals.add(k.signal_id)
            self._put_ticket(r.ticket)
            self._append(r.audit)

    def update_ticket(
        self,
        ticket: Ticket,
        expected_version: int,
        *,
        slot_delta: int = 0,
        exposure_delta: float = 0.0,
        audit: Sequence[AuditRecord] = (),
    ) -> None:
        with self._lock:
            self._fault("update_ticket")
            self._check_ticket(ticket.client_order_id, expected_version)
            self._put_ticket(ticket)
            self._bump(slot_delta, exposure_delta, 0.0)
            self._append(audit)

    def apply_fill(self, application: FillApplication) -> bool:
        a = application
        with self._lock:
            self._fault("apply_fill")
            if a.fill_id in self._fills:
                return False
            self._check_ticket(a.ticket.client_order_id, a.expected_version)
            self._fills.add(a.fill_id)
            self._put_ticket(a.ticket)
            for key in (a.day, a.week, a.month):
                self._realized[key] += a.realized
            self._bump(a.slot_delta, a.exposure_delta, a.unrealized_delta)
            if a.loss_at is not None:
                b = self._breakers[BreakerName.RAPID_LOSS]
                self._breakers[b.name] = replace(
                    b, events=(*b.events, a.loss_at), version=b.version + 1
                )
            self._append(a.audit)
            return True

    def put_switch(
        self, state: SwitchState, expected_version: int, audit: Sequence[AuditRecord] = ()
    ) -> None:
        with self._lock:
            self._fault("put_switch")
            if self._switches[state.name].version != expected_version:
                raise StateConflictError(f"{state.name.value} changed")
            self._switches[state.name] = state
            self._append(audit)

    def put_breaker(
        self, state: BreakerState, expected_version: int, audit: Sequence[AuditRecord] = ()
    ) -> None:
        with self._lock:
            self._fault("put_breaker")
            if self._breakers[state.name].version != expected_version:
                raise StateConflictError(f"breaker {state.name.value} changed")
            self._breakers[state.name] = state
            self._append(audit)

    def put_health(self, state: HealthState, expected_version: int) -> None:
        with self._lock:
            self._fault("put_health")
            if self._health.version != expected_version:
                raise StateConflictError("health state changed")
            self._health = state

    def put_start_of_day_equity(
        self, day: str, equity: float, audit: Sequence[AuditRecord] = ()
    ) -> bool:
        with self._lock:
            self._fault("put_start_of_day_equity")
            stored = self._start_equity.get(day)
            if stored == equity:
                return False
            if stored is not None:
                raise StateConflictError(f"start-of-day equity of {day} is already {stored}")
            self._start_equity[day] = equity
            self._append(audit)
            return True

    def put_high_water_mark(
        self, state: HighWaterMark, expected_version: int, audit: Sequence[AuditRecord] = ()
    ) -> None:
        with self._lock:
            if self._faults:
                self._fault("put_high_water_mark")
            if self._high_water.version != expected_version:
                raise StateConflictError("high-water mark changed")
            self._high_water = state
            self._append(audit)

    def update_marks(
        self,
        *,
        unrealized: float,
        marks: Mapping[str, float],
        equity: float,
        peak: float,
        reset_peak: bool = False,
        refused: Mapping[str, str] | None = None,
    ) -> None:
        with self._lock:
            if self._faults:
                self._fault("update_marks")
            p = self._portfolio
            if not reset_peak and p.peak_equity is not None and peak < p.peak_equity:
                raise StateConflictError("peak equity rose meanwhile")
            # Every field spelled out: what dataclasses.replace builds, without its introspection
            # (this runs every minute a backtest holds a position).
            self._portfolio = PortfolioState(
                slots=p.slots,
                exposure=p.exposure,
                last_entry_at=p.last_entry_at,
                unrealized=unrealized,
                peak_equity=peak,
                equity=equity,
                marks=dict(marks),
            )
            if refused is not None and (refused or self._refused):
                self._refused = dict(refused)

    def append_audit(self, records: Sequence[AuditRecord]) -> None:
        with self._lock:
            self._fault("append_audit")
            self._append(records)

    # --- helpers (lock held) -----------------------------------------------------------------
    def _check_ticket(self, client_order_id: str, expected_version: int) -> None:
        current = self._tickets.get(client_order_id)
        if current is None or current.version != expected_version:
            raise StateConflictError(f"ticket {client_order_id} changed")

    def _put_ticket(self, ticket: Ticket) -> None:
        self._tickets[ticket.client_order_id] = ticket
        if ticket.status.holds_slot:
            self._holding[ticket.client_order_id] = ticket
        else:
            self._holding.pop(ticket.client_order_id, None)

    def _bump(self, slots: int, exposure: float, unrealized: float) -> None:
        if slots or exposure or unrealized:
            p = self._portfolio
            self._portfolio = replace(
                p,
                slots=p.slots + slots,
                exposure=exposure_cents(p.exposure + exposure_cents(exposure)),
                unrealized=p.unrealized + unrealized,
            )

    def _append(self, records: Sequence[AuditRecord]) -> None:
        for rec in records:
            self._audit[trading_date(rec.ts)].append(rec)


__all__ = ["InMemoryStateStore", "StateUnavailableError"]
