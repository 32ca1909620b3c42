"""Whatever the broker does on each call and however often the signal is delivered, one signal
gives at most one order, and once the faults stop the state converges to the broker's."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.config.safety import Execution
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.models import (
    Instrument,
    OptionRight,
    OrderPurpose,
    OrderSide,
    client_order_id,
)
from maxtrader.domain.safety.state import Ticket, TicketStatus
from maxtrader.execution import Outcome, RetryLaterError, execute_signal
from maxtrader.execution.orders import entry_order, resumed_order
from maxtrader.execution.submission import backoff
from tests.support.execution import (
    EQUITY_STRATEGIES,
    OPTION_STRATEGIES,
    START,
    Crash,
    chain_around,
    message,
    rig,
)
from tests.support.safety import option_entry

pytestmark = pytest.mark.property

SUBMIT_STEPS = ["ok", "unavailable", "accept_then_timeout", "accept_then_garble", "land_late",
                "reject", "crash_after_accept", "crash_before_send"]  # fmt: skip
READ_STEPS = ["ok", "unavailable"]


@settings(max_examples=150, deadline=None)
@given(
    option=st.booleans(),
    submits=st.lists(st.sampled_from(SUBMIT_STEPS), max_size=5),
    lookups=st.lists(st.sampled_from(READ_STEPS), max_size=5),
    accounts=st.lists(st.sampled_from(READ_STEPS), max_size=2),
    pauses=st.lists(st.floats(min_value=0, max_value=5), min_size=1, max_size=5),
)
def test_at_most_one_order_and_convergence(
    option: bool, submits: list[str], lookups: list[str], accounts: list[str],
    pauses: list[float],
) -> None:  # fmt: skip
    clock = FixedClock(START)
    store = InMemoryStateStore()
    r = rig(store, clock, strategies=OPTION_STRATEGIES if option else EQUITY_STRATEGIES)
    r.broker.chain = chain_around(500.0, OptionRight.CALL)
    r.broker.script("submit", *submits)
    r.broker.script("lookup", *lookups)
    r.broker.script("account", *accounts)
    msg = message()
    coid = client_order_id(msg.signal.id, OrderPurpose.ENTRY)
    for pause in pauses:  # deliveries while the faults last
        with contextlib.suppress(RetryLaterError, Crash):
            execute_signal(msg, r.deps)
        clock.advance(pause)
        assert len(r.broker.orders) <= 1
        assert {q.client_order_id for q in r.broker.requests} <= {coid}
        assert len({q.model_dump_json() for q in r.broker.requests}) <= 1  # one order content
        _consistent(store, store.ticket(coid))
    for _ in range(8):  # redeliveries use up the faults left; a clean one settles everything
        try:
            final = execute_signal(msg, r.deps)
            break
        except (RetryLaterError, Crash):
            continue
    else:
        pytest.fail("never converged")
    ticket = store.ticket(coid)
    assert ticket is not None
    if coid in r.broker.orders:
        assert ticket.status is TicketStatus.CONFIRMED
        assert ticket.broker_order_id == r.broker.orders[coid].broker_order_id
        assert final.outcome in (Outcome.SUBMITTED, Outcome.ALREADY_DONE)
    else:
        assert "reject" in submits and ticket.status is TicketStatus.RELEASED
    _consistent(store, ticket)


def _consistent(store: InMemoryStateStore, ticket: Ticket | None) -> None:
    holding = ticket is not None and ticket.status.holds_slot
    assert store.portfolio().slots == int(holding)
    expected = ticket.max_loss if ticket is not None and holding else 0.0
    assert store.portfolio().exposure == pytest.approx(expected)


@settings(max_examples=200, deadline=None)
@given(
    ask=st.integers(min_value=5, max_value=5000).map(lambda cents: cents / 100),
    contracts=st.integers(min_value=1, max_value=50),
    commission=st.sampled_from([0.0, 0.5, 0.65, 1.0]),
)
def test_an_option_order_rebuilt_from_its_ticket_is_the_order_reserved(
    ask: float, contracts: int, commission: float
) -> None:
    intent = option_entry(premium=ask, contracts=contracts).model_copy(
        update={"limit_price": ask, "fees": commission * contracts, "side": OrderSide.BUY}
    )
    loss = ask * 100 * contracts + commission * contracts
    ticket = Ticket.reserved(intent, loss, START)
    assert intent.instrument is Instrument.OPTION
    assert resumed_order(ticket, commission) == entry_order(intent)


@given(st.integers(min_value=1, max_value=20))
def test_the_backoff_doubles_and_is_bounded(retry: int) -> None:
    rules = Execution()
    wait = backoff(rules, retry)
    assert 0 < wait <= rules.backoff_max_seconds
    assert wait >= backoff(rules, max(retry - 1, 1))
