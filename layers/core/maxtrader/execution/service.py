"""One signal -> at most one order at the broker, whatever fails in between.

    deps = ExecutionDeps(broker, engine, alerts, calendar, strategies, clock, sleep)
    result = execute_signal(message, deps)      # ExecutionResult, or RetryLaterError

The flow (docs/execution.md has the diagram and the ticket states):

1. The entry's client_order_id (``mt-<signal>-entry``, at most 48 characters) names the ticket.
   A ticket that exists means an earlier delivery got this far: CONFIRMED/OPEN/CLOSED/RELEASED
   is done; RESERVED is resumed (look the order up; send it only if the broker has none and
   the signal is still fresh).
2. A signal decided more than ``execution.signal_max_age_seconds`` ago (on the injected clock)
   is not sent; nor one stamped in the future beyond the health check's clock skew.
3. Sizing is the backtester's (trading/entries.py): the broker's account (equity, flags,
   buying power), the nearest expiry's chain for options (limit at the ask), ``size_entry``,
   ``entry_market``. A refusal here is audited NOT_SENT.
4. ``SafetyEngine.reserve``: the state is written BEFORE the broker is called, so a crash after
   the send leaves a RESERVED ticket that a redelivery or the monitor resolves.
5. ``submission.send``: lookup before any resend; a 422 duplicate resolves by lookup.
6. Accepted: ``engine.confirm``. Certainly refused: ``engine.release`` and one error toward the
   error-rate breaker. Every outcome of steps 5-6 is audited BROKER_RESPONSE with the broker's
   answers; the engine's events (a breaker trip) go out as alerts.

Unfinished work raises ``RetryLaterError`` while the signal is fresh (the queue delivers it
again and step 1 resumes it); once stale, what is left is the monitor's (IN_FLIGHT).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import NoReturn

from maxtrader.config.safety import Execution
from maxtrader.config.strategies import StrategiesConfig
from maxtrader.domain.broker import BrokerOrder, BrokerOrderStatus, OrderRequest
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import NEW_YORK, Clock
from maxtrader.domain.errors import BrokerError, InvalidInputError, StateUnavailableError
from maxtrader.domain.models import AuditKind, AuditRecord, Instrument, OrderIntent
from maxtrader.domain.options import nearest_expiry
from maxtrader.domain.ports import Alerts, Broker
from maxtrader.domain.safety.context import MarketContext
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.domain.safety.state import Ticket, TicketStatus
from maxtrader.domain.strategies.routing import strategy_named
from maxtrader.execution.alerting import publish_events
from maxtrader.execution.orders import entry_client_order_id, entry_order, resumed_order
from maxtrader.execution.outcome import ExecutionResult, NotSentCause, Outcome, RetryLaterError
from maxtrader.execution.submission import SendStatus, Sent, error_answer, send
from maxtrader.trading.entries import NotSent, choose_contract, entry_market, size_entry
from maxtrader.trading.signal_message import SignalMessage

log = logging.getLogger(__name__)
_DUPLICATE = "duplicate_signal"
_STORE_DOWN = ("state_store",)


@dataclass(frozen=True, slots=True)
class ExecutionDeps:
    broker: Broker
    engine: SafetyEngine
    alerts: Alerts
    calendar: MarketCalendar
    strategies: StrategiesConfig
    clock: Clock
    sleep: Callable[[float], None]  # between send attempts (tests: no wall-clock wait)
    actor: str = "execute"

    @property
    def rules(self) -> Execution:
        return self.engine.config.execution


def execute_signal(message: SignalMessage, deps: ExecutionDeps) -> ExecutionResult:
    """Execute ``message``'s signal once (see the module docstring)."""
    # The invocation scope drops events a previous run on this warm engine left behind.
    with deps.engine.invocation():
        try:
            return _Run(message, deps).execute()
        finally:
            publish_events(deps.alerts, deps.engine.drain_events())


