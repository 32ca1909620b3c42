"""The state store's every-minute requests, on both stores: ``control_state`` (one batched read
of the control items) and single-item writes (their own conditional request, no transaction).

``control_state`` reads exactly what the single-item reads do, on the in-memory store and on
DynamoDB (moto server) alike; on DynamoDB it is one consistent BatchGetItem, unprocessed keys
are asked again and a read that stays incomplete, faults and malformed items fail closed. A
write of one item is one conditional PutItem/UpdateItem with the transaction's semantics: a
stale version or a conflicting transaction is a ``StateConflictError`` and writes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from maxtrader.adapters.dynamodb_store import CLIENT_CONFIG, DynamoDBStateStore
from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import StateUnavailableError
from maxtrader.domain.models import AuditKind
from maxtrader.domain.ports import StateStore
from maxtrader.domain.safety import audit
from maxtrader.domain.safety.state import (
    BreakerName,
    ControlState,
    HealthState,
    StateConflictError,
    SwitchName,
    SwitchState,
)
from tests.support.flaky_client import throttled, timed_out
from tests.support.recording_client import RecordingClient
from tests.support.safety import entry, exit_of, fill_of, make_engine, market

DAY = "2024-06-03"


def individually(store: StateStore, day: str) -> ControlState:
    """What ``control_state`` must equal: the same items, each read on its own."""
    return ControlState(
        day=day,
        kill_switch=store.switch(SwitchName.KILL_SWITCH),
        safe_mode=store.switch(SwitchName.SAFE_MODE),
        breakers=tuple(store.breaker(name) for name in BreakerName),
        portfolio=store.portfolio(),
        refused_marks=store.refused_marks(),
        high_water=store.high_water_mark(),
        health=store.health(),
        day_realized=store.realized(day),
        start_of_day_equity=store.start_of_day_equity(day),
    )


def busy_day(store: StateStore, clock: FixedClock) -> list[ControlState]:
    """A morning that moves every control item; the control state after each step."""
    engine = make_engine(store, clock)
    seen = [store.control_state(DAY)]
    first = entry(qty=10, price=500.0, stop=495.0, target=510.0)
    engine.reserve(first, market())
    engine.on_fill(fill_of(first, clock, fee=0.5, fill_id="fill-1"))
    engine.mark_to_market({"SPY": 700.0}, 100_060.0, {"SPY": 501.0})  # refused: the collar
    seen.append(store.control_state(DAY))
    engine.mark_to_market({"SPY": 501.0}, 100_010.0)
    engine.on_fill(fill_of(exit_of(first), clock, price=498.0, fill_id="fill-2"))
    for _ in range(5):
        engine.record_order_error("timeout")  # trips the error-rate breaker
    engine.engage_kill_switch("ops@example.com", "drill")
    engine.set_safe_mode(True, "ops@example.com", reason="drill")
    store.put_health(HealthState(broker_failures=2, checked_at=clock.now(), version=1), 0)
    seen.append(store.control_state(DAY))
    clock.advance(timedelta(minutes=31))
    engine.refresh_breakers()
    seen.append(store.control_state(DAY))
    return seen


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> StateStore:
    if request.param == "memory":
        return InMemoryStateStore()
    return DynamoDBStateStore.create(request.getfixturevalue("state_table"))


def test_a_fresh_store_reads_every_control_item_as_absent(store: StateStore) -> None:
    view = store.control_state(DAY)
    assert view == individually(store, DAY)
    assert not view.kill_switch.on and not view.safe_mode.on and view.health.version == 0
    assert [b.name for b in view.breakers] == list(BreakerName)
    assert view.start_of_day_equity is None and view.refused_marks == {}


def test_the_control_state_is_what_each_item_reads_step_by_step(
    store: StateStore, clock: FixedClock
) -> None:
    views = busy_day(store, clock)
    assert views[-1] == individually(store, DAY)
    moved = views[2]
    assert moved.kill_switch.on and moved.safe_mode.on and moved.health.broker_failures == 2
    assert moved.breaker(BreakerName.ERROR_RATE).paused(clock.now() - timedelta(minutes=31))
    assert views[1].refused_marks and views[1].portfolio.slots == 1
    assert moved.day_realized == pytest.approx(store.realized(DAY)) and moved.day_realized < 0
    assert not views[-1].breaker(BreakerName.ERROR_RATE).paused(clock.now())
    other = store.control_state("2024-06-04")  # another day: its own figures
    assert other.day_realized == 0.0 and other.start_of_day_equity is None


def test_both_stores_read_the_same_control_states(state_table: str, clock: FixedClock) -> None:
    start = clock.now()
    live = busy_day(DynamoDBStateStore.create(state_table), FixedClock(start))
    backtest = busy_day(InMemoryStateStore(), FixedClock(start))
    for i, (a, b) in enumerate(zip(live, backtest, strict=True)):
        assert a == b, f"step {i}: {a!r} != {b!r}"


# --- DynamoDB: the requests -----------------------------------------------------------------------
@pytest.fixture
def client(state_table: str) -> RecordingClient:
    return RecordingClient(boto3.client("dynamodb", config=CLIENT_CONFIG))


@pytest.fixture
def live(client: RecordingClient, state_table: str) -> DynamoDBStateStore:
    return DynamoDBStateStore(client, state_table)  # type: ignore[arg-type]


def test_the_control_state_is_one_consistent_batch_read(
    live: DynamoDBStateStore, client: RecordingClient
) -> None:
    live.control_state(DAY)
    assert list(client.requests) == ["batch_get_item"]
    (request,) = client.requests["batch_get_item"]
    (asked,) = request["RequestItems"].values()
    assert asked["ConsistentRead"] is True and len(asked["Keys"]) == 10


class Unprocessing:
    """A client whose BatchGetItem answers only the first key of each request ``times`` times
    (as DynamoDB does under throttling: the rest comes back in ``UnprocessedKeys``)."""

    def __init__(self, client: Any, times: int) -> None:
        self._client, self.times, self.calls = client, times, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        if self.times <= 0:
            return self._client.batch_get_item(RequestItems=RequestItems)  # type: ignore[no-any-return]
        self.times -= 1
        ((table, asked),) = RequestItems.items()
        first, rest = asked["Keys"][:1], asked["Keys"][1:]
        answer = self._client.batch_get_item(RequestItems={table: {**asked, "Keys": first}})
        if rest:
            answer["UnprocessedKeys"] = {table: {**asked, "Keys": rest}}
        return answer  # type: ignore[no-any-return]


def test_unprocessed_keys_are_asked_again(state_table: str, clock: FixedClock) -> None:
    plain = DynamoDBStateStore.create(state_table)
    busy_day(plain, clock)
    flaky = Unprocessing(boto3.client("dynamodb", config=CLIENT_CONFIG), times=2)
    assert DynamoDBStateStore(flaky, state_table).control_state(DAY) == plain.control_state(DAY)  # type: ignore[arg-type]
    assert flaky.calls == 3


def test_a_batch_read_that_stays_incomplete_fails_closed(state_table: str) -> None:
    flaky = Unprocessing(boto3.client("dynamodb", config=CLIENT_CONFIG), times=3)
    with pytest.raises(StateUnavailableError, match="unread"):
        DynamoDBStateStore(flaky, state_table).control_state(DAY)  # type: ignore[arg-type]


@pytest.mark.faults
@pytest.mark.parametrize(
    "error", [throttled("BatchGetItem"), timed_out()], ids=["throttled", "timeout"]
)
def test_a_faulty_batch_read_fails_closed(
    live: DynamoDBStateStore, client: RecordingClient, error: Exception
) -> None:
    client.fail_call("batch_get_item", 1, error)
    with pytest.raises(StateUnavailableError):
        live.control_state(DAY)


@pytest.mark.faults
@pytest.mark.parametrize(
    ("key", "item"),
    [
        (("HEALTH", "STATE"), {"broker_failures": {"N": "-1"}, "version": {"N": "1"}}),
        (("PORTFOLIO", "STATE"), {"slots": {"S": "one"}}),
        (("BREAKER", "drawdown"), {"version": {"S": "x"}}),
        (("PNL#2024-06-03", "REALIZED"), {"realized": {"S": "lots"}}),
    ],
)
def test_a_malformed_control_item_fails_closed(
    live: DynamoDBStateStore, state_table: str, key: tuple[str, str], item: dict[str, Any]
) -> None:
    boto3.client("dynamodb").put_item(
        TableName=state_table, Item={"pk": {"S": key[0]}, "sk": {"S": key[1]}, **item}
    )
    with pytest.raises(StateUnavailableError):
        live.control_state(DAY)


# --- DynamoDB: a write of one item ------------------------------------------------------------
def test_a_single_item_write_is_one_conditional_put_not_a_transaction(
    live: DynamoDBStateStore, client: RecordingClient, clock: FixedClock
) -> None:
    live.put_health(HealthState(broker_failures=1, checked_at=clock.now(), version=1), 0)
    live.put_health(HealthState(broker_failures=2, checked_at=clock.now(), version=2), 1)
    on = SwitchState(SwitchName.SAFE_MODE, on=True, actor="ops", changed_at=clock.now(), version=1)
    live.put_switch(on, 0, [audit.switch_record(on, clock.now())])  # with its audit: atomic
    assert "transact_write_items" in client.requests
    first, second = client.requests["put_item"]
    assert first["ConditionExpression"] == "attribute_not_exists(pk)"
    assert second["ConditionExpression"] == "version = :v"
    assert second["ExpressionAttributeValues"] == {":v": {"N": "1"}}
    (together,) = client.requests["transact_write_items"]
    assert len(together["TransactItems"]) == 2
    assert live.health().broker_failures == 2 and live.switch(SwitchName.SAFE_MODE).on
    assert [r.kind for r in live.audit_log(DAY)] == [AuditKind.SAFE_MODE]


def test_a_stale_single_item_write_conflicts_and_writes_nothing(
    live: DynamoDBStateStore, clock: FixedClock
) -> None:
    live.put_health(HealthState(broker_failures=1, checked_at=clock.now(), version=1), 0)
    with pytest.raises(StateConflictError):
        live.put_health(HealthState(broker_failures=5, checked_at=clock.now(), version=1), 0)
    with pytest.raises(StateConflictError):
        live.put_health(HealthState(broker_failures=5, checked_at=clock.now(), version=3), 2)
    assert live.health().broker_failures == 1
    assert live.put_start_of_day_equity(DAY, 100_000.0) is True
    assert live.put_start_of_day_equity(DAY, 100_000.0) is False  # the same value: no-op
    with pytest.raises(StateConflictError, match="already 100000"):
        live.put_start_of_day_equity(DAY, 99_000.0)


def test_a_single_write_meeting_another_transaction_is_a_conflict(
    live: DynamoDBStateStore, client: RecordingClient, clock: FixedClock
) -> None:
    conflict = ClientError(
        {"Error": {"Code": "TransactionConflictException", "Message": "in a transaction"}},
        "PutItem",
    )
    client.fail_call("put_item", 1, conflict)
    with pytest.raises(StateConflictError):
        live.put_health(HealthState(broker_failures=1, checked_at=clock.now(), version=1), 0)
    assert live.health().version == 0


@pytest.mark.faults
def test_a_throttled_single_write_is_unavailable_and_writes_nothing(
    live: DynamoDBStateStore, client: RecordingClient, clock: FixedClock
) -> None:
    client.fail_call("put_item", 1, throttled("PutItem"))
    record = audit.record(AuditKind.HEALTH, "health", clock.now(), "health", failures=[])
    with pytest.raises(StateUnavailableError, match="ProvisionedThroughput"):
        live.append_audit([record])
    assert live.audit_log(DAY) == []
