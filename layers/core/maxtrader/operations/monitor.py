"""The monitor: one run every minute of the session, and safe to run at any time.

    service = MonitorService(engine=..., broker=..., sessions=..., alerts=..., calendar=...,
                             strategies=..., config=..., clock=...)
    report = service.run()          # MonitorReport: counts, drift, errors, metrics()

One run, in this order (each step stands alone: a step that fails is reported in
``report.errors`` and the next one still runs on what is known):

1. the broker's positions and open orders (the first read: what reconciliation compares);
2. every live ticket: in-flight reservations (monitor_inflight), its orders by client_order_id
   (monitor_orders), the fills they carry (monitor_fills -> ``SafetyEngine.on_fill``: positions,
   realized P&L, the rapid-loss breaker's losing closes), orders that died unfilled released;
3. breakers whose pause is over: reset, recorded, alerted (``refresh_breakers``), from one read
   of the control items that the marks and the gauges reuse while the run changed none of them;
4. marks -> ``mark_to_market`` (equity, peak, drawdown breaker, high-water-mark stop);
5. exits of positions no broker-side order protects, in the session only (monitor_exits);
6. reconciliation against a second read of the positions (monitor_reconcile): any drift turns
   safe mode on, alerts and leaves an ``AuditKind.RECONCILIATION`` record with both sides.
   Nothing is "fixed" by an order.

Then every event of the run (trips, resets, safe mode, breaches, unknown fills) and the
monitor's own findings go out as alerts, deduplicated over the cooldown.

The run observes the present (the engine's clock), not the minute it was scheduled for: a late
run must see the broker as it is now.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from maxtrader.config.safety import Monitor
from maxtrader.config.strategies import StrategiesConfig
from maxtrader.domain.broker import BrokerOrder, BrokerPosition
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import Clock, trading_date
from maxtrader.domain.errors import AlertDeliveryError, BrokerError, MaxTraderError
from maxtrader.domain.models import AuditRecord, Bar, Instrument, OrderPurpose, client_order_id
from maxtrader.domain.models import parse_client_order_id as parse_coid
from maxtrader.domain.ports import Alert, Alerts, Broker, SessionStore
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.domain.safety.state import ControlState, Ticket, TicketStatus
from maxtrader.domain.strategies.routing import regime_policy, strategy_named
from maxtrader.operations import monitor_alerts as alerting
from maxtrader.operations.monitor_exits import (
    ExitOutcome,
    ExitRules,
    broker_free_qty,
    exit_due,
    send_exit,
    working_legs,
)
from maxtrader.operations.monitor_fills import apply_fills
from maxtrader.operations.monitor_inflight import (
    due_for_lookup,
    lookup_failed,
    release_if_dead,
    settle_reservation,
)
from maxtrader.operations.monitor_marks import marks_for
from maxtrader.operations.monitor_orders import TicketOrders, orders_of
from maxtrader.operations.monitor_reconcile import (
    RECONCILIATION_ACTOR,
    BrokerSideOrder,
    ReconcileView,
    drift_record,
    reconcile,
)
from maxtrader.operations.monitor_report import MonitorReport
from maxtrader.operations.safety_gauges import safety_gauges
from maxtrader.trading.exits import ExitTrigger, flatten_time

__all__ = ["MonitorReport", "MonitorService"]

T = TypeVar("T")


@dataclass(slots=True)
class _Run:
    """What one run has learnt so far."""

    first: dict[str, BrokerPosition] | None = None
    live: list[Ticket] | None = None  # the live tickets as first read (None: unreadable)
    open_orders: list[BrokerOrder] = field(default_factory=list)
    orders: dict[str, TicketOrders] = field(default_factory=dict)
    uncertain: set[str] = field(default_factory=set)
    pending: dict[str, int] = field(default_factory=dict)
    missing: list[Ticket] = field(default_factory=list)
    mismatches: dict[str, str] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)
    # The control items as read for the breakers, while this run has changed none of them
    # (no event since): the marks and the gauges use it rather than reading again.
    control: ControlState | None = None
    control_events: int = 0


class MonitorService:
    def __init__(
        self,
        *,
        engine: SafetyEngine,
        broker: Broker,
        sessions: SessionStore,
        alerts: Alerts,
        calendar: MarketCalendar,
        strategies: StrategiesConfig,
        config: Monitor,
        clock: Clock,
    ) -> None:
        self._engine = engine
        self._store = engine.store
        self._broker = broker
        self._sessions = sessions
        self._alerts = alerts
        self._calendar = calendar
        self._strategies = strategies
        self._config = config
        self._clock = clock

    def run(self) -> MonitorReport:
        now = self._clock.now()
        report, run = MonitorReport(at=now), _Run()
        with self._engine.invocation() as inv:
            self._step(report, "broker", lambda: self._read_broker(run))
            tickets = run.live = self._step(report, "tickets", self._store.open_tickets)
            for ticket in tickets or []:
                settle = partial(self._settle, ticket, now, report, run)
                mark_uncertain = partial(run.uncertain.add, ticket.symbol)
                self._step(report, f"ticket {ticket.client_order_id}", settle, mark_uncertain)
            self._step(report, "breakers", lambda: self._refresh_breakers(now, run))
            self._step(report, "marks", lambda: self._mark(now, report, run))
            if tickets is not None:
                self._step(report, "exits", lambda: self._exits(now, report, run))
                self._step(report, "reconciliation", lambda: self._reconcile(now, report, run))
            self._step(report, "gauges", lambda: self._gauges(now, report, run))
        self._announce(report, run, inv.events)
        return report

    def _refresh_breakers(self, now: datetime, run: _Run) -> None:
        view = self._store.control_state(trading_date(now))
        states = self._engine.refresh_breakers(known=view)
        if tuple(states) == view.breakers:  # a reset or a trip wrote: the next step reads again
            run.control, run.control_events = view, self._engine.events_recorded()

    def _unchanged_control(self, run: _Run) -> ControlState | None:
        if run.control is not None and self._engine.events_recorded() == run.control_events:
            return run.control
        return None

    def _gauges(self, now: datetime, report: MonitorReport, run: _Run) -> None:
        known = self._unchanged_control(run)
        report.gauges = safety_gauges(self._store, now, self._engine.config.limits, known)

    # --- steps ------------------------------------------------------------------------------
    def _read_broker(self, run: _Run) -> None:
        positions = self._broker.positions()
        run.open_orders = self._broker.open_orders()
        run.first = {p.symbol: p for p in positions}

    def _settle(self, ticket: Ticket, now: datetime, report: MonitorReport, run: _Run) -> None:
        cfg = self._config
        if ticket.status is TicketStatus.RESERVED and not due_for_lookup(ticket, now, cfg):
            run.uncertain.add(ticket.symbol)  # in flight: its sender still owns it
            return
        try:
            orders = orders_of(self._broker, ticket, cfg.max_exit_attempts)
        except BrokerError as exc:
            run.uncertain.add(ticket.symbol)
            if ticket.status is not TicketStatus.RESERVED:
                raise
            report.inflight.append(lookup_failed(self._engine, ticket, exc, now, cfg))
            return
        if ticket.status is TicketStatus.RESERVED:
            settled = settle_reservation(self._engine, ticket, orders.entry)
            report.inflight.append(settled)
            if settled.released:
                return
            # The fills are derived from the ticket as it was when its orders were read: a
            # ticket read after them could hold fills of a newer broker view (a concurrent run).
        if orders.entry is None:
            run.missing.append(ticket)
            return
        outcome = apply_fills(self._engine, orders, now)
        if outcome.anomaly:  # a concurrent run may have moved the ticket between our reads
            report.fills_applied += len(outcome.applied)
            orders = orders_of(self._broker, self._fresh(ticket), cfg.max_exit_attempts)
            outcome = apply_fills(self._engine, orders, now)
        entry = orders.entry
        if entry is None:
            run.missing.append(ticket)
            return
        report.fills_applied += len(outcome.applied)
        report.fills_duplicate += outcome.duplicates
        if outcome.pending_qty:
            run.pending[ticket.symbol] = run.pending.get(ticket.symbol, 0) + outcome.pending_qty
        if outcome.anomaly:
            run.mismatches[ticket.client_order_id] = outcome.anomaly
        orders = replace(orders, ticket=self._fresh(orders.ticket))
        dead = release_if_dead(self._engine, orders.ticket, entry)
        if dead is not None:
            report.inflight.append(dead)
        else:
            run.orders[ticket.client_order_id] = orders

    def _mark(self, now: datetime, report: MonitorReport, run: _Run) -> None:
        account = self._broker.account()
        tickets = self._settled_tickets(run)
        max_age = timedelta(seconds=self._config.reference_max_age_seconds)
        marks, refs = marks_for(tickets, run.first or {}, self._sessions.newest_bar, now, max_age)
        known = self._unchanged_control(run)
        run.control = None  # the marks may be written: the gauges read again unless updated
        marked = self._engine.mark_to_market(marks, account.equity, refs, tickets, known)
        report.equity, report.drawdown = marked.equity, marked.drawdown
        if known is not None:  # what the marks changed of it (a change of the rest is an event)
            portfolio = replace(known.portfolio, unrealized=marked.unrealized)
            run.control = replace(known, portfolio=portfolio)

    def _settled_tickets(self, run: _Run) -> list[Ticket]:
        """The live tickets as this run's settle step left them: read fresh there when every
        one was settled (the engine checks them against the portfolio's slot count), else
        read again."""
        if run.live is not None and len(run.orders) == len(run.live):
            return [orders.ticket for orders in run.orders.values()]
        return self._store.open_tickets()

    def _exits(self, now: datetime, report: MonitorReport, run: _Run) -> None:
        session = self._calendar.session_at(now)
        if session is None:
            return  # a market order outside the session would wait for the open: none is sent
        if not any(o.ticket.status is TicketStatus.OPEN for o in run.orders.values()):
            return  # nothing to exit: the regime is not even read
        flatten_at = flatten_time(session, self._strategies.session)
        regime = self._sessions.regime(session.day)
        flattens = (
            regime is not None
            and regime_policy(regime.regime, self._strategies).flatten_open_positions
        )
        lookback = timedelta(minutes=self._config.bar_lookback_minutes)
        committed: dict[str, int] = {}  # units this run's exits already close, per symbol
        for orders in run.orders.values():
            ticket = orders.ticket
            if ticket.status is not TicketStatus.OPEN or not ticket.qty:
                continue
            if run.first is None or ticket.symbol in run.uncertain:
                continue  # what the broker holds is not known this run: decide next run
            hold = strategy_named(ticket.strategy, self._strategies).max_hold_minutes
            rules = ExitRules(hold, flatten_at, regime_flatten=flattens)
            if orders.working_exit:
                self._release_legs(orders, exit_due(ticket, [], now, rules), report)
                continue
            bars = self._sessions.bars(ticket.underlying, now - lookback, now)
            trigger = exit_due(ticket, bars, now, rules)
            if trigger is None:
                continue
            if orders.entry is not None and orders.entry_working:
                self._broker.cancel(orders.entry.broker_order_id)  # its last fill first
                report.entries_canceled_for_exit += 1
                continue
            free = broker_free_qty(ticket, run.first, run.open_orders)
            if ticket.qty > free - committed.get(ticket.symbol, 0):
                detail = f"the broker holds {free} free of {ticket.qty}: not sent"
                report.exits.append(ExitOutcome(orders.ticket.client_order_id, trigger.reason,
                                                False, detail))  # fmt: skip
                continue
            committed[ticket.symbol] = committed.get(ticket.symbol, 0) + ticket.qty
            price = self._exit_price(ticket, bars)
            outcome = send_exit(
                self._engine,
                self._broker,
                orders,
                trigger,
                est_price=price,
                max_attempts=self._config.max_exit_attempts,
            )
            report.exits.append(outcome)
            if not outcome.sent and not outcome.detail.startswith("Broker"):
                run.alerts.append(alerting.exit_alert(outcome))

    def _release_legs(
        self, orders: TicketOrders, timed: ExitTrigger | None, report: MonitorReport
    ) -> None:
        """A bracket's legs guard its stop and target; its time stop and the regime's flatten
        are the monitor's (as in the backtester): when one is due, the legs are canceled and
        the next run, finding the position unprotected, exits it."""
        legs = working_legs(orders)
        if timed is None or not legs:
            return
        try:  # one leg: its OCO partner is canceled with it (Alpaca's bracket)
            self._broker.cancel(legs[0].broker_order_id)
        except BrokerError as exc:
            report.errors.append(f"cancel leg {legs[0].broker_order_id}: {exc}")
        else:
            report.legs_canceled_for_exit += 1

    def _reconcile(self, now: datetime, report: MonitorReport, run: _Run) -> None:
        if run.first is None:
            return  # the first read failed: nothing to compare (reported as a broker error)
        second = {p.symbol: p.qty for p in self._broker.positions()}
        first = {s: p.qty for s, p in run.first.items()}
        moved = {s for s in set(first) | set(second) if first.get(s) != second.get(s)}
        if run.live == [] and not first and not second and not run.open_orders:
            # Nothing on either side, in either read: a ticket reserved since the first read is
            # in flight, not drift, so reading the tickets again could only find a false one.
            tickets: list[Ticket] = []
        else:
            tickets = self._store.open_tickets()
        view = ReconcileView(
            broker_positions=second,
            broker_orders=[_side(o) for o in run.open_orders],
            tickets=tickets,
            known_tickets=self._known(run.open_orders, tickets),
            pending=run.pending,
            missing_entries=run.missing,
            deferred=frozenset(run.uncertain | moved),
            mismatches=run.mismatches,
        )
        report.reconciled = True
        report.deferred = sorted(view.deferred)
        drifts = reconcile(view)
        if not drifts:
            return
        report.drifts = drifts
        reason = "; ".join(d.line() for d in drifts)[:1000]
        self._engine.set_safe_mode(True, RECONCILIATION_ACTOR, reason=f"drift: {reason}")
        self._store.append_audit([drift_record(drifts, now, RECONCILIATION_ACTOR)])
        run.alerts.append(alerting.drift_alert(drifts))

    def _announce(self, report: MonitorReport, run: _Run, events: list[AuditRecord]) -> None:
        kinds = [e.kind.value for e in events]
        report.breaker_trips = kinds.count("breaker_trip")
        report.breaker_resets = kinds.count("breaker_reset")
        found = [a for i in report.inflight if (a := alerting.inflight_alert(i)) is not None]
        for alert in [*alerting.event_alerts(events), *found, *run.alerts]:
            try:
                report.alerts_sent += int(self._alerts.publish(alert))
            except AlertDeliveryError as exc:
                report.errors.append(f"alert {alert.key()}: {exc}")

    # --- helpers ----------------------------------------------------------------------------
    def _step(
        self,
        report: MonitorReport,
        name: str,
        action: Callable[[], T],
        on_error: Callable[[], object] | None = None,
    ) -> T | None:
        try:
            return action()
        except MaxTraderError as exc:
            report.errors.append(f"{name}: {type(exc).__name__}: {exc}")
            if on_error is not None:
                on_error()
            return None

    def _fresh(self, ticket: Ticket) -> Ticket:
        return self._store.ticket(ticket.client_order_id) or ticket

    def _known(self, orders: list[BrokerOrder], live: list[Ticket]) -> dict[str, Ticket]:
        """Tickets of open orders that the live set does not hold (read fresh: one reserved
        after the broker was read is known, not drift)."""
        held = {t.client_order_id for t in live}
        known: dict[str, Ticket] = {}
        for order in orders:
            ref = parse_coid(order.client_order_id)
            if ref is None:
                continue
            entry = client_order_id(ref.signal_id, OrderPurpose.ENTRY)
            if entry not in held and entry not in known:
                found = self._store.ticket(entry)
                if found is not None:
                    known[entry] = found
        return known

    def _exit_price(self, ticket: Ticket, bars: list[Bar]) -> float:
        """An exit is a market order: the price only informs the audit (reduce-only does not
        read it). The stored mark, else the underlying's last close (equity), else the entry."""
        marked = self._store.portfolio().marks.get(ticket.symbol)
        if marked:
            return marked
        if ticket.instrument is Instrument.EQUITY and bars:
            return bars[-1].close
        return ticket.avg_price


def _side(order: BrokerOrder) -> BrokerSideOrder:
    return BrokerSideOrder(order.client_order_id, order.broker_order_id, order.symbol, order.qty)
