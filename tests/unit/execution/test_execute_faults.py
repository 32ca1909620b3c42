"""The order path when the broker or the state store fails: lookup before any resend, bounded
backoff, releases on certain refusals, and at most one order per signal across redeliveries."""

from __future__ import annotations

from typing import Any

import pytest

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.config.safety import SafetyConfig
from maxtrader.domain.broker import BrokerOrderStatus
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import StateUnavailableError
from maxtrader.domain.models import AuditKind
from maxtrader.domain.safety.state import BreakerName, Reservation, Ticket, TicketStatus
from maxtrader.execution import Outcome, RetryLaterError, execute_signal
from tests.support.execution import START, Crash, broker_answers, message, rig
from tests.support.safety import uniform_config


class FlakyStore(InMemoryStateStore):
    """The in-memory store, whose chosen methods raise StateUnavailableError ``n`` times."""

    def __init__(self) -> None:
        super().__init__()
        self.failures: dict[str, int] = {}

    def fail(self, method: str, times: int = 1) -> None:
        self.failures[method] = times

    def _maybe_fail(self, method: str) -> None:
        if self.failures.get(method, 0) > 0:
            self.failures[method] -= 1
            raise StateUnavailableError(f"{method}: throttled")

    def ticket(self, client_order_id: str) -> Ticket | None:
        self._maybe_fail("ticket")
        return super().ticket(client_order_id)

    def reserve(self, reservation: Reservation) -> None:
        self._maybe_fail("reserve")
        super().reserve(reservation)

    def update_ticket(self, ticket: Ticket, expected_version: int, **kw: Any) -> None:
        self._maybe_fail("update_ticket")
        super().update_ticket(ticket, expected_version, **kw)


