"""The engine's replay fast path (history split once, a session stepped at once, flat stretches
skipped) gives exactly the result of stepping every bar through ``step`` with plain histories."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest

from maxtrader.backtest.engine import Backtester
from maxtrader.config.strategies import StrategiesConfig
from maxtrader.domain.calendar import Session
from maxtrader.domain.models import Bar, Regime, Signal
from maxtrader.domain.strategies.routing import strategy_for

from .real import real_spy
from .synth import CALENDAR, run_config

pytestmark = pytest.mark.xdist_group("backtest_real_data")  # load the year once per run

START, END = date(2024, 4, 1), date(2024, 5, 31)


class _StepOnly:
    """A strategy seen through the bare protocol: list histories, ``step`` bar by bar."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        for name in ("name", "regime", "instrument", "min_rr", "max_hold_minutes"):
            setattr(self, name, getattr(inner, name))
        self.history_sessions = inner.history_sessions
        self.steps = 0

    def start_session(self, symbol: str, session: Session, history: Sequence[Bar]) -> Any:
        return self.inner.start_session(symbol, session, list(history))

    def step(self, state: Any, bar: Bar) -> tuple[Any, list[Signal]]:
        self.steps += 1
        result: tuple[Any, list[Signal]] = self.inner.step(state, bar)
        return result


@pytest.fixture(scope="module")
def real() -> tuple[list[Bar], dict[date, float]]:
    return real_spy(END)


@pytest.mark.parametrize(
    "overrides",
    [
        (),
        (
            "strategies.wave_renko.instrument=equity",
            "strategies.vwap_mean_reversion.instrument=equity",
            "backtest.drawdown_peak_reset=session",
        ),
    ],
)
def test_fast_path_equals_stepping_every_bar(
    real: tuple[list[Bar], dict[date, float]], overrides: tuple[str, ...]
) -> None:
    bars, vix = real
    config = run_config(*overrides)
    wrapped: list[_StepOnly] = []

    def slow_router(regime: Regime, cfg: StrategiesConfig) -> Any:
        inner = strategy_for(regime, cfg)
        if inner is None:
            return None
        wrapped.append(_StepOnly(inner))
        return wrapped[-1]

    fast = Backtester(config, CALENDAR).run({"SPY": bars}, vix, start=START)
    slow = Backtester(config, CALENDAR, router=slow_router).run({"SPY": bars}, vix, start=START)
    assert len(fast.trades) >= 10, "the window should trade for the comparison to mean anything"
    assert sum(w.steps for w in wrapped) == slow.bars  # the slow side did step every bar
    assert fast.model_dump(exclude={"elapsed_s"}) == slow.model_dump(exclude={"elapsed_s"})
