"""The idempotency table the stack deploys, created in moto from the template, used by Powertools.

If the key or the TTL attribute drifted from what ``DynamoDBPersistenceLayer`` writes by
default, the second call below would not find the first one's record (or the write would fail).
"""

from __future__ import annotations

import uuid

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from maxtrader_infra.idempotency_table import EXPIRY_ATTRIBUTE, KEY_ATTRIBUTE
from tests.support.moto_server import REGION
from tests.support.templates import create_table_kwargs, resources_of_type

pytestmark = pytest.mark.xdist_group("cdk")


@pytest.fixture
def idempotency_table(aws_env: str) -> str:
    logical_id = next(
        logical_id
        for logical_id, table in resources_of_type("staging", "AWS::DynamoDB::Table").items()
        if table["Properties"]["TableName"].endswith("-idempotency")
    )
    name = f"idempotency-{uuid.uuid4().hex[:10]}"
    client = boto3.client("dynamodb", region_name=REGION)
    client.create_table(**create_table_kwargs("staging", name, logical_id))
    return name


class InvocationContext:
    """What Powertools reads from a Lambda context: the time left (for in-progress expiry)."""

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def test_powertools_records_a_call_once_and_replays_it(idempotency_table: str) -> None:
    calls: list[str] = []
    persistence = DynamoDBPersistenceLayer(table_name=idempotency_table)  # only the name
    config = IdempotencyConfig(expires_after_seconds=3600)
    config.register_lambda_context(InvocationContext())  # type: ignore[arg-type]

    @idempotent_function(  # type: ignore[untyped-decorator]  # Powertools' decorator is untyped
        data_keyword_argument="signal", persistence_store=persistence, config=config
    )
    def execute(signal: dict[str, str]) -> dict[str, str]:
        calls.append(signal["id"])
        return {"order": f"order-for-{signal['id']}"}

    first = execute(signal={"id": "sig-1"})
    again = execute(signal={"id": "sig-1"})
    other = execute(signal={"id": "sig-2"})
    assert first == again == {"order": "order-for-sig-1"}
    assert other == {"order": "order-for-sig-2"}
    assert calls == ["sig-1", "sig-2"]  # the replay did not run the body

    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=idempotency_table)["Items"]
    assert len(items) == 2
    for item in items:
        assert set(item[KEY_ATTRIBUTE]) == {"S"}
        assert int(item[EXPIRY_ATTRIBUTE]["N"]) > 0  # the TTL attribute the table expires on
