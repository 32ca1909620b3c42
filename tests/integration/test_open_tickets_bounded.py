"""``open_tickets`` reads only open tickets: its cost does not grow with the closed history.

10,000 closed tickets (the items ``_ticket_put`` writes for closed ones) and one open: the read
touches one item, counted by DynamoDB's own ``ScannedCount`` (what it bills), not wall time.
(The filtered partition query it replaces read all 10,001.)
It stays strongly consistent: a ConsistentRead Query on a local secondary index (moto, like
DynamoDB, refuses ConsistentRead on a GSI), and every transition moves a ticket in or out of it
in the same write.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import boto3
import pytest

from maxtrader import state_schema as schema
from maxtrader.adapters.dynamodb_items import key
from maxtrader.adapters.dynamodb_store import CLIENT_CONFIG, DynamoDBStateStore
from maxtrader.adapters.dynamodb_ticket_index import ticket_record
from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.ports import StateStore
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.domain.safety.state import Ticket, TicketStatus
from tests.support.recording_client import RecordingClient
from tests.support.safety import entry, exit_of, fill_of, make_engine, market
from tests.support.templates import template

CLOSED_HISTORY = 10_000


@pytest.fixture
def client(state_table: str) -> RecordingClient:
    return RecordingClient(boto3.client("dynamodb", config=CLIENT_CONFIG))


@pytest.fixture
def store(client: RecordingClient, state_table: str) -> DynamoDBStateStore:
    return DynamoDBStateStore(client, state_table)  # type: ignore[arg-type]


@pytest.fixture
def engine(store: DynamoDBStateStore, clock: FixedClock) -> SafetyEngine:
    return make_engine(store, clock)


def scanned(client: RecordingClient) -> int:
    return sum(int(r["ScannedCount"]) for r in client.responses["query"])


def closed_copy(model: Ticket, i: int) -> Ticket:
    return replace(
        model,
        client_order_id=f"hist-{i:05d}",
        signal_id=f"hist-sig-{i:05d}",
        status=TicketStatus.CLOSED,
        closed_at=model.reserved_at + timedelta(minutes=5),
    )


def load_closed_history(table: str, model: Ticket) -> None:
    writer = boto3.client("dynamodb")
    puts = [
        {
            "PutRequest": {
                "Item": {
                    **key(*schema.ticket_key(f"hist-{i:05d}")),
                    **ticket_record(closed_copy(model, i)),
                }
            }
        }
        for i in range(CLOSED_HISTORY)
    ]
    for start in range(0, len(puts), 25):
        pending: dict[str, Any] = {table: puts[start : start + 25]}
        while pending:
            pending = writer.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


@pytest.mark.slow
def test_open_tickets_reads_one_item_among_ten_thousand_closed(
    store: DynamoDBStateStore,
    client: RecordingClient,
    engine: SafetyEngine,
    clock: FixedClock,
    state_table: str,
) -> None:
    intent = entry()
    assert engine.reserve(intent, market()).approved
    (model,) = store.open_tickets()
    load_closed_history(state_table, model)
    assert store.ticket("hist-00042") == closed_copy(model, 42)  # the history is really there

    client.responses.clear()
    assert [t.client_order_id for t in store.open_tickets()] == [intent.client_order_id]
    assert scanned(client) == 1 and len(client.responses["query"]) == 1
    (request,) = client.requests["query"][-1:]
    assert request["ConsistentRead"] is True
    assert request["IndexName"] == schema.OPEN_TICKETS_INDEX


@pytest.fixture(params=["memory", "dynamodb"])
def any_store(request: pytest.FixtureRequest) -> StateStore:
    if request.param == "memory":
        return InMemoryStateStore()
    found: StateStore = request.getfixturevalue("store")
    return found


def test_every_transition_moves_the_ticket_in_or_out_of_the_open_set(
    any_store: StateStore, clock: FixedClock
) -> None:
    store, engine = any_store, make_engine(any_store, clock)

    def open_ids() -> list[str]:
        return [t.client_order_id for t in store.open_tickets()]

    filled, released = entry(), entry()
    assert engine.reserve(filled, market()).approved
    clock.advance(120)
    assert engine.reserve(released, market()).approved
    assert sorted(open_ids()) == sorted([filled.client_order_id, released.client_order_id])

    engine.confirm(filled.client_order_id, "broker-1")
    engine.on_fill(fill_of(filled, clock))
    engine.release(released.client_order_id, "rejected")
    assert open_ids() == [filled.client_order_id]
    assert store.open_tickets()[0].status is TicketStatus.OPEN
    assert store.open_tickets() == [store.ticket(filled.client_order_id)]  # the same item

    engine.on_fill(fill_of(exit_of(filled), clock, price=505.0))
    assert open_ids() == []
    closed = store.ticket(filled.client_order_id)
    assert closed is not None and closed.status is TicketStatus.CLOSED  # kept, just not open

    engine.on_fill(fill_of(released, clock))  # a late fill re-opens a released ticket
    assert open_ids() == [released.client_order_id]


@pytest.mark.parametrize("stage", ["staging", "production"])
def test_the_open_index_is_local_so_it_can_be_read_consistently(stage: str) -> None:
    props = template(stage)["Resources"][schema.TABLE_LOGICAL_ID]["Properties"]
    (index,) = props["LocalSecondaryIndexes"]
    assert index["IndexName"] == schema.OPEN_TICKETS_INDEX
    assert index["KeySchema"][1] == {
        "AttributeName": schema.OPEN_TICKET_ATTRIBUTE,
        "KeyType": "RANGE",
    }
    assert index["Projection"] == {"ProjectionType": "ALL"}
    assert "GlobalSecondaryIndexes" not in props
