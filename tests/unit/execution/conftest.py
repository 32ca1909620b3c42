"""Fixtures of the execute unit tests: the clock of the signals and a fresh in-memory store."""

from __future__ import annotations

import pytest

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.domain.clock import FixedClock
from tests.support.execution import START


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def store() -> InMemoryStateStore:
    return InMemoryStateStore()
