"""Pytest fixtures of the execute tests: ``stage`` (see execute_harness.ExecuteStage).

A test module takes them with ``pytest_plugins = ("tests.support.alpaca_fixtures",
"tests.support.execute_fixtures")``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import boto3
import pytest

from maxtrader.domain.clock import FixedClock, SystemClock
from maxtrader.emulators.alpaca import AlpacaEmulator
from maxtrader.runtime import factory
from maxtrader.runtime.clock import use_clock
from tests.support.alert_topic import create_alert_topic
from tests.support.execute_harness import ExecuteStage
from tests.support.killswitch_harness import env_for
from tests.support.moto_server import REGION
from tests.support.safety import uniform_config
from tests.support.templates import create_table_kwargs, resources_of_type

# Room for every signal a test sends: the limits are not what these tests exercise.
ROOMY = uniform_config(
    {"min_seconds_between_trades": 0, "max_daily_trades": 100,
     "max_daily_trades_per_strategy": 100, "max_concurrent_positions": 100,
     "max_exposure_pct": 1.0},
)  # fmt: skip


def create_idempotency_table() -> str:
    logical_id = next(
        logical_id
        for logical_id, table in resources_of_type("staging", "AWS::DynamoDB::Table").items()
        if table["Properties"]["TableName"].endswith("-idempotency")
    )
    name = f"idempotency-{uuid.uuid4().hex[:10]}"
    client = boto3.client("dynamodb", region_name=REGION)
    client.create_table(**create_table_kwargs("staging", name, logical_id))
    return name


@pytest.fixture
def execute_stage(
    state_table: str,
    alpaca: AlpacaEmulator,
    alpaca_clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[ExecuteStage]:
    topic = create_alert_topic()
    env = env_for(state_table, topic.topic_arn).model_copy(
        update={
            "idempotency_table": create_idempotency_table(),
            "alpaca_secret_name": f"maxtrader/staging/alpaca-{uuid.uuid4().hex[:8]}",
        }
    )
    built = ExecuteStage(env, alpaca_clock, alpaca, topic)
    built.install(monkeypatch, ROOMY)
    try:
        yield built
    finally:
        factory.clear()
        use_clock(SystemClock())
