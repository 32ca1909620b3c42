"""The safety engine: every entry passes its checks; an exit passes when it only reduces a position.

Public API (all times come from the injected clock; every change is audited through the store):

    engine = SafetyEngine(config, store, clock, calendar=None, checks=DEFAULT_CHECKS, attempts=3)
    engine.evaluate(intent, market) -> Verdict          # every check, no write (dry run)
    engine.reserve(intent, market) -> Verdict           # entry: checks + atomic reservation
                                                        # exit: reduce-only against its ticket
    engine.confirm(client_order_id, broker_order_id) -> Ticket
    engine.release(client_order_id, reason) -> Ticket
    engine.on_fill(fill, signal_id=None) -> FillEffect | None   # None: fill already applied
    engine.mark_to_market(marks, equity, references=None, tickets=None) -> MarkReport  # marks,
                                                        # drawdown breaker, high-water-mark stop
    engine.record_order_error(reason) -> bool           # True when the error-rate breaker tripped
    engine.refresh_breakers(known=None) -> [BreakerState]  # records resets whose pause is over
    engine.engage_kill_switch(actor, reason) / engine.release_kill_switch(actor, reason="")
    engine.set_safe_mode(on, actor, automatic=False, reason="")
    engine.evaluate_health(inputs) -> HealthReport      # automatic safe mode on/off
    engine.reset_drawdown_peak(actor, equity)
    engine.rearm_drawdown_stop(actor, reason)           # lift the high-water-mark stop
    engine.record_start_of_day_equity(equity, actor)    # the pre-market run (write-once per day)
    with engine.invocation() as inv: ...                # inv.events: this invocation's events
    engine.trading_state() -> TradingState
    engine.drain_events() -> list[AuditRecord]          # trips, resets, switches, health failures

Per approved entry the store sees one consistent read (``snapshot``) and one atomic write
(``reserve``). A lost race re-reads and decides again (at most ``attempts`` times); any store error
rejects the entry with the single failed check ``state_store`` / reason ``state_unavailable``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
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
    client_order_id,
)
from maxtrader.domain.ports import StateStore
from maxtrader.domain.safety import audit, operator
from maxtrader.domain.safety.accounting import FillEffect
from maxtrader.domain.safety.attempts import retrying
from maxtrader.domain.safety.checks import DEFAULT_CHECKS, Check, CheckContext, max_loss
from maxtrader.domain.safety.checks.figures import resolve
from maxtrader.domain.safety.checks.reduce_only import reduce_only
from maxtrader.domain.safety.context import MarketContext
from maxtrader.domain.safety.controls import Controls, MarkReport
from maxtrader.domain.safety.fills import FillPosting
from maxtrader.domain.safety.health import HealthInputs, HealthReport
from maxtrader.domain.safety.state import (
    BreakerName,
    BreakerState,
    ControlState,
    HighWaterMark,
    Reservation,
    ReservationGuards,
    Snapshot,
    SnapshotKeys,
    StateConflictError,
    SwitchName,
    Ticket,
    TicketStatus,
    exposure_cents,
)

STATE_UNAVAILABLE = "state_unavailable"


@dataclass(slots=True)
class Invocation:
    """The events of one handler invocation (``SafetyEngine.invocation``)."""

    events: list[AuditRecord] = field(default_factory=list)
    carried_over: list[AuditRecord] = field(default_factory=list)  # left by code outside one


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
        self._fills = FillPosting(config, store, clock, self._controls, attempts)
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
            return self._exit_verdict(intent)[0]
        now = self.clock.now()
        try:
            snap = self.store.snapshot(self._keys(intent, now))
        except StateUnavailableError:
            return self._unavailable_verdict(intent, now)
        return self._decide(intent, market, snap, now)[0]

    def reserve(self, intent: OrderIntent, market: MarketContext) -> Verdict:
        if intent.purpose is OrderPurpose.EXIT:
            verdict, cause = self._exit_verdict(intent)
            self._controls.audit_best_effort([audit.verdict_record(verdict, intent, cause=cause)])
            return verdict
        now = self.clock.now()
        keys = self._keys(intent, now)
        cause = f"reservation lost the race {self._attempts} times"
        for _ in range(self._attempts):
            try:
                snap = self.store.snapshot(keys)
                self._refresh_expired(snap)
                verdict, loss, limits, equity = self._decide(intent, market, snap, now)
                if not verdict.approved:
                    # The decision stands even if the store cannot take its audit record now.
                    self._controls.audit_best_effort(
                        [audit.verdict_record(verdict, intent, max_loss=loss)]
                    )
                    return verdict
                record = audit.verdict_record(verdict, intent, max_loss=loss)
                self.store.reserve(
                    self._reservation(
                        intent,
                        equity or 0.0,
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
        self._controls.audit_best_effort([audit.verdict_record(verdict, intent, cause=cause)])
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
                new,
                ticket.version,
                slot_delta=-1,
                exposure_delta=-exposure_cents(ticket.max_loss),
                audit=[rec],
            )
            return new

        return retrying(self._attempts, attempt)

    # --- post-trade ------------------------------------------------------------------------
    def on_fill(self, fill: Fill, signal_id: str | None = None) -> FillEffect | None:
        """Apply one execution to the order it names; None when this fill id was applied before.

        ``signal_id`` names the signal of a broker-side leg (its own id is the broker's). A fill
        naming no order of ours raises ``UnknownFillError`` (drift: audited, an event) and is
        not applied. A fill beyond its reservation is applied at its real risk, audited as a
        ``risk_breach``, reported as an event and turns safe mode on (an operator clears it).
        """
        return self._fills.apply(fill, signal_id)

    def mark_to_market(
        self,
        marks: Mapping[str, float],
        equity: float,
        references: Mapping[str, float] | None = None,
        tickets: Sequence[Ticket] | None = None,
        known: ControlState | None = None,
    ) -> MarkReport:
        """Book collared marks (``references``: the last trade or model value per symbol;
        ``tickets``, ``known``: the open tickets and control items the caller just read, if it
        did)."""
        return self._controls.mark(marks, equity, references, tickets, known)

    def record_order_error(self, reason: str) -> bool:
        now = self.clock.now()
        cause = audit.record(AuditKind.BROKER_RESPONSE, "order_error", now, reason=reason)
        return self._controls.record_event(BreakerName.ERROR_RATE, now, cause)

    def refresh_breakers(self, known: ControlState | None = None) -> list[BreakerState]:
        return self._controls.refresh_breakers(known)

    def events_recorded(self) -> int:
        """How many events (trips, resets, switch changes, refused marks) are held since the
        last drain: a caller that read the control items can tell whether it changed them."""
        return len(self._controls.events)

    def reset_drawdown_peak(self, actor: str, equity: float) -> None:
        self._controls.reset_peak(operator.checked_actor(actor), operator.checked_equity(equity))

    def rearm_drawdown_stop(self, actor: str, reason: str) -> HighWaterMark:
        actor, reason = operator.checked_actor(actor), operator.checked_reason(reason)
        return self._controls.rearm_drawdown_stop(actor, reason)

    def record_start_of_day_equity(self, equity: float, actor: str = "premarket") -> bool:
        """The pre-market run's figure for today (New York), written once and audited; the
        engine checks callers' start-of-day equity against it. False: already stored as is."""
        if not (equity > 0 and equity != float("inf")):
            raise InvalidInputError(f"start-of-day equity must be finite and positive: {equity}")
        now = self.clock.now()
        day = trading_date(now)
        rec = audit.record(
            AuditKind.START_OF_DAY, "start_of_day_equity", now, actor, day=day, equity=equity
        )
        # A different figure already stored raises StateConflictError: the run must alert, not
        # overwrite what the day's limits have been measured against.
        return self.store.put_start_of_day_equity(day, equity, [rec])

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

    @contextmanager
    def invocation(self) -> Iterator[Invocation]:
        """Scope one handler invocation on a warm engine: whatever it raises, its events are
        drained into ``Invocation.events`` on the way out, so none reaches the next one."""
        inv = Invocation(carried_over=self.drain_events())
        try:
            yield inv
        finally:
            inv.events = self.drain_events()

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
    ) -> tuple[Verdict, float | None, Limits, float | None]:
        limits = self.limits_for(market.regime)
        loss = max_loss(intent)
        figures = resolve(intent, market, snap, self.config.figures.tolerance_pct)
        ctx = CheckContext(intent, market, limits, snap, now, loss, figures)
        results = tuple(check.fn(ctx) for check in self._checks)
        verdict = Verdict(
            signal_id=intent.signal_id,
            client_order_id=intent.client_order_id,
            purpose=intent.purpose,
            approved=all(r.passed for r in results),
            checks=results,
            decided_at=now,
        )
        return verdict, loss, limits, ctx.equity

    def _reservation(
        self,
        intent: OrderIntent,
        equity: float,
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
            exposure_cap=limits.max_exposure_pct * equity - loss,
            last_entry_cutoff=now - timedelta(seconds=limits.min_seconds_between_trades),
            max_day_entries=limits.max_daily_trades,
            max_strategy_entries=limits.max_daily_trades_per_strategy,
        )
        return Reservation(ticket=ticket, keys=keys, guards=guards, audit=(record,))

    def _exit_verdict(self, intent: OrderIntent) -> tuple[Verdict, str | None]:
        """Reduce-only against the signal's stored ticket. A store that cannot say what is open
        rejects the exit (``state_unavailable``): an unverified "exit" may open a position; the
        operator's flatten (the broker's close-position) stays available."""
        now = self.clock.now()
        try:
            ticket = self.store.ticket(client_order_id(intent.signal_id, OrderPurpose.ENTRY))
        except StateUnavailableError as exc:
            return self._unavailable_verdict(intent, now), f"{type(exc).__name__}: {exc}"
        check = reduce_only(intent, ticket)
        verdict = Verdict(
            signal_id=intent.signal_id,
            client_order_id=intent.client_order_id,
            purpose=intent.purpose,
            approved=check.passed,
            checks=(check,),
            decided_at=now,
        )
        return verdict, None

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