# --- the broker ---------------------------------------------------------------------------------
def test_a_timeout_after_the_broker_accepted_is_resolved_by_lookup_without_a_resend(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    r = rig(store, clock)
    r.broker.script("submit", "accept_then_timeout")
    result = execute_signal(message(), r.deps)
    assert result.outcome is Outcome.SUBMITTED and result.submits == 1
    assert len(r.broker.requests) == 1 and len(r.broker.orders) == 1
    assert r.sleeps == []  # found at once, no backoff
    assert result.order_errors == ["BrokerUnavailableError"]
    ticket = store.ticket(result.client_order_id)
    assert ticket is not None and ticket.status is TicketStatus.CONFIRMED
    [answers] = broker_answers(store)
    assert [a["call"] for a in answers] == ["submit", "lookup"]


def test_a_malformed_answer_is_resolved_by_lookup(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    r = rig(store, clock)
    r.broker.script("submit", "accept_then_garble")
    result = execute_signal(message(), r.deps)
    assert result.outcome is Outcome.SUBMITTED and len(r.broker.requests) == 1
    assert result.order_errors == ["BrokerResponseError"]


def test_an_unavailable_broker_is_looked_up_then_retried_after_a_bounded_backoff(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    r = rig(store, clock)
    r.broker.script("submit", "unavailable", "unavailable")
    result = execute_signal(message(), r.deps)
    assert result.outcome is Outcome.SUBMITTED and result.submits == 3
    assert r.sleeps == [0.25, 0.5]  # doubling
    assert r.broker.calls["lookup"] == 2  # one lookup before each resend
    assert len(r.broker.orders) == 1


def test_a_late_landing_send_answered_422_is_resolved_by_lookup_not_counted_as_a_reject(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    r = rig(store, clock)
    # The send times out, the lookup finds nothing, the order lands just after: the resend
    # is refused as a duplicate, and the lookup then finds the one order.
    r.broker.script("submit", "land_late")
    result = execute_signal(message(), r.deps)
    assert result.outcome is Outcome.SUBMITTED
    assert len(r.broker.orders) == 1 and len(r.broker.requests) == 2
    assert result.order_errors == ["BrokerUnavailableError"]  # the 422 is not an error
    [answers] = broker_answers(store)
    assert [a["answer"] for a in answers] == [
        "BrokerUnavailableError", "not_found", "DuplicateClientOrderIdError", "order",
    ]  # fmt: skip
    ticket = store.ticket(result.client_order_id)
    assert ticket is not None and ticket.status is TicketStatus.CONFIRMED


def test_a_lookup_that_fails_is_never_followed_by_a_resend(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    r = rig(store, clock)
    r.broker.script("submit", "accept_then_timeout")
    r.broker.script("lookup", "unavailable", "unavailable", "unavailable", "unavailable")
    with pytest.raises(RetryLaterError) as caught:
        execute_signal(message(), r.deps)
    assert caught.value.result.outcome is Outcome.IN_FLIGHT
    assert len(r.broker.requests) == 1  # never resent without a "not found"
    ticket = store.ticket(caught.value.result.client_order_id)
    assert ticket is not None and ticket.status is TicketStatus.RESERVED  # not released
    again = execute_signal(message(), r.deps)  # the redelivery finds the order
    assert again.outcome is Outcome.SUBMITTED and len(r.broker.requests) == 1


def test_a_certain_reject_releases_the_reservation_and_counts_one_error(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    r = rig(store, clock)
    r.broker.script("submit", "reject")
    result = execute_signal(message(), r.deps)
    assert result.outcome is Outcome.BROKER_REJECTED
    assert result.order_errors == ["BrokerRejectedError"] and r.broker.calls["lookup"] == 0
    ticket = store.ticket(result.client_order_id)
    assert ticket is not None and ticket.status is TicketStatus.RELEASED
    assert store.portfolio().slots == 0 and store.portfolio().exposure == pytest.approx(0.0)
    assert len(store.breaker(BreakerName.ERROR_RATE).events) == 1
    [answers] = broker_answers(store)
    first = answers[0]
    assert (first["http_status"], first["code"]) == (403, 40310000)
    # A redelivery of a released signal does nothing.
    assert execute_signal(message(), r.deps).outcome is Outcome.ALREADY_DONE
    assert len(r.broker.requests) == 1


def test_an_order_the_broker_accepted_then_rejected_is_released(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    r = rig(store, clock)
    r.broker.order_status = BrokerOrderStatus.REJECTED
    result = execute_signal(message(), r.deps)
    assert result.outcome is Outcome.BROKER_REJECTED and result.broker_status == "rejected"
    assert store.portfolio().slots == 0


def test_five_rejects_trip_the_error_rate_breaker_and_alert_once(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    config = uniform_config({"min_seconds_between_trades": 0, "max_daily_trades": 100,
                             "max_daily_trades_per_strategy": 100})  # fmt: skip
    r = rig(store, clock, config=config)
    results = []
    for n in range(5):
        r.broker.script("submit", "reject")
        results.append(execute_signal(message(minute=-n, decided_at=START), r.deps))
    assert [x.breaker_tripped for x in results] == [False] * 4 + [True]
    [sent] = r.alerts.sent
    assert "error_rate" in sent.alert.subject and "tripped" in sent.alert.subject
    blocked = execute_signal(message(minute=-9, decided_at=START), r.deps)
    assert blocked.outcome is Outcome.REJECTED and "circuit_breaker" in blocked.failed_checks
    assert len(r.broker.requests) == 5


def test_attempts_spent_while_fresh_retry_later_and_the_redelivery_sends_it_once(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    r = rig(store, clock)
    r.broker.script("submit", "unavailable", "unavailable", "unavailable")
    with pytest.raises(RetryLaterError) as caught:
        execute_signal(message(), r.deps)
    assert caught.value.result.outcome is Outcome.IN_FLIGHT
    assert caught.value.result.order_errors == ["BrokerUnavailableError"] * 3
    assert r.broker.orders == {}
    again = execute_signal(message(), r.deps)
    assert again.outcome is Outcome.SUBMITTED and len(r.broker.orders) == 1


def test_a_signal_that_goes_stale_during_the_backoff_is_left_reserved_for_the_monitor(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    config = SafetyConfig.model_validate(
        {"execution": {"signal_max_age_seconds": 1, "backoff_seconds": 2.0}}
    )
    r = rig(store, clock, config=config)
    r.broker.script("submit", "unavailable")
    result = execute_signal(message(decided_at=START), r.deps)  # no raise: nothing to retry
    assert result.outcome is Outcome.IN_FLIGHT and result.reason == "stale_before_send"
    assert result.submits == 1 and r.broker.orders == {}
    ticket = store.ticket(result.client_order_id)
    assert ticket is not None and ticket.status is TicketStatus.RESERVED


def test_a_crash_after_the_broker_accepted_is_resumed_by_the_rerun_without_a_second_order(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    r = rig(store, clock)
    r.broker.script("submit", "crash_after_accept")
    with pytest.raises(Crash):
        execute_signal(message(), r.deps)
    coid = next(iter(r.broker.orders))
    ticket = store.ticket(coid)
    assert ticket is not None and ticket.status is TicketStatus.RESERVED  # state before broker
    result = execute_signal(message(), r.deps)  # the Lambda re-run
    assert result.outcome is Outcome.SUBMITTED
    assert len(r.broker.requests) == 1 and r.broker.calls["lookup"] == 1
    confirmed = store.ticket(coid)
    assert confirmed is not None
    assert confirmed.broker_order_id == r.broker.orders[coid].broker_order_id


def test_a_crash_before_the_send_is_resumed_with_the_reserved_order(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    r = rig(store, clock)
    r.broker.script("submit", "crash_before_send")
    with pytest.raises(Crash):
        execute_signal(message(), r.deps)
    first = r.broker.requests[0]
    result = execute_signal(message(), r.deps)
    assert result.outcome is Outcome.SUBMITTED
    assert r.broker.requests[1] == first  # rebuilt from the ticket: the same order
    assert len(r.broker.orders) == 1 and store.portfolio().slots == 1


def test_three_deliveries_give_one_order(store: InMemoryStateStore, clock: FixedClock) -> None:
    r = rig(store, clock)
    outcomes = [execute_signal(message(), r.deps).outcome for _ in range(3)]
    assert outcomes == [Outcome.SUBMITTED, Outcome.ALREADY_DONE, Outcome.ALREADY_DONE]
    assert len(r.broker.requests) == 1


# --- the state store ----------------------------------------------------------------------------
def test_a_store_down_before_the_reservation_retries_later_with_nothing_sent(
    clock: FixedClock,
) -> None:
    store = FlakyStore()
    r = rig(store, clock)
    store.fail("ticket")
    with pytest.raises(RetryLaterError):
        execute_signal(message(), r.deps)
    store.fail("reserve")
    with pytest.raises(RetryLaterError) as caught:
        execute_signal(message(), r.deps)
    assert caught.value.result.reason == "state_unavailable"
    assert r.broker.requests == [] and store.open_tickets() == []
    assert execute_signal(message(), r.deps).outcome is Outcome.SUBMITTED


def test_a_store_down_after_the_send_keeps_the_ticket_and_the_rerun_confirms_it(
    clock: FixedClock,
) -> None:
    store = FlakyStore()
    r = rig(store, clock)
    store.fail("update_ticket")  # the first run's confirm
    with pytest.raises(RetryLaterError) as caught:
        execute_signal(message(), r.deps)
    assert caught.value.result.reason == "confirm_failed"
    coid = caught.value.result.client_order_id
    ticket = store.ticket(coid)
    assert ticket is not None and ticket.status is TicketStatus.RESERVED
    assert store.portfolio().slots == 1  # no lost reservation
    result = execute_signal(message(), r.deps)
    assert result.outcome is Outcome.SUBMITTED and len(r.broker.requests) == 1
    confirmed = store.ticket(coid)
    assert confirmed is not None and confirmed.status is TicketStatus.CONFIRMED


def test_a_store_down_at_the_release_keeps_the_slot_and_the_rerun_releases_it(
    clock: FixedClock,
) -> None:
    store = FlakyStore()
    r = rig(store, clock)
    r.broker.script("submit", "reject", "reject")
    store.fail("update_ticket")  # the first run's release
    with pytest.raises(RetryLaterError) as caught:
        execute_signal(message(), r.deps)
    assert caught.value.result.reason == "release_failed"
    assert caught.value.result.order_errors == ["BrokerRejectedError"]  # counted once
    coid = caught.value.result.client_order_id
    ticket = store.ticket(coid)
    assert ticket is not None and ticket.status is TicketStatus.RESERVED
    assert store.portfolio().slots == 1  # held while its release is unwritten
    # The rerun looks it up (no order), resends, is refused again (checked by a second
    # lookup, since the first send might have landed) and releases it.
    result = execute_signal(message(), r.deps)
    assert result.outcome is Outcome.BROKER_REJECTED
    assert r.broker.calls["lookup"] == 2 and r.broker.orders == {}
    released = store.ticket(coid)
    assert released is not None and released.status is TicketStatus.RELEASED
    assert store.portfolio().slots == 0 and store.portfolio().exposure == pytest.approx(0.0)
    assert len(store.breaker(BreakerName.ERROR_RATE).events) == 2  # two real refusals


def test_a_resend_refused_for_buying_power_the_first_send_took_is_resolved_by_lookup(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    # Found by the property test: the first send lands late and holds the buying power; the
    # resend is refused 403. Releasing then would leave a live order behind a released ticket.
    r = rig(store, clock)
    r.broker.script("submit", "land_late", "reject")
    result = execute_signal(message(), r.deps)
    assert result.outcome is Outcome.SUBMITTED and len(r.broker.orders) == 1
    ticket = store.ticket(result.client_order_id)
    assert ticket is not None and ticket.status is TicketStatus.CONFIRMED
    assert result.order_errors == ["BrokerUnavailableError", "BrokerRejectedError"]


def test_a_delivery_that_loses_the_race_for_the_last_slot_resumes_the_winner(
    store: InMemoryStateStore, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both deliveries sized the signal; the first reserved the last slot. The second's verdict
    # fails duplicate_signal AND concurrent_positions (the winner's own slot): it must resume
    # the winner's ticket, not report a rejection.
    config = uniform_config({"max_concurrent_positions": 1})
    r = rig(store, clock, config=config)
    msg = message()
    r.broker.script("submit", "crash_before_send")
    with pytest.raises(Crash):
        execute_signal(msg, r.deps)  # the winner reserved, then died before sending
    coid = r.broker.requests[0].client_order_id
    store_ticket = store.ticket(coid)
    assert store_ticket is not None and store_ticket.status is TicketStatus.RESERVED
    # The loser read "no ticket" before the winner's reservation landed:
    monkeypatch.setattr(store, "ticket", _none_first(store.ticket))
    result = execute_signal(msg, r.deps)
    assert result.outcome is Outcome.SUBMITTED and len(r.broker.orders) == 1
    verdicts = [v for v in store.audit_log("2024-06-03") if v.kind is AuditKind.VERDICT]
    failures: Any = verdicts[-1].detail["failures"]
    assert {"duplicate_signal", "concurrent_positions"} <= {f["name"] for f in failures}


def _none_first(read: Any) -> Any:
    """``read``, except that its first call answers None (a read that lost a race)."""
    calls = []

    def ticket(client_order_id: str) -> Any:
        calls.append(client_order_id)
        return None if len(calls) == 1 else read(client_order_id)

    return ticket
