"""Durable switches and breakers: kill switch, safe mode, the three breakers, health, marks.

``Controls`` owns every read-modify-write of those small items: it re-reads and retries on a
version conflict, appends the audit record in the same write, and collects the events (trip,
reset, kill switch, safe mode, health failure) the caller turns into alerts and metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar

from pydantic import JsonValue

from maxtrader.config.safety import SafetyConfig
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import Clock
from maxtrader.domain.errors import InvalidInputError, StateUnavailableError
from maxtrader.domain.models import AuditKind, AuditRecord
from maxtrader.domain.ports import StateStore
from maxtrader.domain.safety import audit, breakers, health, marks_collar
from maxtrader.domain.safety.state import (
    BreakerName,
    BreakerState,
    HighWaterMark,
    StateConflictError,
    SwitchName,
    SwitchState,
)

T = TypeVar("T")
_INF = float("inf")


@dataclass(frozen=True, slots=True)
class MarkReport:
    unrealized: float
    equity: float
    peak: float
    drawdown: float
    tripped: bool
    refused: Mapping[str, str] = field(default_factory=dict)  # symbol -> why its mark was refused
    high_water: float | None = None
    halted: bool = False  # the high-water-mark drawdown stop holds entries


def retrying(attempts: int, action: Callable[[], T]) -> T:
    """Run ``action`` again after a StateConflictError (it re-reads); give up as unavailable."""
    for _ in range(attempts):
        try:
            return action()
        except StateConflictError:
            continue
    raise StateUnavailableError(f"state kept changing underneath ({attempts} attempts)")


class Controls:
    def __init__(
        self,
        config: SafetyConfig,
        store: StateStore,
        clock: Clock,
        calendar: MarketCalendar | None,
        attempts: int,
    ) -> None:
        self._config = config
        self._store = store
        self._clock = clock
        self._calendar = calendar
        self._attempts = attempts
        self.events: list[AuditRecord] = []

    def audit_best_effort(self, records: list[AuditRecord]) -> None:
        """Audit that must not block: an exit, or a rejection caused by the store itself."""
        try:
            self._store.append_audit(records)
        except StateUnavailableError as exc:
            # The store is down: hand the records to the caller (logs, alerts) instead.
            self.events.extend(
                r.model_copy(update={"detail": {**r.detail, "audit_failed": str(exc)}})
                for r in records
            )

    # --- switches --------------------------------------------------------------------------
    def set_switch(
        self, name: SwitchName, on: bool, actor: str, reason: str, *, automatic: bool = False
    ) -> SwitchState:
        if not actor.strip():
            raise InvalidInputError("an actor is required to change the kill switch or safe mode")

        def attempt() -> SwitchState:
            now = self._clock.now()
            current = self._store.switch(name)
            if automatic and not on and current.on and not current.automatic:
                return current  # health never clears an operator's safe mode
            if automatic and on and current.on:
                return current  # already on; an operator's stays the operator's
            if current.on == on and (not on or current.automatic == automatic):
                return current  # idempotent: no change, no audit
            new = SwitchState(
                name=name,
                on=on,
                automatic=automatic and on,
                actor=actor,
                reason=reason,
                changed_at=now,
                version=current.version + 1,
            )
            rec = audit.switch_record(new, now)
            self._store.put_switch(new, current.version, [rec])
            self.events.append(rec)
            return new

        return retrying(self._attempts, attempt)

    # --- breakers --------------------------------------------------------------------------
    def refresh_breakers(self) -> list[BreakerState]:
        """Record the reset of every breaker whose pause is over, and apply the rapid-loss rule to
        the stored losses (in case it could not run when they were stored); the current states."""
        self.record_event(BreakerName.RAPID_LOSS, self._clock.now(), None, recorded=True)
        return [self.refresh(self._store.breaker(name)) for name in BreakerName]

    def refresh(self, state: BreakerState) -> BreakerState:
        """Best effort: a lost race means another caller recorded the reset."""
        now = self._clock.now()
        if not state.expired(now):
            return state
        new = breakers.reset(state)
        rec = audit.breaker_record(replace(new, reason=state.reason), now, tripped=False)
        try:
            self._store.put_breaker(new, state.version, [rec])
        except StateConflictError:
            return self._store.breaker(state.name)
        self.events.append(rec)
        if (
            state.name is BreakerName.DRAWDOWN
            and self._config.breakers.drawdown.rebase_peak_on_reset
        ):
            self._rebase_peak()
        return new

    def _rebase_peak(self) -> None:
        """After a drawdown pause: measure from the last marked equity. A separate write: if it
        fails, the old peak stands and the breaker re-trips at the next mark (fail closed)."""
        portfolio = self._store.portfolio()
        if portfolio.equity is not None and portfolio.equity != portfolio.peak_equity:
            self.reset_peak("system:drawdown-reset", portfolio.equity)

    def record_event(
        self, name: BreakerName, at: datetime, cause: AuditRecord | None, *, recorded: bool = False
    ) -> bool:
        """One losing close / order error; True when it tripped the breaker. ``recorded``: the
        event is already stored (with its fill), apply the trip rule only."""

        def attempt() -> bool:
            state = self.refresh(self._store.breaker(name))
            new, tripped = breakers.record_event(
                state, at, self._clock.now(), self._config.breakers, recorded=recorded
            )
            if recorded and not tripped:
                return False  # nothing to write
            records = [cause] if cause is not None else []
            if tripped:
                records.append(audit.breaker_record(new, self._clock.now(), tripped=True))
            self._store.put_breaker(new, state.version, records)
            if tripped:
                self.events.append(records[-1])
            return tripped

        return retrying(self._attempts, attempt)

    def mark(
        self,
        marks: Mapping[str, float],
        equity: float,
        references: Mapping[str, float] | None = None,
    ) -> MarkReport:
        # Hot path (a backtest marks every minute a position is open): the common all-valid case
        # builds nothing; the error names the bad marks exactly as before.
        valid = equity > 0 and equity != _INF
        for p in marks.values():
            valid = valid and p > 0 and p != _INF
        if not valid:
            bad = {s: p for s, p in marks.items() if not (p > 0 and p != _INF)}
            raise InvalidInputError(
                f"marks and equity must be finite and positive: {bad or equity}"
            )
        refs = references or {}
        for p in refs.values():
            if not (p > 0 and p != _INF):
                raise InvalidInputError(f"mark references must be finite and positive: {refs}")

        def attempt() -> tuple[float, float, dict[str, str]]:
            portfolio = self._store.portfolio()
            tickets = self._store.open_tickets()
            refused: dict[str, str] = {}
            if tickets:
                held = {t.symbol for t in tickets}
                accepted, refused = marks_collar.screen(marks, refs, tickets, self._config.marks)
                merged = {s: p for s, p in {**portfolio.marks, **accepted}.items() if s in held}
                for symbol in refused:
                    marks_collar.no_phantom_profit(merged, symbol, tickets)
                unrealized = sum([t.unrealized(merged.get(t.symbol)) for t in tickets])
            else:  # nothing held: no mark is kept, and the sum of nothing is (int) 0 as before
                merged, unrealized = {}, 0
            peak = max(portfolio.peak_equity or equity, equity)
            self._store.update_marks(
                unrealized=unrealized, marks=merged, equity=equity, peak=peak, refused=refused
            )
            return unrealized, peak, refused

        unrealized, peak, refused = retrying(self._attempts, attempt)
        if refused:
            now = self._clock.now()
            recs = [
                audit.record(AuditKind.MARK_REFUSED, symbol, now, mark=marks[symbol], reason=why)
                for symbol, why in refused.items()
            ]
            self._store.append_audit(recs)
            self.events.extend(recs)

        def trip_drawdown() -> tuple[bool, float]:
            stored = self._store.breaker(BreakerName.DRAWDOWN)
            now = self._clock.now()
            state = self.refresh(stored)
            current = peak
            if stored.expired(now) and self._config.breakers.drawdown.rebase_peak_on_reset:
                current = self._store.portfolio().peak_equity or peak  # re-based by the reset
            new = breakers.check_drawdown(state, current, equity, now, self._config.breakers)
            if new is None:
                return False, current
            rec = audit.breaker_record(new, now, tripped=True)
            self._store.put_breaker(new, state.version, [rec])
            self.events.append(rec)
            return True, current

        tripped, peak = retrying(self._attempts, trip_drawdown)
        try:
            hwm = self._high_water(equity)
        except StateConflictError:  # a concurrent mark moved it: re-read
            hwm = retrying(self._attempts, lambda: self._high_water(equity))
        return MarkReport(
            unrealized,
            equity,
            peak,
            breakers.drawdown(peak, equity),
            tripped,
            refused,
            hwm.value,
            hwm.halted,
        )

    def _high_water(self, equity: float) -> HighWaterMark:
        """Raise the high-water mark; halt entries once the drawdown from it reaches the limit.
        Never re-based here: only an operator's ``rearm_drawdown_stop`` does."""
        hwm = self._store.high_water_mark()
        value = max(hwm.value or equity, equity)
        limit = self._config.breakers.high_water_mark.max_drawdown_pct
        fall = breakers.drawdown(value, equity)
        halt = not hwm.halted and fall >= limit
        if value == hwm.value and not halt:
            return hwm  # the common case: nothing to write
        now = self._clock.now()
        new = replace(hwm, value=value, version=hwm.version + 1)
        records: list[AuditRecord] = []
        if halt:
            reason = f"drawdown {fall:.2%} from the high-water mark {value:.2f} (limit {limit:.2%})"
            new = replace(new, halted=True, reason=reason, actor="system", changed_at=now)
            records.append(
                audit.record(
                    AuditKind.BREAKER_TRIP, "drawdown_stop", now, reason=reason, equity=equity
                )
            )
        self._store.put_high_water_mark(new, hwm.version, records)
        self.events.extend(records)
        return new

    def rearm_drawdown_stop(self, actor: str, reason: str) -> HighWaterMark:
        """Operator action: lift the high-water-mark stop and measure again from the equity
        marked now (audited, and an event for the alert). A no-op when it is not halted."""
        if not actor.strip():
            raise InvalidInputError("an actor is required to re-arm the drawdown stop")

        def attempt() -> HighWaterMark:
            hwm = self._store.high_water_mark()
            if not hwm.halted:
                return hwm
            equity = self._store.portfolio().equity
            now = self._clock.now()
            new = HighWaterMark(
                value=equity if equity is not None else hwm.value,
                halted=False,
                reason=reason,
                actor=actor,
                changed_at=now,
                version=hwm.version + 1,
            )
            rec = audit.record(
                AuditKind.BREAKER_RESET,
                "drawdown_stop",
                now,
                actor,
                reason=reason,
                old_high_water=hwm.value,
                new_high_water=new.value,
            )
            self._store.put_high_water_mark(new, hwm.version, [rec])
            self.events.append(rec)
            return new

        return retrying(self._attempts, attempt)

    def reset_peak(self, actor: str, equity: float) -> None:
        """Operator action: start measuring drawdown from ``equity`` (audited)."""
        portfolio = self._store.portfolio()
        rec = audit.record(
            AuditKind.BREAKER_RESET,
            "drawdown_peak",
            self._clock.now(),
            actor,
            old_peak=portfolio.peak_equity,
            new_peak=equity,
        )
        self._store.update_marks(
            unrealized=portfolio.unrealized,
            marks=portfolio.marks,
            equity=equity,
            peak=equity,
            reset_peak=True,
        )
        self._store.append_audit([rec])
        self.events.append(rec)

    # --- health ----------------------------------------------------------------------------
    def evaluate_health(self, inputs: health.HealthInputs) -> health.HealthReport:
        def attempt() -> health.HealthReport:
            now = self._clock.now()
            state = self._store.health()
            checks, new = health.evaluate(inputs, state, self._config.health, self._calendar, now)
            checks = (*checks, health.marks_check(self._store.refused_marks()))
            self._store.put_health(new, state.version)
            return health.HealthReport(
                checked_at=now,
                checks=checks,
                safe_mode=False,
                safe_mode_changed=False,
                broker_failures=new.broker_failures,
            )

        report = retrying(self._attempts, attempt)
        before = self._store.switch(SwitchName.SAFE_MODE)
        if report.healthy:
            after = self.set_switch(SwitchName.SAFE_MODE, False, "health", "", automatic=True)
        else:
            reason = "; ".join(f"{c.name}: {c.reason}" for c in report.failures)
            after = self.set_switch(SwitchName.SAFE_MODE, True, "health", reason, automatic=True)
            failures: list[JsonValue] = [audit.check_detail(c) for c in report.failures]
            rec = audit.record(
                AuditKind.HEALTH, "health", report.checked_at, "health", failures=failures
            )
            self._store.append_audit([rec])
            self.events.append(rec)
        return report.model_copy(
            update={"safe_mode": after.on, "safe_mode_changed": after.on != before.on}
        )
