"""Routing: which strategy trades in which regime, and what a regime means for open positions.

strategy_for(regime, config) -> Strategy | None
    NORMAL_VOL -> WaveRenkoStrategy; ULTRA_LOW_VOL -> VwapReversionStrategy;
    EXTREME_CALM_PAUSE -> PauseStrategy (steps, never signals);
    HIGH_VOL -> SmartMoneyStrategy when high_vol.enabled, else None; UNKNOWN -> None.
strategy_named(name, config) -> Strategy
    The strategy that opened a position (by Signal.strategy), whatever the regime now is:
    a regime change never strands a position; its exits (stop, target, time stop
    ``max_hold_minutes``, the session flatten) keep running from the position's own levels.
regime_policy(regime, config) -> RegimePolicy
    entries_allowed / flatten_open_positions / strategy name, for the caller and the safety
    engine's regime override.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from maxtrader.config.strategies import StrategiesConfig
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import Regime
from maxtrader.domain.strategies.base import Strategy
from maxtrader.domain.strategies.pause import PauseStrategy
from maxtrader.domain.strategies.smart_money import SmartMoneyStrategy
from maxtrader.domain.strategies.vwap_reversion import VwapReversionStrategy
from maxtrader.domain.strategies.wave_renko import WaveRenkoStrategy

AnyStrategy = Strategy[Any]
STRATEGY_NAMES = (
    WaveRenkoStrategy.name,
    VwapReversionStrategy.name,
    PauseStrategy.name,
    SmartMoneyStrategy.name,
)


def strategy_named(name: str, config: StrategiesConfig) -> AnyStrategy:
    """A strategy by name (regardless of the regime or of high_vol.enabled)."""
    rules = config.session
    if name == WaveRenkoStrategy.name:
        return WaveRenkoStrategy(config.wave_renko, rules)
    if name == VwapReversionStrategy.name:
        return VwapReversionStrategy(config.vwap_mean_reversion, rules)
    if name == PauseStrategy.name:
        return PauseStrategy(config.pause, rules)
    if name == SmartMoneyStrategy.name:
        return SmartMoneyStrategy(config.high_vol, rules)
    raise InvalidInputError(f"unknown strategy {name!r}; known: {', '.join(STRATEGY_NAMES)}")


def strategy_for(regime: Regime, config: StrategiesConfig) -> AnyStrategy | None:
    """The strategy that may open positions in ``regime``; None: no entries at all."""
    if regime is Regime.NORMAL_VOL:
        return strategy_named(WaveRenkoStrategy.name, config)
    if regime is Regime.ULTRA_LOW_VOL:
        return strategy_named(VwapReversionStrategy.name, config)
    if regime is Regime.EXTREME_CALM_PAUSE:
        return strategy_named(PauseStrategy.name, config)
    if regime is Regime.HIGH_VOL and config.high_vol.enabled:
        return strategy_named(SmartMoneyStrategy.name, config)
    return None


@dataclass(frozen=True, slots=True)
class RegimePolicy:
    regime: Regime
    strategy: str | None  # the strategy that may enter, None when nothing may
    entries_allowed: bool
    flatten_open_positions: bool  # only EXTREME_CALM_PAUSE with flatten_on_pause
    reason: str


def regime_policy(regime: Regime, config: StrategiesConfig) -> RegimePolicy:
    strategy = strategy_for(regime, config)
    if regime is Regime.UNKNOWN:
        return RegimePolicy(regime, None, False, False, "VIX missing or invalid: no new entries")
    if regime is Regime.EXTREME_CALM_PAUSE:
        flatten = config.pause.flatten_on_pause
        why = "pause: no new entries" + (", flatten open positions" if flatten else "")
        return RegimePolicy(regime, None, False, flatten, why)
    if strategy is None:
        return RegimePolicy(regime, None, False, False, f"{regime.value}: strategy disabled")
    return RegimePolicy(regime, strategy.name, True, False, f"{regime.value}: {strategy.name}")