class _Run:
    def __init__(self, message: SignalMessage, deps: ExecutionDeps) -> None:
        self.message = message
        self.signal = message.signal
        self.deps = deps
        self.store = deps.engine.store
        self.coid = ""
        self.approved = False  # reserved in this run (not a resumed ticket)

    # --- the steps ---------------------------------------------------------------------------
    def execute(self) -> ExecutionResult:
        try:
            self.coid = entry_client_order_id(self.signal.id)
        except InvalidInputError as exc:
            self.coid = self.signal.id
            return self._not_sent(NotSentCause.CLIENT_ORDER_ID_TOO_LONG.value, str(exc))
        ticket = self._ticket()
        if ticket is not None:
            return self._resume(ticket)
        refusal = self._freshness_refusal()
        if refusal is not None:
            return self._not_sent(*refusal)
        sized = self._size()
        if isinstance(sized, ExecutionResult):
            return sized
        verdict = self.deps.engine.reserve(*sized)
        if not verdict.approved:
            failed = tuple(c.name for c in verdict.failures)
            # Another delivery reserved it first (its slot may be why other checks failed too):
            # that reservation stands; resume it.
            if _DUPLICATE in failed:
                ticket = self._ticket()
                if ticket is not None:
                    return self._resume(ticket)
            if failed == _STORE_DOWN:  # the reservation may or may not have been written
                self._retry(self._result(Outcome.RETRY, "state_unavailable"), "reserve")
            return self._result(Outcome.REJECTED, "rejected", failed_checks=failed)
        self.approved = True
        return self._send(entry_order(sized[0]), look_up_first=False)

    def _ticket(self) -> Ticket | None:
        try:
            return self.store.ticket(self.coid)
        except StateUnavailableError as exc:
            self._retry(self._result(Outcome.RETRY, "state_unavailable"), f"ticket: {exc}")

    def _resume(self, ticket: Ticket) -> ExecutionResult:
        if ticket.status is not TicketStatus.RESERVED:
            return self._result(
                Outcome.ALREADY_DONE,
                ticket.status.value,
                broker_order_id=ticket.broker_order_id,
            )
        rules = self.deps.strategies.options
        return self._send(resumed_order(ticket, rules.option_commission), look_up_first=True)

    def _freshness_refusal(self) -> tuple[str, str] | None:
        age = self._age_seconds()
        limit = self.deps.rules.signal_max_age_seconds
        if age > limit:
            return NotSentCause.STALE.value, f"decided {age:.1f} s ago (limit {limit} s)"
        skew = self.deps.engine.config.health.max_clock_skew_seconds
        if age < -skew:
            return NotSentCause.FROM_THE_FUTURE.value, f"decided {-age:.1f} s from now"
        return None

    def _size(self) -> tuple[OrderIntent, MarketContext] | ExecutionResult:
        signal, deps = self.signal, self.deps
        try:
            account = deps.broker.account()
        except BrokerError as exc:
            return self._broker_down("account", exc)
        if not account.active or account.equity <= 0:
            detail = f"account status {account.status}, equity {account.equity:.2f}"
            return self._not_sent(NotSentCause.ACCOUNT_INACTIVE.value, detail)
        instrument = strategy_named(signal.strategy, deps.strategies).instrument
        options = deps.strategies.options
        quote = None
        if instrument is Instrument.OPTION:
            today = self._today()
            expiry = nearest_expiry(today, deps.calendar, min_dte=options.min_dte)
            try:
                chain = deps.broker.option_chain(signal.symbol, expiry)
            except BrokerError as exc:
                return self._broker_down("option_chain", exc)
            age = (deps.clock.now() - chain.as_of).total_seconds()
            if chain.quotes and age > deps.rules.quote_max_age_seconds:
                detail = f"stalest quote {age:.0f} s old"
                return self._not_sent(NotSentCause.STALE_QUOTES.value, detail)
            quote = choose_contract(
                signal, chain, underlying_price=self.message.last_price, today=today,
                rules=options,
            )  # fmt: skip
        sized = size_entry(
            signal,
            instrument=instrument,
            equity=account.equity,
            rules=options,
            last_price=self.message.last_price,
            contract=quote,
        )
        if isinstance(sized, NotSent):
            return self._not_sent(sized.reason.value, sized.detail)
        market = entry_market(
            sized,
            signal,
            regime=self.message.regime.regime,
            equity=account.equity,
            start_of_day_equity=None,  # the engine's own stored figure decides
            account=account.flags,
            buying_power=max(account.buying_power, 0.0),
        )
        return sized.intent, market

    def _send(self, order: OrderRequest, *, look_up_first: bool) -> ExecutionResult:
        sent = send(
            self.deps.broker,
            order,
            self.deps.rules,
            sleep=self.deps.sleep,
            fresh=self._fresh,
            look_up_first=look_up_first,
        )
        if sent.status is SendStatus.ACCEPTED and sent.order is not None:
            result = self._settle(sent.order, sent)
        elif sent.status is SendStatus.REJECTED:
            result = self._release(sent, f"broker_rejected: {sent.rejection}")
        else:
            reason = "stale_before_send" if sent.stale else "broker_answer_unknown"
            result = self._result(Outcome.IN_FLIGHT, reason)
        result.order_errors, result.submits = list(sent.errors), sent.submits
        result.breaker_tripped = self._count_errors(sent.errors)
        self._audit(AuditKind.BROKER_RESPONSE, self.coid, event=result.outcome.value,
                    reason=result.reason, answers=list(sent.answers))  # fmt: skip
        if result.outcome is Outcome.IN_FLIGHT and self._fresh():
            self._retry(result, result.reason)
        return result

    def _settle(self, order: BrokerOrder, sent: Sent) -> ExecutionResult:
        if order.status is BrokerOrderStatus.REJECTED or (
            order.status is BrokerOrderStatus.CANCELED and order.filled_qty == 0
        ):
            sent.errors.append(f"Order{order.status.value.capitalize()}")
            result = self._release(sent, f"broker_{order.status.value}")
            result.broker_order_id = order.broker_order_id
            result.broker_status = order.status.value
            return result
        try:
            self.deps.engine.confirm(self.coid, order.broker_order_id, self.deps.actor)
        except StateUnavailableError as exc:
            # The order exists; the ticket stays RESERVED until a rerun's lookup confirms it.
            log.warning("confirm %s failed: %s", self.coid, exc)
            result = self._result(Outcome.IN_FLIGHT, "confirm_failed")
        else:
            result = self._result(Outcome.SUBMITTED, "accepted")
            result.latency_ms = self._age_seconds() * 1000.0
        result.broker_order_id = order.broker_order_id
        result.broker_status = order.status.value
        return result

    def _release(self, sent: Sent, reason: str) -> ExecutionResult:
        sent.answers.append({"call": "release", "answer": reason[:200]})
        try:
            self.deps.engine.release(self.coid, reason[:200], self.deps.actor)
        except StateUnavailableError as exc:
            # No order exists; the ticket stays RESERVED until a rerun or the monitor releases.
            log.warning("release %s failed: %s", self.coid, exc)
            return self._result(Outcome.IN_FLIGHT, "release_failed")
        return self._result(Outcome.BROKER_REJECTED, reason[:200])

    # --- helpers -----------------------------------------------------------------------------
    def _broker_down(self, call: str, exc: BrokerError) -> NoReturn:
        """A read before anything was reserved failed: count it, audit it, try again later."""
        result = self._result(Outcome.RETRY, f"broker_unavailable: {call}")
        result.order_errors = [type(exc).__name__]
        result.breaker_tripped = self._count_errors(result.order_errors)
        self._audit(AuditKind.BROKER_RESPONSE, self.signal.id, event="retry",
                    answers=[error_answer(call, exc)])  # fmt: skip
        self._retry(result, f"{call}: {exc}")

    def _count_errors(self, kinds: list[str]) -> bool:
        tripped = False
        for kind in kinds:
            try:
                tripped = self.deps.engine.record_order_error(f"{kind} on {self.coid}") or tripped
            except StateUnavailableError as exc:  # the breaker cannot count it: say so
                log.error("order error %s on %s not counted: %s", kind, self.coid, exc)
        return tripped

    def _not_sent(self, reason: str, detail: str) -> ExecutionResult:
        signal = self.signal
        self._audit(AuditKind.NOT_SENT, signal.id, reason=reason, detail=detail,
                    strategy=signal.strategy, symbol=signal.symbol)  # fmt: skip
        return self._result(Outcome.NOT_SENT, reason)

    def _audit(self, kind: AuditKind, subject: str, **detail: object) -> None:
        record = AuditRecord.model_validate(
            {"ts": self.deps.clock.now(), "kind": kind, "subject": subject,
             "actor": self.deps.actor, "detail": {"signal_id": self.signal.id, **detail}}
        )  # fmt: skip
        try:
            self.store.append_audit([record])
        except StateUnavailableError as exc:  # the outcome stands; the log keeps it
            log.error("audit %s of %s not written: %s (%s)", kind, subject, exc, detail)

    def _result(
        self,
        outcome: Outcome,
        reason: str,
        *,
        failed_checks: tuple[str, ...] = (),
        broker_order_id: str | None = None,
    ) -> ExecutionResult:
        return ExecutionResult(
            outcome,
            self.signal.id,
            self.coid,
            reason,
            broker_order_id=broker_order_id,
            failed_checks=failed_checks,
            approved=self.approved,
        )

    def _retry(self, result: ExecutionResult, why: str) -> NoReturn:
        raise RetryLaterError(result, f"{self.coid}: {why}")

    def _age_seconds(self) -> float:
        return (self.deps.clock.now() - self.message.decided_at).total_seconds()

    def _fresh(self) -> bool:
        return self._age_seconds() <= self.deps.rules.signal_max_age_seconds

    def _today(self) -> date:
        now: datetime = self.deps.clock.now()
        return now.astimezone(NEW_YORK).date()
