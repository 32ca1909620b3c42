"""The usage meter charges each AWS request to the function making it, in billed units."""

from __future__ import annotations

import math
from typing import Any

import boto3
import pytest

from maxtrader.simulate.metering import UsageMeter, item_size, read_units, write_units
from tests.support.moto_server import create_state_table


@pytest.fixture
def metered(aws_env: str) -> tuple[UsageMeter, boto3.session.Session, str]:
    meter = UsageMeter()
    session = boto3.session.Session()
    for event, hook in meter.hooks():
        session.events.register(event, hook)
    return meter, session, create_state_table()


def _item(n: int, size: int = 10) -> dict[str, Any]:
    return {"pk": {"S": "P"}, "sk": {"S": f"{n:04d}"}, "v": {"S": "x" * size}}


def test_requests_are_charged_to_the_function_running_and_only_then(
    metered: tuple[UsageMeter, boto3.session.Session, str],
) -> None:
    meter, session, table = metered
    dynamodb, sqs = session.client("dynamodb"), session.client("sqs")
    dynamodb.put_item(TableName=table, Item=_item(0))  # nobody is running: not charged
    with meter.charging("ingest"):
        dynamodb.put_item(TableName=table, Item=_item(1))
        dynamodb.put_item(TableName=table, Item=_item(2, size=3000))  # 3 KB: three write units
        url = sqs.create_queue(QueueName="meter-test")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="m")
    with meter.charging("signals", invocations=2):
        dynamodb.get_item(TableName=table, Key={"pk": {"S": "P"}, "sk": {"S": "0001"}},
                          ConsistentRead=True)  # fmt: skip
        dynamodb.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": _item(n)}} for n in (3, 4)])  # fmt: skip
    usage = meter.usage()
    assert set(usage) == {"ingest", "signals"}
    ingest, signals = usage["ingest"], usage["signals"]
    assert (ingest.invocations, ingest.dynamodb_requests, ingest.sqs_requests) == (1, 2, 2)
    assert ingest.dynamodb_write_units == 1 + 3
    assert signals.invocations == 2 and signals.dynamodb_read_units == 1
    assert signals.dynamodb_write_units == 2 * 2  # a transaction writes each item twice over


def test_a_query_reads_a_unit_per_4_kb_returned(
    metered: tuple[UsageMeter, boto3.session.Session, str],
) -> None:
    meter, session, table = metered
    dynamodb = session.client("dynamodb")
    for n in range(10):
        dynamodb.put_item(TableName=table, Item=_item(n, size=2000))
    with meter.charging("health"):
        dynamodb.query(TableName=table, KeyConditionExpression="pk = :p",
                       ExpressionAttributeValues={":p": {"S": "P"}})  # fmt: skip
    # 20 KB of items, and the JSON around them: 5 units, 6 with the overhead
    assert math.ceil(10 * 2000 / 4096) <= meter.usage()["health"].dynamodb_read_units <= 6


def test_units_count_at_least_one_per_item_of_a_batch() -> None:
    request = {"TransactItems": [{"Put": {"Item": _item(n)}} for n in range(3)]}
    assert write_units("TransactWriteItems", request) == 6
    assert write_units("PutItem", {"Item": _item(0, size=2049 - 10)}) == 3  # 10: names, keys
    assert write_units("UpdateItem", {"Key": {"pk": {"S": "P"}}}) == 1
    keys: dict[str, Any] = {"RequestItems": {"t": {"Keys": [{}, {}, {}, {}]}}}
    assert read_units("BatchGetItem", keys, 100) == 4
    assert read_units("GetItem", {}, 0) == 1
    assert read_units("TransactGetItems", {"TransactItems": [{}, {}]}, 10) == 4


def test_item_sizes_follow_dynamodbs_rules() -> None:
    assert item_size({"ab": {"S": "xyz"}}) == 5
    assert item_size({"n": {"N": "12345"}}) == 1 + 3
    assert item_size({"f": {"BOOL": True}, "z": {"NULL": True}}) == 4
    assert item_size({"m": {"M": {"a": {"S": "b"}}}}) == 1 + 3 + 2
    assert item_size({"l": {"L": [{"S": "ab"}, {"S": "c"}]}}) == 1 + 3 + 3 + 2
    assert item_size({"s": {"S": "é"}}) == 1 + 2  # UTF-8 bytes


def test_the_audit_tail_asks_only_after_a_write_naming_its_partition(
    metered: tuple[UsageMeter, boto3.session.Session, str],
) -> None:
    from datetime import UTC, datetime

    from maxtrader.adapters.dynamodb_store import DynamoDBStateStore
    from maxtrader.domain.models import AuditKind
    from maxtrader.domain.safety import audit
    from maxtrader.simulate.audit_tail import AuditTail
    from tests.support.flaky_client import FlakyClient

    _, session, table = metered
    reader = FlakyClient(boto3.session.Session().client("dynamodb"))  # the simulator's own
    tail = AuditTail(reader, table, "2024-06-12")
    session.events.register("before-call.dynamodb", tail.hook)  # before its clients are made
    handlers = session.client("dynamodb")  # the handlers' session, hooked
    now = datetime(2024, 6, 12, 14, 0, tzinfo=UTC)
    assert tail.new(now) == [] and reader.calls["query"] == 1  # the first look asks
    assert tail.new(now) == [] and reader.calls["query"] == 1  # nothing written since
    handlers.put_item(TableName=table, Item=_item(1))  # another partition
    assert tail.new(now) == [] and reader.calls["query"] == 1
    store = DynamoDBStateStore(handlers, table)
    store.append_audit([audit.record(AuditKind.HEALTH, "health", now, "health", failures=[])])
    [shown] = tail.new(now)
    assert shown.kind is AuditKind.HEALTH and reader.calls["query"] == 2
    assert tail.new(now) == [] and reader.calls["query"] == 2
