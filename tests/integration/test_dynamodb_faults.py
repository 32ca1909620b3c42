"""Injected throttling and timeouts: entries rejected, nothing partial written, cause audited."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from maxtrader.adapters.dynamodb_store import CLIENT_CONFIG, DynamoDBStateStore
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import StateUnavailableError
from maxtrader.domain.models import AuditKind
from maxtrader.domain.safety.engine import STATE_UNAVAILABLE, SafetyEngine
from maxtrader.domain.safety.state import SwitchName, TicketStatus
from tests.support.flaky_client import FlakyClient, throttled, timed_out
from tests.support.safety import entry, exit_of, fill_of, make_engine, market

pytestmark = pytest.mark.faults
DAY = "2024-06-03"


@pytest.fixture
def flaky(state_table: str) -> FlakyClient:
    return FlakyClient(boto3.client("dynamodb", config=CLIENT_CONFIG))


@pytest.fixture
def store(flaky: FlakyClient, state_table: str) -> DynamoDBStateStore:
    return DynamoDBStateStore(flaky, state_table)  # type: ignore[arg-type]


@pytest.fixture
def engine(store: DynamoDBStateStore, clock: FixedClock) -> SafetyEngine:
    return make_engine(store, clock)


def items(table: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = boto3.client("dynamodb").scan(
        TableName=table, ConsistentRead=True
    )["Items"]
    return found


def non_audit(table: str) -> list[dict[str, Any]]:
    return sorted(
        (i for i in items(table) if not i["pk"]["S"].startswith("AUDIT#")),
        key=lambda i: (i["pk"]["S"], i["sk"]["S"]),
    )


def cancelled(reason: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": "None"}, {"Code": reason}],
        },
        "TransactWriteItems",
    )


@pytest.mark.parametrize(
    ("operation", "error", "cause"),
    [
        ("transact_write_items", throttled(), "ProvisionedThroughputExceededException"),
        ("transact_write_items", timed_out(), "ReadTimeoutError"),
        ("transact_write_items", cancelled("ThrottlingError"), "ThrottlingError"),
        ("transact_get_items", throttled("TransactGetItems"), "ProvisionedThroughputExceeded"),
        ("transact_get_items", timed_out(), "ReadTimeoutError"),
    ],
)
def test_a_store_fault_rejects_the_entry_writes_nothing_and_audits_the_cause(
    operation: str,
    error: Exception,
    cause: str,
    *,
    flaky: FlakyClient,
    store: DynamoDBStateStore,
    engine: SafetyEngine,
    state_table: str,
    clock: FixedClock,
) -> None:
    assert engine.reserve(entry(), market()).approved  # a healthy baseline: one entry
    clock.advance(60)  # the next entry would pass every check
    assert engine.evaluate(entry(), market()).approved
    before = non_audit(state_table)
    flaky.fail(operation, error)
    intent = entry()
    verdict = engine.reserve(intent, market())
    assert not verdict.approved
    assert [(c.name, c.reason) for c in verdict.checks] == [("state_store", STATE_UNAVAILABLE)]
    assert non_audit(state_table) == before  # no counter, ticket or guard was written
    assert store.ticket(intent.client_order_id) is None
    [record] = [r for r in store.audit_log(DAY) if r.subject == intent.client_order_id]
    assert record.kind is AuditKind.VERDICT and record.detail["approved"] is False
    assert cause in str(record.detail["cause"])


def test_the_same_signal_goes_through_once_the_store_recovers(
    flaky: FlakyClient, store: DynamoDBStateStore, engine: SafetyEngine
) -> None:
    intent = entry()
    flaky.fail("transact_write_items", throttled())
    assert not engine.reserve(intent, market()).approved
    assert engine.reserve(intent, market()).approved  # not a duplicate: nothing was written
    assert store.day_entries(DAY) == 1


def test_a_reducing_exit_goes_through_when_only_its_audit_write_is_throttled(
    flaky: FlakyClient, store: DynamoDBStateStore, engine: SafetyEngine, clock: FixedClock
) -> None:
    intent = entry()
    engine.reserve(intent, market())
    engine.on_fill(fill_of(intent, clock))
    flaky.fail("put_item", throttled("PutItem"), times=5)  # one record: its own PutItem
    verdict = engine.reserve(exit_of(intent), market())
    assert verdict.approved
    [event] = engine.drain_events()
    assert "ProvisionedThroughputExceeded" in str(event.detail["audit_failed"])


def test_an_exit_is_rejected_when_the_throttled_store_cannot_show_its_position(
    flaky: FlakyClient, store: DynamoDBStateStore, engine: SafetyEngine, clock: FixedClock
) -> None:
    intent = entry()
    engine.reserve(intent, market())
    engine.on_fill(fill_of(intent, clock))
    for operation in ("transact_write_items", "transact_get_items", "get_item", "query"):
        flaky.fail(operation, throttled(), times=5)
    verdict = engine.reserve(exit_of(intent), market())
    assert not verdict.approved and verdict.failures[0].reason == "state_unavailable"


def test_a_fill_that_cannot_be_written_changes_nothing_and_applies_once_later(
    flaky: FlakyClient,
    store: DynamoDBStateStore,
    engine: SafetyEngine,
    clock: FixedClock,
    state_table: str,
) -> None:
    intent = entry()
    engine.reserve(intent, market())
    before = non_audit(state_table)
    fill = fill_of(intent, clock, fee=1.0)
    flaky.fail("transact_write_items", timed_out())
    with pytest.raises(StateUnavailableError, match="ReadTimeoutError"):
        engine.on_fill(fill)
    assert non_audit(state_table) == before
    assert engine.on_fill(fill) is not None
    assert engine.on_fill(fill) is None  # the replay after recovery is a no-op
    ticket = store.ticket(intent.client_order_id)
    assert ticket is not None and ticket.status is TicketStatus.OPEN and ticket.qty == intent.qty
    assert store.realized(DAY) == pytest.approx(-1.0)


def test_operator_actions_fail_loudly_and_change_nothing(
    flaky: FlakyClient, store: DynamoDBStateStore, engine: SafetyEngine
) -> None:
    flaky.fail("transact_write_items", throttled())
    with pytest.raises(StateUnavailableError):
        engine.engage_kill_switch("ops@example.com", "halt")
    assert not store.switch(SwitchName.KILL_SWITCH).on
    flaky.fail("get_item", timed_out())
    with pytest.raises(StateUnavailableError):
        engine.trading_state()


def test_release_that_cannot_be_written_keeps_the_slot(
    flaky: FlakyClient, store: DynamoDBStateStore, engine: SafetyEngine
) -> None:
    intent = entry()
    engine.reserve(intent, market())
    flaky.fail("transact_write_items", throttled())
    with pytest.raises(StateUnavailableError):
        engine.release(intent.client_order_id, "canceled")
    ticket = store.ticket(intent.client_order_id)
    assert ticket is not None and ticket.status is TicketStatus.RESERVED
    assert store.portfolio().slots == 1
