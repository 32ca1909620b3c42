"""Durable switches and breakers: kill switch, safe mode, the three breakers, health, marks.

``Controls`` owns every read-modify-write of those small items: it re-reads and retries on a
version conflict, appends the audit record in the same write, and collects the events (trip,
reset, kill switch, safe mode, health failure) the caller turns into alerts and metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from pydantic import JsonValue

from maxtrader.config.safety import SafetyConfig
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import Clock, trading_date
from maxtrader.domain.errors import InvalidInputError, StateUnavailableError
from maxtrader.domain.models import AuditKind, AuditRecord
from maxtrader.domain.ports import StateStore
from maxtrader.domain.safety import audit, breakers, health, marks_collar
from maxtrader.domain.safety.attempts import first_then, retrying
from maxtrader.domain.safety.state import (
    BreakerName,
    BreakerState,
    ControlState,
    HighWaterMark,
    StateConflictError,
    SwitchName,
    SwitchState,
    Ticket,
)

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
        self,
        name: SwitchName,
        on: bool,
        actor: str,
        reason: str,
        *,
        automatic: bool = False,
        current: SwitchState | None = None,
    ) -> SwitchState:
        """``current``: the switch as the caller just read it (no second read; a conflict
        re-reads)."""
        if not actor.strip():
            raise InvalidInputError("an actor is required to change the kill switch or safe mode")
        stored = first_then(current, lambda: self._store.switch(name))

        def attempt() -> SwitchState:
            now = self._clock.now()
            current = stored()
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
            rec = audit.switch_record(new, now, before=current)
            self._store.put_switch(new, current.version, [rec])
            self.events.append(rec)
            return new

        return retrying(self._attempts, attempt)

    # --- breakers --------------------------------------------------------------------------
    def refresh_breakers(self, known: ControlState | None = None) -> list[BreakerState]:
        """Record the reset of every breaker whose pause is over, and apply the rapid-loss rule to
        the stored losses (in case it could not run when they were stored); the current states.
        One read of all three (none: ``known``, the control items as the caller just read
        them); a write only for a reset or a trip."""
        now = self._clock.now()
        view = known if known is not None else self._store.control_state(trading_date(now))
        out: list[BreakerState] = []
        for stored in view.breakers:
            state = stored
            if stored.name is BreakerName.RAPID_LOSS:
                state = self._record(stored.name, now, None, recorded=True, known=stored)[1]
            out.append(self.refresh(state))
        return out

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
        return self._record(name, at, cause, recorded=recorded)[0]

    def _record(
        self,
        name: BreakerName,
        at: datetime,
        cause: AuditRecord | None,
        *,
        recorded: bool,
        known: BreakerState | None = None,
    ) -> tuple[bool, BreakerState]:
        """(tripped, the breaker's state after it); ``known``: as the caller just read it."""
        stored = first_then(known, lambda: self._store.breaker(name))

        def attempt() -> tuple[bool, BreakerState]:
            state = self.refresh(stored())
            new, tripped = breakers.record_event(
                state, at, self._clock.now(), self._config.breakers, recorded=recorded
            )
            if recorded and not tripped:
                return False, state  # nothing to write
            records = [cause] if cause is not None else []
            if tripped:
                records.append(audit.breaker_record(new, self._clock.now(), tripped=True))
            self._store.put_breaker(new, state.version, records)
            if tripped:
                self.events.append(records[-1])
            return tripped, new

        return retrying(self._attempts, attempt)

    def mark(
        self,
        marks: Mapping[str, float],
        equity: float,
        references: Mapping[str, float] | None = None,
        tickets: Sequence[Ticket] | None = None,
        known: ControlState | None = None,
    ) -> MarkReport:
        """``tickets``: the open tickets as the caller just read them; used only while they
        agree with the portfolio's slot count (read here: a reservation or release since makes
        them stale, and they are read again). One read of the control items (none for the
        first attempt: ``known``, as the caller just read them); the marks are written only
        when they change."""
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
        given = [list(tickets)] if tickets is not None else []
        day = trading_date(self._clock.now())
        control = first_then(known, lambda: self._store.control_state(day))
        unrealized, peak, refused, view = retrying(
            self._attempts, lambda: self._book(marks, refs, equity, control, given)
        )
        if refused:
            now = self._clock.now()
            recs = [
                audit.record(AuditKind.MARK_REFUSED, symbol, now, mark=marks[symbol], reason=why)
                for symbol, why in refused.items()
            ]
            self._store.append_audit(recs)
            self.events.extend(recs)
        drawdown_breaker = first_then(
            view.breaker(BreakerName.DRAWDOWN), lambda: self._store.breaker(BreakerName.DRAWDOWN)
        )

        def trip_drawdown() -> tuple[bool, float]:
            stored = drawdown_breaker()
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
            hwm = self._high_water(equity, view.high_water)
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

    def _book(
        self,
        marks: Mapping[str, float],
        refs: Mapping[str, float],
        equity: float,
        control: Callable[[], ControlState],
        given: list[list[Ticket]],
    ) -> tuple[float, float, dict[str, str], ControlState]:
        """One attempt at storing the marks: (unrealized, peak, refused, the control items read).
        ``given``: the caller's tickets, taken by the first attempt only."""
        view = control()
        portfolio = view.portfolio
        held = given.pop() if given else None
        if held is None or len(held) != portfolio.slots:
            held = self._store.open_tickets()
        refused: dict[str, str] = {}
        if held:
            symbols = {t.symbol for t in held}
            accepted, refused = marks_collar.screen(marks, refs, held, self._config.marks)
            merged = {s: p for s, p in {**portfolio.marks, **accepted}.items() if s in symbols}
            for symbol in refused:
                marks_collar.no_phantom_profit(merged, symbol, held)
            unrealized = sum([t.unrealized(merged.get(t.symbol)) for t in held])
        else:  # nothing held: no mark is kept, and the sum of nothing is (int) 0 as before
            merged, unrealized = {}, 0
        peak = max(portfolio.peak_equity or equity, equity)
        unchanged = (
            portfolio.equity == equity
            and portfolio.peak_equity == peak
            and portfolio.unrealized == unrealized
            and portfolio.marks == merged
            and view.refused_marks == refused
        )
        if not unchanged:  # a flat minute at an unchanged equity writes nothing
            self._store.update_marks(
                unrealized=unrealized, marks=merged, equity=equity, peak=peak, refused=refused
            )
        return unrealized, peak, refused, view

    def _high_water(self, equity: float, known: HighWaterMark | None = None) -> HighWaterMark:
        """Raise the high-water mark; halt entries once the drawdown from it reaches the limit.
        Never re-based here: only an operator's ``rearm_drawdown_stop`` does."""
        hwm = known if known is not None else self._store.high_water_mark()
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
        """One read of the control items; the health item is written only when its count of
        broker failures changes (a version-conditioned write: concurrent runs count once)."""
        day = trading_date(self._clock.now())
        read: list[ControlState] = []

        def attempt() -> health.HealthReport:
            now = self._clock.now()
            view = self._store.control_state(day)
            read[:] = [view]
            state = view.health
            checks, new = health.evaluate(inputs, state, self._config.health, self._calendar, now)
            checks = (*checks, health.marks_check(view.refused_marks))
            if new.broker_failures != state.broker_failures:
                self._store.put_health(new, state.version)
            return health.HealthReport(
                checked_at=now,
                checks=checks,
                safe_mode=False,
                safe_mode_changed=False,
                broker_failures=new.broker_failures,
            )

        report = retrying(self._attempts, attempt)
        before = read[0].safe_mode
        if report.healthy:
            after = self.set_switch(
                SwitchName.SAFE_MODE, False, "health", "", automatic=True, current=before
            )
        else:
            reason = "; ".join(f"{c.name}: {c.reason}" for c in report.failures)
            after = self.set_switch(
                SwitchName.SAFE_MODE, True, "health", reason, automatic=True, current=before
            )
            failures: list[JsonValue] = [audit.check_detail(c) for c in report.failures]
            rec = audit.record(
                AuditKind.HEALTH, "health", report.checked_at, "health", failures=failures
            )
            self._store.append_audit([rec])
            self.events.append(rec)
        return report.model_copy(
            update={"safe_mode": after.on, "safe_mode_changed": after.on != before.on}
        )
