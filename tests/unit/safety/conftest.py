"""Builders for the safety tests: an engine on the in-memory store, intents and contexts."""

from __future__ import annotations

from typing import Any

import pytest

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.config.safety import SafetyConfig
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.safety.engine import SafetyEngine
from tests.support.safety import make_engine, uniform_config


@pytest.fixture
def store() -> InMemoryStateStore:
    return InMemoryStateStore()


@pytest.fixture
def engine(store: InMemoryStateStore, clock: FixedClock) -> SafetyEngine:
    return make_engine(store, clock)


@pytest.fixture
def config() -> SafetyConfig:
    return SafetyConfig()


def overrides(**limits: Any) -> SafetyConfig:
    """A config whose limits, in every regime, are the defaults with ``limits`` replaced."""
    return uniform_config(limits)
