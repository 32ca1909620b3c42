"""The monitor's unit fixtures: a memory world at 10:00 New York on Monday 2024-06-03."""

from __future__ import annotations

import pytest

from maxtrader.domain.clock import FixedClock
from tests.support.monitor_fakes import MonitorWorld


@pytest.fixture
def world(clock: FixedClock) -> MonitorWorld:
    return MonitorWorld(clock)
