"""Fixtures of the signals function's tests (a pytest plugin: ``pytest_plugins`` in a module).

``massive`` is a started Massive emulator (empty: tests add the bars the vendor holds);
``signals_stage`` the stage on moto with the function's environment; ``stage`` that stage with
the synthetic day (``DAY``: the vendor holds it and the session before, the regime is stored);
``real_stage`` it with the real signal day instead; ``signals_clock`` a FixedClock both the
signals and the ingest handlers read.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from functions.ingest import handler as ingest_handler
from functions.signals import handler as signals_handler
from maxtrader.domain.clock import FixedClock
from maxtrader.emulators.massive import MassiveEmulator
from maxtrader.runtime import factory
from tests.support.signals_real import RealDay, real_day
from tests.support.signals_stage import DAY_REGIME, MASSIVE_KEY, SYMBOLS, SignalsStage
from tests.support.signals_world import DAY, session_bars, session_of


@pytest.fixture
def massive() -> Iterator[MassiveEmulator]:
    with MassiveEmulator(api_key=MASSIVE_KEY) as emulator:
        yield emulator


@pytest.fixture
def signals_stage(
    aws_env: str, monkeypatch: pytest.MonkeyPatch, massive: MassiveEmulator
) -> Iterator[SignalsStage]:
    factory.clear()
    yield SignalsStage(monkeypatch, massive)
    factory.clear()


@pytest.fixture
def signals_day_stage(signals_stage: SignalsStage, massive: MassiveEmulator) -> SignalsStage:
    for symbol in SYMBOLS:
        massive.add_bars(session_bars(symbol, DAY - timedelta(days=1)) + session_bars(symbol, DAY))
    signals_stage.save_regime(*DAY_REGIME)
    return signals_stage


@pytest.fixture
def real_stage(
    signals_stage: SignalsStage, massive: MassiveEmulator
) -> tuple[SignalsStage, RealDay]:
    """The stage with the real signal day (tests/support/signals_real.py) at the vendor."""
    day = real_day()
    massive.add_bars(day.all_bars)
    signals_stage.save_regime(day.day, day.vix)
    return signals_stage, day


@pytest.fixture
def signals_clock(monkeypatch: pytest.MonkeyPatch) -> FixedClock:
    fixed = FixedClock(session_of(DAY).open)
    monkeypatch.setattr(signals_handler, "clock", fixed)
    monkeypatch.setattr(ingest_handler, "clock", fixed)
    return fixed
