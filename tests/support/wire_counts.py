"""The DynamoDB requests of a function run, counted on the wire.

``count_store_calls(monkeypatch, table)`` points the factory's state store and session store at
one ``FlakyClient`` (it counts the requests that reach moto, per operation) and drops the cached
objects built on them; ``calls_of(client, action)`` runs ``action`` and returns what it cost.
"""

from __future__ import annotations

from collections.abc import Callable

import boto3
import pytest

from maxtrader.adapters.dynamodb_session_store import DynamoDBSessionStore
from maxtrader.adapters.dynamodb_store import CLIENT_CONFIG, DynamoDBStateStore
from maxtrader.runtime import factory
from tests.support.flaky_client import FlakyClient

__all__ = ["calls_of", "count_store_calls"]


def count_store_calls(monkeypatch: pytest.MonkeyPatch, table: str) -> FlakyClient:
    client = FlakyClient(boto3.client("dynamodb", config=CLIENT_CONFIG))
    state = DynamoDBStateStore(client, table)  # type: ignore[arg-type]
    sessions = DynamoDBSessionStore(client, table)  # type: ignore[arg-type]
    monkeypatch.setattr(factory, "state_store", lambda: state)
    monkeypatch.setattr(factory, "session_store", lambda: sessions)
    factory.safety_engine.cache_clear()
    factory.monitor_service.cache_clear()
    return client


def calls_of(client: FlakyClient, action: Callable[[], object]) -> dict[str, int]:
    """The requests ``action`` sent through ``client``, per boto3 operation name."""
    client.calls.clear()
    action()
    return {op: n for op, n in sorted(client.calls.items()) if n}
