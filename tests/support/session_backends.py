"""Both ``SessionStore`` adapters as one fixture (a pytest plugin: ``pytest_plugins``).

``backend`` is parametrized over the in-memory store and DynamoDB on moto server (a fresh state
table per test); ``backend.connect()`` is another handle on the same data (another "Lambda");
``store`` is ``backend.store``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import boto3
import pytest

from maxtrader.adapters.dynamodb_session_store import DynamoDBSessionStore
from maxtrader.adapters.dynamodb_store import CLIENT_CONFIG
from maxtrader.adapters.memory_session_store import InMemorySessionStore
from maxtrader.domain.ports import SessionStore


@dataclass
class Backend:
    store: SessionStore
    connect: Callable[[], SessionStore]  # another handle on the same data (another "Lambda")


@pytest.fixture(params=["memory", "dynamodb"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "memory":
        memory = InMemorySessionStore()
        yield Backend(memory, lambda: memory)
        return
    table: str = request.getfixturevalue("state_table")

    def connect() -> SessionStore:
        return DynamoDBSessionStore(boto3.client("dynamodb", config=CLIENT_CONFIG), table)

    yield Backend(connect(), connect)


@pytest.fixture
def store(backend: Backend) -> SessionStore:
    return backend.store
