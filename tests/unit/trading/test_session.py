"""The session step: every routed strategy steps, only the regime's strategy's signals are sized."""

from __future__ import annotations

from datetime import date
from typing import Any

from maxtrader.config.strategies import Pause, StrategiesConfig
from maxtrader.domain.models import Direction, Regime
from maxtrader.domain.regime import RegimeState
from maxtrader.trading.session import Routing, step_bar
from tests.unit.backtest.synth import CALENDAR, Scripted, flat_session

DAY = date(2024, 6, 4)
SESSION = CALENDAR.session(DAY)
PLAN = {"10:30": (Direction.LONG, 499.0, 503.0)}


def state(regime: Regime) -> RegimeState:
    return RegimeState(day=DAY, regime=regime, anchor=regime, vix=15.0)


def test_the_default_routing_follows_the_spec() -> None:
    routing = Routing(StrategiesConfig())
    assert routing.entry_strategy(Regime.NORMAL_VOL) == "wave_renko"
    assert routing.entry_strategy(Regime.ULTRA_LOW_VOL) == "vwap_reversion"
    assert routing.entry_strategy(Regime.HIGH_VOL) is None  # high_vol disabled by default
    assert routing.entry_strategy(Regime.UNKNOWN) is None
    assert not routing.flattens(Regime.EXTREME_CALM_PAUSE)
    pausing = Routing(StrategiesConfig(pause=Pause(flatten_on_pause=True)))
    assert pausing.flattens(Regime.EXTREME_CALM_PAUSE) and not pausing.flattens(Regime.NORMAL_VOL)
    assert list(routing.strategies([Regime.NORMAL_VOL, Regime.UNKNOWN, Regime.NORMAL_VOL])) == [
        "wave_renko"
    ]


def test_step_bar_steps_every_strategy_and_routes_only_the_regimes() -> None:
    assert SESSION is not None
    a, b = Scripted(dict(PLAN), name="wave_renko"), Scripted(dict(PLAN), name="vwap_reversion")
    by_regime = {Regime.NORMAL_VOL: a, Regime.ULTRA_LOW_VOL: b}

    def router(regime: Regime, cfg: StrategiesConfig) -> Any:
        return by_regime.get(regime)

    routing = Routing(StrategiesConfig(), router)
    strategies = routing.strategies([Regime.NORMAL_VOL, Regime.ULTRA_LOW_VOL])
    states = {name: s.start_session("SPY", SESSION, []) for name, s in strategies.items()}
    signal_bar = next(b_ for b_ in flat_session(DAY) if b_.ts.hour == 14 and b_.ts.minute == 30)
    states, step = step_bar(routing, strategies, states, signal_bar, state(Regime.ULTRA_LOW_VOL))
    assert step.strategy == "vwap_reversion" and [s.strategy for s in step.signals] == [
        "vwap_reversion"
    ]
    assert all(s.last_ts == signal_bar.ts for s in states.values())  # both stepped
    assert not step.flatten
    _, unknown = step_bar(routing, strategies, states, signal_bar, state(Regime.UNKNOWN))
    assert unknown.strategy is None and unknown.signals == ()


def test_the_trading_core_imports_no_pandas() -> None:
    """The bar path (session step, sizing, exits, regime) stays light for a Lambda."""
    import subprocess
    import sys

    code = (
        "import sys; import maxtrader.trading.session, maxtrader.trading.entries, "
        "maxtrader.trading.exits, maxtrader.trading.regime, maxtrader.trading.positions; "
        "print(sorted(m for m in ('pandas', 'numpy', 'pyarrow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
