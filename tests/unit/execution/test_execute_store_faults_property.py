"""Whatever the state store does on each call (down before writing, or written with the answer
lost) together with what the broker does, and however often the signal is delivered: at most
one order, the slot accounting always agrees with the ticket, and once the faults stop the
ticket converges to the broker's truth (CONFIRMED with its order, or RELEASED without one)."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import StateUnavailableError
from maxtrader.domain.models import AuditRecord, OrderPurpose, client_order_id
from maxtrader.domain.safety.state import Reservation, Snapshot, SnapshotKeys, Ticket, TicketStatus
from maxtrader.execution import Outcome, RetryLaterError, execute_signal
from tests.support.execution import START, Crash, message, rig

pytestmark = pytest.mark.property

WRITES = ("reserve", "update_ticket", "append_audit")
READS = ("ticket", "snapshot")
STORE_STEPS = ["ok", "down", "lost"]  # "lost": written, then the answer times out
SUBMIT_STEPS = ["ok", "unavailable", "accept_then_timeout", "reject", "crash_after_accept"]


class LossyStore(InMemoryStateStore):
    """The in-memory store whose calls follow a script: fail before touching anything, or
    commit and then fail (the write happened; the caller cannot know)."""

    def __init__(self) -> None:
        super().__init__()
        self.script: dict[str, deque[str]] = defaultdict(deque)

    def _step(self, operation: str) -> str:
        queue = self.script[operation]
        step = queue.popleft() if queue else "ok"
        if step == "down":
            raise StateUnavailableError(f"{operation}: throttled")
        return step

    def _done(self, operation: str, step: str) -> None:
        if step == "lost":
            raise StateUnavailableError(f"{operation}: timed out after writing")

    def ticket(self, client_order_id: str) -> Ticket | None:
        self._step("ticket")
        return super().ticket(client_order_id)

    def snapshot(self, keys: SnapshotKeys) -> Snapshot:
        self._step("snapshot")
        return super().snapshot(keys)

    def reserve(self, reservation: Reservation) -> None:
        step = self._step("reserve")
        super().reserve(reservation)
        self._done("reserve", step)

    def update_ticket(self, ticket: Ticket, expected_version: int, **kw: Any) -> None:
        step = self._step("update_ticket")
        super().update_ticket(ticket, expected_version, **kw)
        self._done("update_ticket", step)

    def append_audit(self, records: Sequence[AuditRecord]) -> None:
        step = self._step("append_audit")
        super().append_audit(records)
        self._done("append_audit", step)


def _consistent(store: InMemoryStateStore, ticket: Ticket | None) -> None:
    holding = ticket is not None and ticket.status.holds_slot
    portfolio = store.portfolio()
    assert portfolio.slots == int(holding)
    expected = ticket.max_loss if ticket is not None and holding else 0.0
    assert portfolio.exposure == pytest.approx(expected)


@settings(max_examples=200, deadline=None)
@given(
    store_steps=st.dictionaries(
        st.sampled_from(WRITES + READS),
        st.lists(st.sampled_from(STORE_STEPS), max_size=3),
    ),
    submits=st.lists(st.sampled_from(SUBMIT_STEPS), max_size=3),
    deliveries=st.integers(min_value=1, max_value=4),
)
def test_store_and_broker_faults_leave_one_order_and_a_ticket_that_agrees(
    store_steps: dict[str, list[str]], submits: list[str], deliveries: int
) -> None:
    clock = FixedClock(START)
    store = LossyStore()
    r = rig(store, clock)
    for operation, steps in store_steps.items():
        # A read cannot be half-done: "lost" only means something for a write.
        store.script[operation].extend(s for s in steps if operation in WRITES or s != "lost")
    r.broker.script("submit", *submits)
    msg = message()
    coid = client_order_id(msg.signal.id, OrderPurpose.ENTRY)

    def deliver() -> Outcome | None:
        try:
            return execute_signal(msg, r.deps).outcome
        except (RetryLaterError, Crash):
            return None
        finally:
            assert len(r.broker.orders) <= 1
            assert {q.client_order_id for q in r.broker.requests} <= {coid}
            _consistent(store, InMemoryStateStore.ticket(store, coid))  # unscripted read

    for _ in range(deliveries):  # while the faults last
        deliver()
    final = None
    for _ in range(12):  # SQS redelivers until a run finishes; the faults run out
        final = deliver()
        if final is not None:
            break
    assert final is not None, "never converged"
    ticket = InMemoryStateStore.ticket(store, coid)
    assert ticket is not None  # nothing ends without its reservation while the signal is fresh
    if coid in r.broker.orders:
        assert ticket.status is TicketStatus.CONFIRMED
        assert ticket.broker_order_id == r.broker.orders[coid].broker_order_id
    else:
        assert "reject" in submits and ticket.status is TicketStatus.RELEASED
    _consistent(store, ticket)
