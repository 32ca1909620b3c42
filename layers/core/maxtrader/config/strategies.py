"""configs/strategies.yaml: session window, regimes, options and each strategy's parameters.

Defaults are those of ../shared/specs/strategies.md.
"""

from __future__ import annotations

from datetime import time
from typing import Self

from pydantic import Field, model_validator

from maxtrader.config.base import (
    ClockTime,
    ConfigModel,
    Fraction,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
)
from maxtrader.domain.models import Instrument


class SessionRules(ConfigModel):
    entry_start: ClockTime = time(9, 45)
    entry_stop_before_close_minutes: PositiveInt = 30
    flatten_before_close_minutes: PositiveInt = 15

    @model_validator(mode="after")
    def _flatten_after_last_entry(self) -> Self:
        if self.flatten_before_close_minutes > self.entry_stop_before_close_minutes:
            raise ValueError(
                "flatten_before_close_minutes must not exceed entry_stop_before_close_minutes "
                "(positions would be flattened while entries are still allowed)"
            )
        return self


class OptionRules(ConfigModel):
    min_dte: NonNegativeInt = 0
    max_spread_pct: Fraction = 0.10
    risk_pct: Fraction = 0.01  # risk budget = min(risk_pct x equity, risk_abs)
    risk_abs: PositiveFloat = 500.0
    option_half_spread_pct: Fraction = 0.02
    option_commission: NonNegativeFloat = 0.65
    iv_scale: dict[str, PositiveFloat] = Field(default_factory=lambda: {"SPY": 1.0, "QQQ": 1.2})


class RegimeRules(ConfigModel):
    pause_below: PositiveFloat = 8.0  # [0, 8) EXTREME_CALM_PAUSE
    ultra_low_below: PositiveFloat = 13.0  # [8, 13) ULTRA_LOW_VOL; [13, 30] NORMAL_VOL
    high_above: PositiveFloat = 30.0  # (30, inf) HIGH_VOL
    hysteresis: NonNegativeFloat = 0.5
    vix_max_age_minutes: PositiveInt = 15

    @model_validator(mode="after")
    def _bands_ordered(self) -> Self:
        if not self.pause_below < self.ultra_low_below < self.high_above:
            raise ValueError("regime bands must satisfy pause_below < ultra_low_below < high_above")
        return self


class WaveRenko(ConfigModel):
    instrument: Instrument = Instrument.OPTION
    brick_atr_mult: PositiveFloat = 4.0
    atr_period: PositiveInt = 14
    brick_sessions: PositiveInt = 5
    min_brick: PositiveFloat = 0.05
    reversal_bricks: PositiveInt = 1
    wave_min_bricks: PositiveInt = 3
    min_retrace: Fraction = 0.2
    max_retrace: Fraction = 0.62
    vwap_filter: bool = True
    trend_filter: bool = True
    trend_sessions: PositiveInt = 5
    stop_buffer_bricks: NonNegativeFloat = 0.5
    target_wave_mult: PositiveFloat = 1.0
    min_rr: PositiveFloat = 1.5
    max_hold_minutes: PositiveInt = 60

    @model_validator(mode="after")
    def _retrace_ordered(self) -> Self:
        if self.min_retrace >= self.max_retrace:
            raise ValueError("min_retrace must be below max_retrace")
        return self


class VwapMeanReversion(ConfigModel):
    instrument: Instrument = Instrument.OPTION
    band_sigma: PositiveFloat = 2.0
    min_band_pct: Fraction = 0.0005
    min_bars: PositiveInt = 15
    entry_start: ClockTime = time(10, 0)
    entry_end: ClockTime = time(15, 30)
    stop_lookback_bars: PositiveInt = 10
    stop_buffer_pct: Fraction = 0.001
    min_rr: PositiveFloat = 1.5
    cooldown_bars: NonNegativeInt = 10
    max_signals_per_day: PositiveInt = 2
    max_hold_minutes: PositiveInt = 60


class Pause(ConfigModel):
    flatten_on_pause: bool = False


class HighVol(ConfigModel):
    enabled: bool = False  # the original system deferred it
    instrument: Instrument = Instrument.OPTION
    htf_minutes: PositiveInt = 60
    ltf_minutes: PositiveInt = 5
    base_max_candles: PositiveInt = 3
    base_max_body_pct: Fraction = 0.5
    displacement_atr: PositiveFloat = 1.5
    atr_period: PositiveInt = 14
    zone_max_sessions: PositiveInt = 5
    trigger_window_bars: PositiveInt = 2
    stop_zone_mult: NonNegativeFloat = 0.2
    target_lookback_htf: PositiveInt = 20
    min_rr: PositiveFloat = 2.0
    max_hold_minutes: PositiveInt = 120


class StrategiesConfig(ConfigModel):
    session: SessionRules = SessionRules()
    options: OptionRules = OptionRules()
    regime: RegimeRules = RegimeRules()
    wave_renko: WaveRenko = WaveRenko()
    vwap_mean_reversion: VwapMeanReversion = VwapMeanReversion()
    pause: Pause = Pause()
    high_vol: HighVol = HighVol()
