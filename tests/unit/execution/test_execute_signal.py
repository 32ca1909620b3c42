"""execute_signal on the in-memory store and a fake broker: the flow, the refusals, the audit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.domain.broker import OrderType
from maxtrader.domain.clock import FixedClock, trading_date
from maxtrader.domain.models import (
    AuditKind,
    AuditRecord,
    Direction,
    Instrument,
    OptionRight,
    OrderSide,
)
from maxtrader.domain.safety.context import AccountFlags
from maxtrader.domain.safety.state import BreakerName, TicketStatus
from maxtrader.execution import MAX_CLIENT_ORDER_ID, Outcome, RetryLaterError, execute_signal
from tests.support.execution import (
    OPTION_STRATEGIES,
    START,
    broker_answers,
    chain_around,
    message,
    rig,
)


def audit(store: InMemoryStateStore, kind: AuditKind | None = None) -> list[AuditRecord]:
    records = store.audit_log(trading_date(START))
    return [r for r in records if kind is None or r.kind is kind]


# --- the happy paths ---------------------------------------------------------------------------
def test_an_equity_signal_becomes_one_bracket_order_and_a_confirmed_ticket(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    r = rig(store, clock)
    msg = message()
    clock.advance(2.5)  # 2.5 s after the bar closed
    result = execute_signal(msg, r.deps)

    assert result.outcome is Outcome.SUBMITTED
    assert result.client_order_id == f"mt-{msg.signal.id}-entry"
    [order] = r.broker.requests
    assert order.client_order_id == result.client_order_id
    assert (order.symbol, order.side, order.type) == ("SPY", OrderSide.BUY, OrderType.MARKET)
    # The backtester's sizing: min(1 % x 100,000, 500) / |500 - 495| = 100 shares.
    assert order.qty == 100
    assert (order.stop_loss, order.take_profit) == (495.0, 510.0)
    ticket = store.ticket(result.client_order_id)
    assert ticket is not None and ticket.status is TicketStatus.CONFIRMED
    assert ticket.broker_order_id == r.broker.orders[order.client_order_id].broker_order_id
    assert result.broker_order_id == ticket.broker_order_id
    assert result.latency_ms == pytest.approx(2500.0)
    assert store.portfolio().slots == 1
    [answers] = broker_answers(store, "submitted")
    assert answers[0]["call"] == "submit"
    assert answers[0]["broker_order_id"] == ticket.broker_order_id


@pytest.mark.parametrize(
    ("side", "right", "strike"),
    [(Direction.LONG, OptionRight.CALL, 500.0), (Direction.SHORT, OptionRight.PUT, 500.0)],
)
def test_an_option_signal_buys_the_nearest_strike_of_its_right_at_the_ask(
    store: InMemoryStateStore, clock: FixedClock, side: Direction, right: OptionRight,
    strike: float,
) -> None:  # fmt: skip
    r = rig(store, clock, strategies=OPTION_STRATEGIES)
    r.broker.chain = chain_around(500.0, right, ask=2.05)
    result = execute_signal(message(side=side), r.deps)

    assert result.outcome is Outcome.SUBMITTED
    [order] = r.broker.requests
    assert order.instrument is Instrument.OPTION and order.side is OrderSide.BUY
    assert order.type is OrderType.LIMIT and order.limit_price == 2.05
    assert order.symbol.endswith(("C" if right is OptionRight.CALL else "P") + "00500000")
    assert order.qty == 2  # floor(500 / 205)
    assert order.stop_loss is None  # options carry no bracket
    assert r.broker.calls["chain"] == 1


# --- refusals before the safety layer ---------------------------------------------------------
def test_a_signal_older_than_the_bound_is_not_sent_and_the_broker_is_not_asked(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    r = rig(store, clock)
    limit = r.deps.rules.signal_max_age_seconds
    msg = message()
    clock.advance(limit + 0.001)
    result = execute_signal(msg, r.deps)
    assert result.outcome is Outcome.NOT_SENT and result.reason == "stale_signal"
    assert r.broker.calls == {}  # not even the account
    assert store.ticket(result.client_order_id) is None
    [record] = audit(store, AuditKind.NOT_SENT)
    assert record.subject == msg.signal.id and record.detail["reason"] == "stale_signal"


def test_a_signal_exactly_at_the_bound_is_still_sent(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    r = rig(store, clock)
    msg = message()
    clock.advance(r.deps.rules.signal_max_age_seconds)
    assert execute_signal(msg, r.deps).outcome is Outcome.SUBMITTED


def test_a_signal_stamped_in_the_future_is_not_sent(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    r = rig(store, clock)
    msg = message(decided_at=START + timedelta(seconds=30))
    result = execute_signal(msg, r.deps)
    assert result.outcome is Outcome.NOT_SENT and result.reason == "signal_from_the_future"
    assert r.broker.requests == []


@pytest.mark.parametrize(("length", "sent"), [(39, True), (40, False), (64, False)])
def test_the_client_order_id_bound_of_48_characters(
    store: InMemoryStateStore, clock: FixedClock, length: int, sent: bool
) -> None:
    r = rig(store, clock)
    result = execute_signal(message(signal_id="s" * length), r.deps)
    if sent:
        assert result.outcome is Outcome.SUBMITTED
        assert len(r.broker.requests[0].client_order_id) == MAX_CLIENT_ORDER_ID
    else:
        assert result.outcome is Outcome.NOT_SENT
        assert result.reason == "client_order_id_too_long"
        assert r.broker.calls == {} and store.open_tickets() == []


def test_an_inactive_account_is_not_traded(store: InMemoryStateStore, clock: FixedClock) -> None:
    r = rig(store, clock)
    r.broker.account_state = r.broker.account_state.model_copy(update={"status": "ACCOUNT_CLOSED"})
    result = execute_signal(message(), r.deps)
    assert result.outcome is Outcome.NOT_SENT and result.reason == "account_inactive"
    assert r.broker.requests == []


def test_blocked_account_flags_reject_through_the_safety_layer(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    r = rig(store, clock)
    flags = AccountFlags(trading_blocked=True)
    r.broker.account_state = r.broker.account_state.model_copy(update={"flags": flags})
    result = execute_signal(message(), r.deps)
    assert result.outcome is Outcome.REJECTED and "account_flags" in result.failed_checks
    assert r.broker.requests == [] and store.open_tickets() == []


def test_no_tradeable_contract_is_not_sent(store: InMemoryStateStore, clock: FixedClock) -> None:
    r = rig(store, clock, strategies=OPTION_STRATEGIES)  # the broker lists no contract
    result = execute_signal(message(), r.deps)
    assert result.outcome is Outcome.NOT_SENT and result.reason == "no_tradeable_contract"
    [record] = audit(store, AuditKind.NOT_SENT)
    assert record.detail["reason"] == "no_tradeable_contract"


def test_a_budget_below_one_contract_is_not_sent(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    r = rig(store, clock, strategies=OPTION_STRATEGIES)
    r.broker.chain = chain_around(500.0, OptionRight.CALL, ask=5.01)  # 501 > the 500 budget
    result = execute_signal(message(), r.deps)
    assert result.outcome is Outcome.NOT_SENT and result.reason == "size_below_one_unit"


def test_a_chain_with_stale_quotes_is_not_traded(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    r = rig(store, clock, strategies=OPTION_STRATEGIES)
    stale = START - timedelta(seconds=r.deps.rules.quote_max_age_seconds + 1)
    r.broker.chain = chain_around(500.0, OptionRight.CALL, as_of=stale)
    result = execute_signal(message(), r.deps)
    assert result.outcome is Outcome.NOT_SENT and result.reason == "stale_quotes"


def test_a_safety_rejection_sends_nothing_and_names_every_failed_check(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    r = rig(store, clock)
    r.deps.engine.engage_kill_switch("arn:aws:iam::123456789012:user/ops", "test")
    result = execute_signal(message(), r.deps)
    assert result.outcome is Outcome.REJECTED and "kill_switch" in result.failed_checks
    assert r.broker.requests == [] and store.open_tickets() == []


def test_a_caller_equity_off_the_stored_mark_by_more_than_1_pct_fails_closed(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    r = rig(store, clock)  # the stored mark is 100,000
    r.broker.account_state = r.broker.account_state.model_copy(update={"equity": 101_500.0})
    result = execute_signal(message(), r.deps)
    assert result.outcome is Outcome.REJECTED and "state_figures" in result.failed_checks
    assert r.broker.requests == []


def test_an_account_read_that_fails_retries_later_with_nothing_reserved(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    r = rig(store, clock)
    r.broker.script("account", "unavailable")
    msg = message()
    with pytest.raises(RetryLaterError) as caught:
        execute_signal(msg, r.deps)
    assert caught.value.result.outcome is Outcome.RETRY
    assert caught.value.result.order_errors == ["BrokerUnavailableError"]
    assert store.open_tickets() == [] and r.broker.requests == []
    assert len(store.breaker(BreakerName.ERROR_RATE).events) == 1  # counted toward the breaker
    assert execute_signal(msg, r.deps).outcome is Outcome.SUBMITTED  # the redelivery
