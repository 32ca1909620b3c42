"""Fixtures shared by every kind of test. Each test directory marks its tests with its kind."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from maxtrader.domain.clock import FixedClock

# Before any adapter is imported: moto on a loaded 2-core machine can take longer than the 3 s a
# Lambda allows a DynamoDB call (tests assert outcomes, not latency).
os.environ.setdefault("MAXTRADER_AWS_READ_TIMEOUT_SECONDS", "20")

# moto_endpoint (a moto server on 127.0.0.1, per worker), aws_env, state_table (from the template).
pytest_plugins = ["tests.support.moto_server"]

REPO = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "configs"
SHARED_DATA = REPO.parent / "shared" / "data"

_KIND_BY_DIR = {"unit": "unit", "integration": "integration", "infra": "infra", "e2e": "e2e"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        kind = _KIND_BY_DIR.get(Path(str(item.fspath)).relative_to(REPO / "tests").parts[0])
        if kind:
            item.add_marker(getattr(pytest.mark, kind))


@pytest.fixture
def config_dir() -> Path:
    return CONFIG_DIR


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    return SHARED_DATA


@pytest.fixture
def clock() -> FixedClock:
    # 2024-06-03 10:00 New York (EDT): a Monday session.
    return FixedClock(datetime(2024, 6, 3, 14, 0, tzinfo=UTC))
