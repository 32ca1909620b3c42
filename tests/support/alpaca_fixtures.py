"""Pytest fixtures: the Alpaca emulator on a FixedClock, and the real adapter pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from maxtrader.adapters.alpaca_broker import AlpacaBroker
from maxtrader.domain.clock import FixedClock
from maxtrader.emulators.alpaca import AlpacaEmulator
from tests.support.alpaca_env import START, make_broker, start_emulator


@pytest.fixture
def alpaca_clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def alpaca(alpaca_clock: FixedClock) -> Iterator[AlpacaEmulator]:
    emulator = start_emulator(alpaca_clock)
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def broker(alpaca: AlpacaEmulator) -> AlpacaBroker:
    return make_broker(alpaca)
