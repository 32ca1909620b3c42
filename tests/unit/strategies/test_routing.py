"""Routing regimes to strategies, and what a regime means for entries and open positions."""

from __future__ import annotations

import pytest

from maxtrader.config.strategies import HighVol, Pause, StrategiesConfig
from maxtrader.domain.models import Regime
from maxtrader.domain.strategies.routing import (
    STRATEGY_NAMES,
    regime_policy,
    strategy_for,
    strategy_named,
)

DEFAULT = StrategiesConfig()
ENABLED = StrategiesConfig(high_vol=HighVol(enabled=True))


@pytest.mark.parametrize(
    ("regime", "config", "expected"),
    [
        (Regime.NORMAL_VOL, DEFAULT, "wave_renko"),
        (Regime.ULTRA_LOW_VOL, DEFAULT, "vwap_reversion"),
        (Regime.EXTREME_CALM_PAUSE, DEFAULT, "pause"),
        (Regime.HIGH_VOL, DEFAULT, None),  # deferred, as in the original system
        (Regime.HIGH_VOL, ENABLED, "smart_money"),
        (Regime.UNKNOWN, ENABLED, None),
    ],
)
def test_strategy_for(regime: Regime, config: StrategiesConfig, expected: str | None) -> None:
    strategy = strategy_for(regime, config)
    assert (strategy.name if strategy else None) == expected
    if strategy is not None:
        assert strategy.regime is regime


@pytest.mark.parametrize(
    ("regime", "config", "entries", "flatten"),
    [
        (Regime.NORMAL_VOL, DEFAULT, True, False),
        (Regime.ULTRA_LOW_VOL, DEFAULT, True, False),
        (Regime.EXTREME_CALM_PAUSE, DEFAULT, False, False),
        (
            Regime.EXTREME_CALM_PAUSE,
            StrategiesConfig(pause=Pause(flatten_on_pause=True)),
            False,
            True,
        ),
        (Regime.HIGH_VOL, DEFAULT, False, False),
        (Regime.HIGH_VOL, ENABLED, True, False),
        (Regime.UNKNOWN, DEFAULT, False, False),
    ],
)
def test_regime_policy(
    regime: Regime, config: StrategiesConfig, entries: bool, flatten: bool
) -> None:
    policy = regime_policy(regime, config)
    assert (policy.entries_allowed, policy.flatten_open_positions) == (entries, flatten)
    assert (policy.strategy is not None) == entries
    assert policy.reason


def test_an_open_position_finds_its_strategy_whatever_the_regime() -> None:
    # a Wave-Renko position opened in NORMAL_VOL keeps its time stop after a switch to HIGH_VOL
    for name in STRATEGY_NAMES:
        assert strategy_named(name, DEFAULT).name == name
    assert strategy_named("smart_money", DEFAULT).max_hold_minutes == 120  # even if disabled
    assert strategy_named("wave_renko", DEFAULT).max_hold_minutes == 60
    with pytest.raises(ValueError, match="unknown strategy 'renko'"):
        strategy_named("renko", DEFAULT)


def test_strategy_attributes_follow_the_config() -> None:
    cfg = StrategiesConfig.model_validate({"wave_renko": {"instrument": "equity", "min_rr": 2.5}})
    s = strategy_named("wave_renko", cfg)
    assert s.instrument.value == "equity" and s.min_rr == 2.5
    assert s.history_sessions == 6  # brick: 5 sessions; trend: last close vs 5 sessions before
