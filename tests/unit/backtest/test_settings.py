"""``--set`` overrides on the frozen config models: applied, validated, errors name the key."""

from __future__ import annotations

from datetime import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.backtest.settings import BacktestSettings, OverrideError, RunConfig, apply_overrides
from maxtrader.config.safety import SafetyConfig
from maxtrader.config.strategies import StrategiesConfig
from maxtrader.domain.models import Instrument, Regime

BASE = RunConfig(SafetyConfig(), StrategiesConfig(), BacktestSettings())


def test_values_are_applied_by_dotted_key_with_their_types():
    cfg = apply_overrides(
        BASE,
        [
            "strategies.wave_renko.min_rr=2",
            "strategies.wave_renko.instrument=equity",
            "strategies.session.entry_start=10:15",
            "strategies.options.iv_scale.IWM=1.3",
            "safety.regime_overrides.NORMAL_VOL.max_daily_trades=4",
            "safety.checks.price_collar=false",
            "backtest.initial_equity=25000",
        ],
    )
    assert cfg.strategies.wave_renko.min_rr == 2.0
    assert cfg.strategies.wave_renko.instrument is Instrument.EQUITY
    assert cfg.strategies.session.entry_start == time(10, 15)
    assert cfg.strategies.options.iv_scale["IWM"] == 1.3
    assert cfg.safety.limits_for(Regime.NORMAL_VOL).max_daily_trades == 4
    assert cfg.safety.checks.price_collar is False
    assert cfg.backtest.initial_equity == 25000
    assert BASE.strategies.wave_renko.min_rr == 1.5  # the base is untouched


@pytest.mark.parametrize(
    ("item", "named"),
    [
        ("strategies.wave_renko.min_rrr=2", "strategies.wave_renko.min_rrr"),
        ("strategies.wave_renko.min_rr=-1", "strategies.wave_renko.min_rr"),
        ("strategies.wave_renko.min_rr=abc", "strategies.wave_renko.min_rr"),
        ("safety.limits.max_daily_loss_pct=2", "safety.limits.max_daily_loss_pct"),
        ("strategies.nope.x=1", "strategies.nope.x"),
        ("strategies.wave_renko=1", "strategies.wave_renko"),
        ("wave_renko.min_rr=2", "wave_renko.min_rr"),
        ("strategies.session.entry_start=25:99", "strategies.session.entry_start"),
        ("strategies.wave_renko.min_retrace=0.9", "strategies.wave_renko"),
        ("no-equals-sign", "no-equals-sign"),
    ],
)
def test_bad_keys_and_values_raise_naming_the_key(item, named):
    with pytest.raises(OverrideError, match=named.replace(".", r"\.")):
        apply_overrides(BASE, [item])


@pytest.mark.fuzz
@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_input_either_applies_or_raises_override_error(text):
    try:
        cfg = apply_overrides(BASE, [text])
    except OverrideError as exc:
        assert str(exc)
    else:
        assert isinstance(cfg, RunConfig)
