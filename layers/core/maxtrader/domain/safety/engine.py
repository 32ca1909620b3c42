"""The safety engine: every entry passes it; exits always go through.

Public API (all times come from the injected clock; every change is audited through the store):

    engine = SafetyEngine(config, store, clock, calendar=None, checks=DEFAULT_CHECKS, attempts=3)
    engine.evaluate(intent, market) -> Verdict          # every check, no write (dry run)
    engine.reserve(intent, market) -> Verdict           # entry: checks + atomic reservation
                                                        # exit: approved, audited, never blocked
    engine.confirm(client_order_id, broker_order_id) -> Ticket
    engine.release(client_order_id, reason) -> Ticket
    engine.on_fill(fill, signal_id=None) -> FillEffect | None   # None: fill already applied
    engine.mark_to_market(marks, equity) -> MarkReport  # unrealized, peak, drawdown breaker
    engine.record_order_error(reason) -> bool           # True when the error-rate breaker tripped
    engine.refresh_breakers() -> list[BreakerState]     # records resets whose pause is over
    engine.engage_kill_switch(actor, reason) / engine.release_kill_switch(actor, reason="")
    engine.set_safe_mode(on, actor, automatic=False, reason="")
    engine.evaluate_health(inputs) -> HealthReport      # automatic safe mode on/off
    engine.reset_drawdown_peak(actor, equity)
    engine.trading_state() -> TradingState
    engine.drain_events() -> list[AuditRecord]          # trips, resets, switches, health failures

Per approved entry the store sees one consistent read (``snapshot``) and one atomic write
(``reserve``). A lost race re-reads and decides again (at most ``attempts`` times); any store error
rejects the entry with the single failed check ``state_store`` / reason ``state_unavailable``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from maxtrader.config.safety import Limits, SafetyConfig
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import Clock, iso_week, month_key, trading_date
from maxtrader.domain.errors import InvalidInputError, MaxTraderError, StateUnavailableError
from maxtrader.domain.models import (
    AuditKind,
    AuditRecord,
    CheckResult,
    Fill,
    OrderIntent,
    OrderPurpose,
    Regime,
    TradingState,
    Verdict,
)
from maxtrader.domain.ports import StateStore
from maxtrader.domain.safety import accounting, audit, operator
from maxtrader.domain.safety.accounting import FillEffect
from maxtrader.domain.safety.checks import DEFAULT_CHECKS, Check, CheckContext, max_loss
from maxtrader.domain.safety.context import MarketContext
from maxtrader.domain.safety.controls import Controls, MarkReport, retrying
from maxtrader.domain.safety.health import HealthInputs, HealthReport
from maxtrader.domain.safety.state import (
    BreakerName,
    BreakerState,
    FillApplication,
    Reservation,
    ReservationGuards,
    Snapshot,
    SnapshotKeys,
    StateConflictError,
    SwitchName,
    Ticket,
    TicketStatus,
)

STATE_UNAVAILABLE = "state_unavailable"
_EXIT_CHECK = CheckResult(name="exit", passed=True, reason="exits are never blocked")


class UnknownOrderError(MaxTraderError, LookupError):
    """No reservation exists under the client_order_id given."""


class SafetyEngine:
    def __init__(
        self,
        config: SafetyConfig,
        store: StateStore,
        clock: Clock,
        *,
        calendar: MarketCalendar | None = None,
        checks: Sequence[Check] = DEFAULT_CHECKS,
        attempts: int = 3,
    ) -> None:
        if attempts < 1:
            raise InvalidInputError("attempts must be at least 1")
        self.config = config
        self.store = store
        self.clock = clock
        self._checks = tuple(c for c in checks if c.enabled(config.checks))
        self._attempts = attempts
        self._limits: dict[Regime, Limits] = {}
        self._controls = Controls(config, store, clock, calendar, attempts)
        self._periods: tuple[datetime, str, str, str] | None = None  # New York keys of `now`

    # --- entries and exits -----------------------------------------------------------------
    def limits_for(self, regime: Regime) -> Limits:
        limits = self._limits.get(regime)
        if limits is None:
            limits = self._limits[regime] = self.config.limits_for(regime)
        return limits

    def evaluate(self, intent: OrderIntent, market: MarketContext) -> Verdict:
        """Every check against a fresh snapshot; writes nothing (a dry run)."""
        if intent.purpose is OrderPurpose.EXIT:
            return self._exit_verdict(intent)
        now = self.clock.now()
        try:
            snap = self.store.snapshot(self._keys(intent, now))
        except StateUnavailableError:
            return self._unavailable_verdict(intent, now)
        return self._decide(intent, market, snap, now)[0]

    def reserve(self, intent: OrderIntent, market: MarketContext) -> Verdict:
        if intent.purpose is OrderPurpose.EXIT:
            verdict = self._exit_verdict(intent)
            self._audit_best_effort([audit.verdict_record(verdict, intent)])
            return verdict
        now = self.clock.now()
        keys = self._keys(intent, now)
        cause = f"reservation lost the race {self._attempts} times"
        for _ in range(self._attempts):
            try:
                snap = self.store.snapshot(keys)
                self._refresh_expired(snap)
                verdict, loss, limits = self._decide(intent, market, snap, now)
                if not verdict.approved:
                    # The decision stands even if the store cannot take its audit record now.
                    self._audit_best_effort([audit.verdict_record(verdict, intent, max_loss=loss)])
                    return verdict
                record = audit.verdict_record(verdict, intent, max_loss=loss)
                self.store.reserve(
                    self._reservation(
                        intent,
                        market,
                        keys=keys,
                        limits=limits,
                        loss=loss or 0.0,
                        now=now,
                        record=record,
                    )
                )
                return verdict
            except StateConflictError:
                continue  # someone else moved first: re-read and decide again
            except StateUnavailableError as exc:
                cause = f"{type(exc).__name__}: {exc}"
                break
        verdict = self._unavailable_verdict(intent, now)
        self._audit_best_effort([audit.verdict_record(verdict, intent, cause=cause)])
        return verdict

    def confirm(self, client_order_id_: str, broker_order_id: str, actor: str = "system") -> Ticket:
        """The broker acknowledged the order (idempotent)."""

        def attempt() -> Ticket:
            ticket = self._ticket(client_order_id_)
            if ticket.status is not TicketStatus.RESERVED:
                return ticket
            new = _replace_ticket(ticket, status=TicketStatus.CONFIRMED, broker=broker_order_id)
            rec = audit.record(
                AuditKind.BROKER_RESPONSE,
                client_order_id_,
                self.clock.now(),
                actor,
                event="confirmed",
                broker_order_id=broker_order_id,
            )
            self.store.update_ticket(new, ticket.version, audit=[rec])
            return new

        return retrying(self._attempts, attempt)

    def release(self, client_order_id_: str, reason: str, actor: str = "system") -> Ticket:
        """The order will not fill (rejected, canceled, expired): give back its slot and exposure.

        A ticket with fills keeps its position (and slot); entries already counted today stay
        counted (an attempt is a trade for checks 6 and 7).
        """

        def attempt() -> Ticket:
            ticket = self._ticket(client_order_id_)
            if ticket.status not in (TicketStatus.RESERVED, TicketStatus.CONFIRMED):
                return ticket
            new = _replace_ticket(ticket, status=TicketStatus.RELEASED)
            rec = audit.record(
                AuditKind.RESERVATION,
                client_order_id_,
                self.clock.now(),
                actor,
                event="released",
                reason=reason,
                max_loss=ticket.max_loss,
            )
            self.store.update_ticket(
                new, ticket.version, slot_delta=-1, exposure_delta=-ticket.max_loss, audit=[rec]
            )
            return new

        return retrying(self._attempts, attempt)

    # --- post-trade ------------------------------------------------------------------------
    def on_fill(self, fill: Fill, signal_id: str | None = None) -> FillEffect | None:
        """Apply one execution; None when this fill id was applied before."""

        def attempt() -> FillEffect | None:
            ticket = accounting.ticket_for(self.store, fill, signal_id)
            portfolio = self.store.portfolio()
            effect = accounting.apply_fill(ticket, fill, portfolio.marks.get(ticket.symbol))
            records = [
                audit.record(
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
            ]
            if effect.losing_close:
                # Stored with the fill, so a crash between the two cannot lose it for the breaker.
                records.append(
                    audit.record(
                        AuditKind.FILL,
                        f"losing_close:{effect.ticket.client_order_id}",
                        fill.ts,
                        realized=effect.ticket.realized,
                    )
                )
            applied = self.store.apply_fill(
                FillApplication(
                    fill_id=fill.fill_id,
                    ticket=effect.ticket,
                    expected_version=ticket.version,
                    realized=effect.realized,
                    day=trading_date(fill.ts),
                    week=iso_week(fill.ts),
                    month=month_key(fill.ts),
                    slot_delta=effect.slot_delta,
                    exposure_delta=effect.exposure_delta,
                    unrealized_delta=effect.unrealized_delta,
                    loss_at=fill.ts if effect.losing_close else None,
                    audit=tuple(records),
                )
            )
            return effect if applied else None

        effect = retrying(self._attempts, attempt)
        if effect is not None and effect.losing_close:
            try:
                self._controls.record_event(BreakerName.RAPID_LOSS, fill.ts, None, recorded=True)
            except StateUnavailableError as exc:
                # The fill and its loss are stored; refresh_breakers() (the monitor) or the next
                # losing close applies the trip rule. Tell the caller now.
                self._controls.events.append(
                    audit.record(
                        AuditKind.BREAKER_TRIP,
                        "rapid_loss",
                        self.clock.now(),
                        check_failed=f"{type(exc).__name__}: {exc}",
                    )
                )
        return effect

    def mark_to_market(self, marks: Mapping[str, float], equity: float) -> MarkReport:
        return self._controls.mark(marks, equity)

    def record_order_error(self, reason: str) -> bool:
        now = self.clock.now()
        cause = audit.record(AuditKind.BROKER_RESPONSE, "order_error", now, reason=reason)
        return self._controls.record_event(BreakerName.ERROR_RATE, now, cause)

    def refresh_breakers(self) -> list[BreakerState]:
        return self._controls.refresh_breakers()

    def reset_drawdown_peak(self, actor: str, equity: float) -> None:
        self._controls.reset_peak(operator.checked_actor(actor), operator.checked_equity(equity))

    # --- operator and health ---------------------------------------------------------------
    def engage_kill_switch(self, actor: str, reason: str) -> None:
        actor, reason = operator.checked_actor(actor), operator.checked_reason(reason)
        self._controls.set_switch(SwitchName.KILL_SWITCH, True, actor, reason)

    def release_kill_switch(self, actor: str, reason: str = "") -> None:
        actor, reason = operator.checked_actor(actor), operator.checked_reason(reason)
        self._controls.set_switch(SwitchName.KILL_SWITCH, False, actor, reason)

    def set_safe_mode(
        self, on: bool, actor: str, automatic: bool = False, reason: str = ""
    ) -> None:
        actor, reason = operator.checked_actor(actor), operator.checked_reason(reason)
        self._controls.set_switch(SwitchName.SAFE_MODE, on, actor, reason, automatic=automatic)

    def evaluate_health(self, inputs: HealthInputs) -> HealthReport:
        return self._controls.evaluate_health(inputs)

    def trading_state(self) -> TradingState:
        """Consistent reads of both switches; raises StateUnavailableError if unreadable."""
        if self.store.switch(SwitchName.KILL_SWITCH).on:
            return TradingState.HALTED
        if self.store.switch(SwitchName.SAFE_MODE).on:
            return TradingState.REDUCING
        return TradingState.ACTIVE

    def drain_events(self) -> list[AuditRecord]:
        events, self._controls.events = self._controls.events, []
        return events

    # --- internals -------------------------------------------------------------------------
    def _keys(self, intent: OrderIntent, now: datetime) -> SnapshotKeys:
        periods = self._periods
        if periods is None or periods[0] != now:
            periods = self._periods = (now, trading_date(now), iso_week(now), month_key(now))
        return SnapshotKeys(
            day=periods[1],
            week=periods[2],
            month=periods[3],
            strategy=intent.strategy,
            signal_id=intent.signal_id,
        )

    def _decide(
        self, intent: OrderIntent, market: MarketContext, snap: Snapshot, now: datetime
    ) -> tuple[Verdict, float | None, Limits]:
        limits = self.limits_for(market.regime)
        loss = max_loss(intent)
        ctx = CheckContext(intent, market, limits, snap, now, loss)
        results = tuple(check.fn(ctx) for check in self._checks)
        verdict = Verdict(
            signal_id=intent.signal_id,
            client_order_id=intent.client_order_id,
            purpose=intent.purpose,
            approved=all(r.passed for r in results),
            checks=results,
            decided_at=now,
        )
        return verdict, loss, limits

    def _reservation(
        self,
        intent: OrderIntent,
        market: MarketContext,
        *,
        keys: SnapshotKeys,
        limits: Limits,
        loss: float,
        now: datetime,
        record: AuditRecord,
    ) -> Reservation:
        ticket = Ticket.reserved(intent, loss, now)
        guards = ReservationGuards(
            now=now,
            max_slots=limits.max_concurrent_positions,
            exposure_cap=limits.max_exposure_pct * market.equity - loss,
            last_entry_cutoff=now - timedelta(seconds=limits.min_seconds_between_trades),
            max_day_entries=limits.max_daily_trades,
            max_strategy_entries=limits.max_daily_trades_per_strategy,
        )
        return Reservation(ticket=ticket, keys=keys, guards=guards, audit=(record,))

    def _exit_verdict(self, intent: OrderIntent) -> Verdict:
        return Verdict(
            signal_id=intent.signal_id,
            client_order_id=intent.client_order_id,
            purpose=intent.purpose,
            approved=True,
            checks=(_EXIT_CHECK,),
            decided_at=self.clock.now(),
        )

    def _unavailable_verdict(self, intent: OrderIntent, now: datetime) -> Verdict:
        check = CheckResult(name="state_store", passed=False, reason=STATE_UNAVAILABLE)
        return Verdict(
            signal_id=intent.signal_id,
            client_order_id=intent.client_order_id,
            purpose=intent.purpose,
            approved=False,
            checks=(check,),
            decided_at=now,
        )

    def _audit_best_effort(self, records: list[AuditRecord]) -> None:
        """Audit that must not block: an exit, or a rejection caused by the store itself."""
        try:
            self.store.append_audit(records)
        except StateUnavailableError as exc:
            # The store is down: hand the records to the caller (logs, alerts) instead.
            self._controls.events.extend(
                r.model_copy(update={"detail": {**r.detail, "audit_failed": str(exc)}})
                for r in records
            )

    def _refresh_expired(self, snap: Snapshot) -> None:
        now = self.clock.now()
        for state in snap.breakers:
            if state.expired(now):
                self._controls.refresh(state)

    def _ticket(self, client_order_id_: str) -> Ticket:
        ticket = self.store.ticket(client_order_id_)
        if ticket is None:
            raise UnknownOrderError(f"no reservation under client_order_id {client_order_id_!r}")
        return ticket


def _replace_ticket(ticket: Ticket, *, status: TicketStatus, broker: str | None = None) -> Ticket:
    return replace(
        ticket,
        status=status,
        broker_order_id=broker or ticket.broker_order_id,
        version=ticket.version + 1,
    )
