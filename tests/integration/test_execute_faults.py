"""Faults on the order path, end to end (the real alpaca-py client against the emulator, state
on moto server): broker 500 / 429 / 504 / timeouts / malformed bodies, DynamoDB throttled or
timing out during the reservation and after the submit. Whatever fails: no duplicate order, no
lost reservation, and once redelivered the state agrees with the broker."""

from __future__ import annotations

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from maxtrader.adapters.dynamodb_store import CLIENT_CONFIG
from maxtrader.domain.safety.state import TicketStatus
from maxtrader.emulators.alpaca import Fault
from maxtrader.trading.signal_message import SignalMessage
from tests.support.alpaca_env import make_broker
from tests.support.execute_harness import (
    CommitThenTimeout,
    ExecuteStage,
    HookedBroker,
    sqs_record,
)
from tests.support.execution import message
from tests.support.flaky_client import FlakyClient, throttled

pytest_plugins = ("tests.support.alpaca_fixtures", "tests.support.execute_fixtures")


@pytest.fixture
def stage(execute_stage: ExecuteStage) -> ExecuteStage:
    """This module's ``stage``: each support plugin names its own (plugins are global, and three
    defined ``stage``: which one a module got depended on the collection order)."""
    return execute_stage


pytestmark = [
    pytest.mark.faults,
    pytest.mark.xdist_group("cdk"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


REJECT = '{"code": 40310000, "message": "insufficient buying power"}'


def signal() -> SignalMessage:
    return message(risk=50.0)  # 10 shares


def settled(stage: ExecuteStage, msg: SignalMessage) -> None:
    """One order at the broker, its ticket CONFIRMED with the broker's id, one slot held."""
    orders = stage.entry_orders()
    coid = f"mt-{msg.signal.id}-entry"
    assert list(orders) == [coid]
    store = stage.store()
    ticket = store.ticket(coid)
    assert ticket is not None and ticket.status is TicketStatus.CONFIRMED
    assert ticket.broker_order_id == orders[coid]["id"]
    assert store.portfolio().slots == 1
    assert store.portfolio().exposure == pytest.approx(ticket.max_loss)
    assert [i["status"]["S"] for i in stage.idempotency_items()] == ["COMPLETED"]


def redeliver_until_done(stage: ExecuteStage, msg: SignalMessage, tries: int = 4) -> int:
    """SQS's redeliveries: invoke until the record succeeds; how many invocations failed."""
    for failed in range(tries):
        try:
            answer = stage.invoke(sqs_record(msg, receive_count=failed + 1))
        except BatchProcessingError:  # the one record failed: the whole invocation did
            continue
        if answer == {"batchItemFailures": []}:
            return failed
    pytest.fail(f"still failing after {tries} deliveries")


# --- the broker -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fault", "acted"),
    [
        (Fault.of_status(500), False),
        (Fault.of_status(429), False),
        (Fault.of_status(503), False),
        (Fault.timeout(), False),
        (Fault.of_status(504, after_action=True), True),
        (Fault.timeout_after_accept(), True),
        (Fault.malformed(), True),
    ],
    ids=["500", "429", "503", "timeout", "504-after-accept", "timeout-after-accept", "malformed"],
)
def test_a_broker_fault_on_submit_gives_exactly_one_order(
    stage: ExecuteStage, fault: Fault, acted: bool
) -> None:
    stage.emulator.inject("submit_order", fault)
    msg = signal()
    assert redeliver_until_done(stage, msg) == 0
    settled(stage, msg)
    # Looked up before anything was sent again: a resend only when the broker had nothing.
    assert stage.emulator.count("order_by_client_id") == 1
    assert stage.emulator.count("submit_order") == (1 if acted else 2)
    assert stage.sleeps == ([] if acted else [0.25])


def test_a_lookup_that_keeps_failing_never_leads_to_a_resend(stage: ExecuteStage) -> None:
    stage.emulator.inject("submit_order", Fault.timeout_after_accept())
    # The adapter retries a read twice itself: three 500s fail one lookup.
    stage.emulator.inject("order_by_client_id", Fault.of_status(500), times=3)
    msg = signal()
    assert redeliver_until_done(stage, msg) == 0
    settled(stage, msg)
    assert stage.emulator.count("submit_order") == 1


def test_a_bare_404_on_the_lookup_is_not_taken_for_no_order(stage: ExecuteStage) -> None:
    # The send landed, its answer was lost; the lookup gets a proxy's 404 page. Taken for "no
    # such order" it would lead to a resend (refused 422 only thanks to the broker).
    stage.emulator.inject("submit_order", Fault.timeout_after_accept())
    stage.emulator.inject("order_by_client_id", Fault.body(404, "<html>Not Found</html>"))
    msg = signal()
    assert redeliver_until_done(stage, msg) == 0
    settled(stage, msg)
    assert stage.emulator.count("submit_order") == 1  # looked up again instead
    assert stage.emulator.count("order_by_client_id") == 2


def test_a_broker_down_for_every_attempt_retries_later_and_sends_once(
    stage: ExecuteStage,
) -> None:
    stage.emulator.inject("submit_order", Fault.of_status(500), times=3)
    msg = signal()
    assert redeliver_until_done(stage, msg) == 1
    settled(stage, msg)
    assert stage.emulator.count("submit_order") == 4  # 3 refused, then the one order


def test_a_certain_reject_releases_the_reservation(stage: ExecuteStage) -> None:
    stage.emulator.inject("submit_order", Fault.body(403, REJECT))
    msg = signal()
    assert stage.invoke(sqs_record(msg)) == {"batchItemFailures": []}
    store = stage.store()
    ticket = store.ticket(f"mt-{msg.signal.id}-entry")
    assert ticket is not None and ticket.status is TicketStatus.RELEASED
    assert store.portfolio().slots == 0 and stage.entry_orders() == {}
    assert stage.invoke(sqs_record(msg, receive_count=2)) == {"batchItemFailures": []}
    assert stage.emulator.count("submit_order") == 1  # the replay did not resend


# --- the state store ------------------------------------------------------------------------
def use_client(stage: ExecuteStage, monkeypatch: pytest.MonkeyPatch, client: object,
               broker: object = None) -> None:  # fmt: skip
    deps = stage.deps(client=client, broker=broker)
    monkeypatch.setattr(stage.handler, "deps", lambda: deps)


def test_throttling_during_the_reservation_sends_nothing_until_the_redelivery(
    stage: ExecuteStage, monkeypatch: pytest.MonkeyPatch
) -> None:
    flaky = FlakyClient(boto3.client("dynamodb", config=CLIENT_CONFIG))
    use_client(stage, monkeypatch, flaky)
    flaky.fail("transact_write_items", throttled())  # the reservation's transaction
    msg = signal()
    with pytest.raises(BatchProcessingError):
        stage.invoke(sqs_record(msg))
    assert stage.emulator.count("submit_order") == 0
    assert stage.store().open_tickets() == []  # nothing half-written
    assert redeliver_until_done(stage, msg) == 0
    settled(stage, msg)


def test_a_reservation_committed_but_unanswered_is_resumed_not_duplicated(
    stage: ExecuteStage, monkeypatch: pytest.MonkeyPatch
) -> None:
    lost = CommitThenTimeout(boto3.client("dynamodb", config=CLIENT_CONFIG))
    use_client(stage, monkeypatch, lost)
    lost.arm("transact_write_items")  # the reservation is written, its answer lost
    msg = signal()
    with pytest.raises(BatchProcessingError):
        stage.invoke(sqs_record(msg))
    [ticket] = stage.store().open_tickets()
    assert ticket.status is TicketStatus.RESERVED and stage.emulator.count("submit_order") == 0
    assert redeliver_until_done(stage, msg) == 0
    settled(stage, msg)
    assert stage.emulator.count("submit_order") == 1


def test_throttling_after_the_submit_keeps_the_reservation_and_the_rerun_confirms_it(
    stage: ExecuteStage, monkeypatch: pytest.MonkeyPatch
) -> None:
    flaky = FlakyClient(boto3.client("dynamodb", config=CLIENT_CONFIG))
    hooked = HookedBroker(make_broker(stage.emulator))
    hooked.after_submit = lambda _order: flaky.fail("transact_write_items", throttled())
    use_client(stage, monkeypatch, flaky, hooked)
    msg = signal()
    with pytest.raises(BatchProcessingError):
        stage.invoke(sqs_record(msg))
    [ticket] = stage.store().open_tickets()
    assert ticket.status is TicketStatus.RESERVED  # the order exists; the ticket holds its slot
    assert len(stage.entry_orders()) == 1
    assert redeliver_until_done(stage, msg) == 0
    settled(stage, msg)
    assert stage.emulator.count("submit_order") == 1


def test_throttling_of_the_release_after_a_certain_reject_keeps_the_slot_until_the_rerun(
    stage: ExecuteStage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The broker refuses the order (twice: the redelivery's resend too); the first release
    # is throttled. The slot stays held (never a reservation lost while its fate is open)
    # until the redelivery, which finds no order, is refused again and releases it.
    stage.emulator.inject("submit_order", Fault.body(403, REJECT), times=2)
    flaky = FlakyClient(boto3.client("dynamodb", config=CLIENT_CONFIG))
    hooked = HookedBroker(make_broker(stage.emulator))

    def throttle_the_release() -> None:  # once: the first run's release is its next write
        hooked.before_submit = None
        flaky.fail("transact_write_items", throttled())

    hooked.before_submit = throttle_the_release
    use_client(stage, monkeypatch, flaky, hooked)
    msg = signal()
    with pytest.raises(BatchProcessingError):
        stage.invoke(sqs_record(msg))
    coid = f"mt-{msg.signal.id}-entry"
    store = stage.store()
    ticket = store.ticket(coid)
    assert ticket is not None and ticket.status is TicketStatus.RESERVED
    assert store.portfolio().slots == 1 and stage.entry_orders() == {}
    assert redeliver_until_done(stage, msg) == 0
    released = store.ticket(coid)
    assert released is not None and released.status is TicketStatus.RELEASED
    assert store.portfolio().slots == 0 and store.portfolio().exposure == pytest.approx(0.0)
    assert stage.entry_orders() == {}
    # Looked up before the resend (nothing there), and after its refusal (still nothing).
    assert stage.emulator.count("submit_order") == 2
    assert stage.emulator.count("order_by_client_id") == 2
    assert [i["status"]["S"] for i in stage.idempotency_items()] == ["COMPLETED"]


def test_a_store_unreadable_at_the_start_sends_nothing(
    stage: ExecuteStage, monkeypatch: pytest.MonkeyPatch
) -> None:
    flaky = FlakyClient(boto3.client("dynamodb", config=CLIENT_CONFIG))
    use_client(stage, monkeypatch, flaky)
    flaky.fail("get_item", throttled("GetItem"))  # the ticket read, the first of the run
    msg = signal()
    with pytest.raises(BatchProcessingError):
        stage.invoke(sqs_record(msg))
    assert stage.emulator.count("account") == 0 and stage.emulator.count("submit_order") == 0
    assert redeliver_until_done(stage, msg) == 0
    settled(stage, msg)
