"""The ``ops`` fixture: an ``OpsStage`` starting on Monday 2024-06-03 10:00 New York; a test
moves its clock (``invoke`` sets it to each event's scheduled time)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.support.ops_harness import OpsStage

START = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)


@pytest.fixture
def ops(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpsStage]:
    stage = OpsStage(monkeypatch, START)
    try:
        yield stage
    finally:
        stage.close()
