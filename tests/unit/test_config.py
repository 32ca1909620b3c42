from __future__ import annotations

import math
import shutil
from datetime import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.config import load_config, load_safety, load_stage, load_strategies
from maxtrader.config.safety import Limits, SafetyConfig
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import ConfigError
from maxtrader.domain.models import Instrument, Regime
from tests.support.safety import entry, make_engine, market


@pytest.fixture
def broken_dir(tmp_path: Path, config_dir: Path) -> Path:
    """A writable copy of configs/ for each test to break in its own way."""
    target = tmp_path / "configs"
    shutil.copytree(config_dir, target)
    return target


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


class TestShippedConfig:
    def test_safety_defaults_match_the_spec(self, config_dir: Path) -> None:
        safety = load_safety(config_dir)
        assert safety == load_safety(config_dir)  # frozen models compare by value
        limits = safety.limits
        assert (limits.max_daily_loss_pct, limits.max_daily_loss_abs) == (0.02, 2000)
        assert (limits.max_concurrent_positions, limits.max_daily_trades) == (3, 10)
        assert (limits.max_daily_trades_per_strategy, limits.min_seconds_between_trades) == (5, 60)
        assert (limits.max_position_pct, limits.max_premium, limits.max_exposure_pct) == (
            0.01,
            500,
            0.03,
        )
        assert limits.min_rr == 1.5
        assert (limits.max_weekly_loss_pct, limits.max_monthly_loss_pct) == (0.05, 0.10)
        assert safety.breakers.rapid_loss.losses == 3
        assert safety.breakers.error_rate.pause_minutes == 30
        assert safety.breakers.drawdown.max_drawdown_pct == 0.03
        # The shipped file and the model's own defaults agree, so neither can drift silently.
        assert safety == type(safety)()

    def test_strategy_defaults_match_the_spec(self, config_dir: Path) -> None:
        strategies = load_strategies(config_dir)
        assert strategies == type(strategies)()
        assert strategies.session.entry_start == time(9, 45)
        assert strategies.wave_renko.brick_atr_mult == 4.0
        assert strategies.wave_renko.instrument is Instrument.OPTION
        assert strategies.vwap_mean_reversion.entry_end == time(15, 30)
        assert strategies.high_vol.enabled is False
        assert strategies.options.iv_scale == {"SPY": 1.0, "QQQ": 1.2}

    @pytest.mark.parametrize("stage", ["staging", "production"])
    def test_stages_default_to_paper_trading(self, config_dir: Path, stage: str) -> None:
        config = load_stage(stage, config_dir)
        assert config.alpaca.live is False
        assert config.trading_mode == "paper"
        assert config.symbols == ["SPY", "QQQ"]

    def test_production_ships_with_obvious_placeholder_contacts(self, config_dir: Path) -> None:
        assert load_stage("production", config_dir).placeholder_contacts() == [
            "oncall@example.com",
            "+15555550100",
        ]


class TestRegimeOverrides:
    @pytest.mark.parametrize(
        ("regime", "trades", "positions"),
        [
            (Regime.NORMAL_VOL, 10, 3),
            (Regime.ULTRA_LOW_VOL, 5, 2),
            (Regime.EXTREME_CALM_PAUSE, 0, 0),
            (Regime.HIGH_VOL, 3, 1),
            (Regime.UNKNOWN, 0, 0),
        ],
    )
    def test_override_merges_over_the_base(
        self, config_dir: Path, regime: Regime, trades: int, positions: int
    ) -> None:
        limits = load_safety(config_dir).limits_for(regime)
        assert (limits.max_daily_trades, limits.max_concurrent_positions) == (trades, positions)
        assert limits.max_premium == 500  # keys not overridden keep the base value

    def test_a_looser_override_stands(self, broken_dir: Path) -> None:
        replace_in(
            broken_dir / "safety.yaml",
            "HIGH_VOL:           {max_daily_trades: 3,",
            "HIGH_VOL:           {max_daily_trades: 50,",
        )
        assert load_safety(broken_dir).limits_for(Regime.HIGH_VOL).max_daily_trades == 50

    def test_a_regime_the_file_leaves_out_keeps_the_specifications_override(
        self, broken_dir: Path
    ) -> None:
        replace_in(
            broken_dir / "safety.yaml",
            "  HIGH_VOL:           {max_daily_trades: 3, max_concurrent_positions: 1}\n",
            "",
        )
        limits = load_safety(broken_dir).limits_for(Regime.HIGH_VOL)
        assert (limits.max_daily_trades, limits.max_concurrent_positions) == (3, 1)


def only_high_vol(broken_dir: Path, high_vol: str = "{max_daily_trades: 4}") -> Path:
    """safety.yaml whose regime_overrides lists HIGH_VOL alone."""
    path = broken_dir / "safety.yaml"
    text = path.read_text()
    start = text.index("regime_overrides:")
    end = text.index("breakers:")
    path.write_text(text[:start] + f"regime_overrides:\n  HIGH_VOL: {high_vol}\n\n" + text[end:])
    return broken_dir


class TestOverridesMergePerRegime:
    """Each regime's keys merge over the specification's override of that regime."""

    def test_a_file_listing_only_high_vol_keeps_the_closed_regimes_closed(
        self, broken_dir: Path
    ) -> None:
        # On main the other four regimes silently lost their overrides: UNKNOWN got 10/3.
        safety = load_safety(only_high_vol(broken_dir))
        for regime in (Regime.UNKNOWN, Regime.EXTREME_CALM_PAUSE):
            limits = safety.limits_for(regime)
            assert (limits.max_daily_trades, limits.max_concurrent_positions) == (0, 0)
        assert safety.limits_for(Regime.ULTRA_LOW_VOL).max_concurrent_positions == 2
        high = safety.limits_for(Regime.HIGH_VOL)
        assert (high.max_daily_trades, high.max_concurrent_positions) == (4, 1)  # merged per key
        assert safety.warnings() == []

    def test_empty_overrides_are_the_specifications(self) -> None:
        assert SafetyConfig.model_validate({"regime_overrides": {}}) == SafetyConfig()
        assert SafetyConfig.model_validate({"regime_overrides": {"UNKNOWN": {}}}) == SafetyConfig()

    def test_tightening_a_closed_regime_does_not_open_it(self) -> None:
        config = SafetyConfig.model_validate({"regime_overrides": {"UNKNOWN": {"min_rr": 3.0}}})
        limits = config.limits_for(Regime.UNKNOWN)
        assert (limits.max_daily_trades, limits.max_concurrent_positions, limits.min_rr) == (
            0,
            0,
            3.0,
        )
        assert config.warnings() == []

    @pytest.mark.parametrize("regime", ["UNKNOWN", "EXTREME_CALM_PAUSE"])
    def test_opening_a_closed_regime_takes_naming_it_and_is_warned(self, regime: str) -> None:
        config = SafetyConfig.model_validate(
            {"regime_overrides": {regime: {"max_daily_trades": 2, "max_concurrent_positions": 1}}}
        )
        limits = config.limits_for(Regime(regime))
        assert (limits.max_daily_trades, limits.max_concurrent_positions) == (2, 1)
        assert config.warnings() == [
            f"regime_overrides.{regime}: admits entries (max_daily_trades 2, "
            f"max_concurrent_positions 1); the specification keeps {regime} at 0/0, no entries"
        ]

    def test_a_partly_opened_closed_regime_is_warned_too(self) -> None:
        config = SafetyConfig.model_validate(
            {"regime_overrides": {"UNKNOWN": {"max_daily_trades": 5}}}
        )
        (warning,) = config.warnings()
        assert warning.startswith("regime_overrides.UNKNOWN: is partly opened")

    def test_a_check_switched_off_is_warned(self) -> None:
        config = SafetyConfig.model_validate({"checks": {"price_collar": False}})
        assert config.warnings() == ["checks.price_collar: off; the specification turns it on"]

    @settings(max_examples=60, deadline=None)
    @given(
        given_overrides=st.dictionaries(
            st.sampled_from(Regime),
            st.fixed_dictionaries(
                {},
                optional={
                    "max_daily_trades": st.integers(0, 20),
                    "max_concurrent_positions": st.integers(0, 5),
                    "min_rr": st.floats(0.5, 4.0),
                },
            ),
        )
    )
    def test_the_merge_is_per_key_over_the_specification(
        self, given_overrides: dict[Regime, dict[str, Any]]
    ) -> None:
        config = SafetyConfig.model_validate({"regime_overrides": given_overrides})
        spec = SafetyConfig()
        for regime in Regime:
            limits, default = config.limits_for(regime), spec.limits_for(regime)
            named = given_overrides.get(regime, {})
            for field in ("max_daily_trades", "max_concurrent_positions", "min_rr"):
                assert getattr(limits, field) == named.get(field, getattr(default, field))
        opened = [
            r
            for r in (Regime.EXTREME_CALM_PAUSE, Regime.UNKNOWN)  # the order warnings() uses
            if config.limits_for(r).max_daily_trades
            or config.limits_for(r).max_concurrent_positions
        ]
        assert [w.split(":")[0] for w in config.warnings()] == [
            f"regime_overrides.{r.value}" for r in opened
        ]
        # A config dumps and re-loads to itself (the backtest's key=value overrides rely on it).
        assert SafetyConfig.model_validate(config.model_dump()) == config

    @pytest.mark.parametrize(
        ("overrides", "where"),
        [
            (None, "regime_overrides"),
            ([], "regime_overrides"),
            ({"UNKNOWN": None}, "regime_overrides.UNKNOWN"),
            ({"unknown": {}}, "regime_overrides.unknown"),
        ],
    )
    def test_an_empty_or_malformed_section_is_an_error_not_the_defaults(
        self, overrides: object, where: str
    ) -> None:
        # `regime_overrides:` with nothing after it is YAML null: refused, never "no overrides".
        with pytest.raises(ValidationError) as caught:
            SafetyConfig.model_validate({"regime_overrides": overrides})
        locs = [".".join(str(p) for p in e["loc"] if p != "[key]") for e in caught.value.errors()]
        assert where in locs

    def test_a_null_key_cannot_open_a_closed_regime(self) -> None:
        config = SafetyConfig.model_validate(
            {"regime_overrides": {"UNKNOWN": {"max_daily_trades": None}}}
        )
        assert config.limits_for(Regime.UNKNOWN).max_daily_trades == 0

    def test_an_unknown_regime_entry_is_rejected_end_to_end(
        self, broken_dir: Path, clock: FixedClock
    ) -> None:
        # On main this file made UNKNOWN trade on the base limits and the entry was approved.
        engine = make_engine(InMemoryStateStore(), clock, load_safety(only_high_vol(broken_dir)))
        verdict = engine.reserve(entry(), market(regime=Regime.UNKNOWN))
        assert not verdict.approved
        assert {"daily_trades", "concurrent_positions"} <= {c.name for c in verdict.failures}
        assert engine.reserve(entry(), market(regime=Regime.NORMAL_VOL)).approved


class TestConfigFuzz:
    """Any value in any limit: a ValidationError naming the key, or a limit inside its range."""

    @settings(max_examples=200, deadline=None)
    @given(
        values=st.dictionaries(
            st.sampled_from(sorted(Limits.model_fields)),
            st.one_of(
                st.booleans(),
                st.none(),
                st.integers(-(10**6), 10**6),
                st.floats(allow_nan=True, allow_infinity=True),
                st.sampled_from(["yes", "off", "1.5", "", "3", "nan", "1e400"]),
            ),
            max_size=6,
        ),
        regime=st.sampled_from(Regime),
    )
    def test_limits_are_in_range_or_refused_by_name(
        self, values: dict[str, Any], regime: Regime
    ) -> None:
        try:
            config = SafetyConfig.model_validate(
                {"limits": values, "regime_overrides": {regime.value: values}}
            )
        except ValidationError as exc:
            for error in exc.errors():
                assert error["loc"][0] in {"limits", "regime_overrides"}
                assert str(error["loc"][-1]) in values or error["loc"][-1] == "[key]"
            return
        for limits in (config.limits, config.limits_for(regime)):
            for name, value in limits.model_dump().items():
                assert not isinstance(value, bool) and math.isfinite(value), name
                assert value >= 0, name
                if name.endswith("_pct"):
                    assert 0 < value <= 1, name

    def test_a_yaml_boolean_is_not_a_number(self, broken_dir: Path) -> None:
        # YAML 1.1 reads `yes` as true and pydantic read true as 1: min_rr 1.5 became 1.0.
        replace_in(broken_dir / "safety.yaml", "min_rr: 1.5", "min_rr: yes")
        with pytest.raises(ConfigError) as caught:
            load_safety(broken_dir)
        (problem,) = caught.value.problems
        assert "limits.min_rr: expected a number, got the boolean True" in problem


class TestInvalidConfig:
    def problems(self, config_dir: Path, stage: str | None = None) -> list[str]:
        with pytest.raises(ConfigError) as exc:
            load_config(config_dir, stage)
        return exc.value.problems

    def test_unknown_key_names_file_and_path(self, broken_dir: Path) -> None:
        replace_in(broken_dir / "safety.yaml", "max_daily_trades: 10 ", "max_daily_trade: 10 ")
        assert self.problems(broken_dir) == [
            f"{broken_dir / 'safety.yaml'}: limits.max_daily_trade: unknown key"
        ]

    def test_wrong_type(self, broken_dir: Path) -> None:
        replace_in(broken_dir / "safety.yaml", "max_premium: 500", "max_premium: lots")
        (problem,) = self.problems(broken_dir)
        assert problem.startswith(f"{broken_dir / 'safety.yaml'}: limits.max_premium: wrong type")
        assert "'lots'" in problem

    @pytest.mark.parametrize("value", ["2", "1.5", "0", "-0.02"])
    def test_percentage_outside_zero_to_one_is_out_of_range(
        self, broken_dir: Path, value: str
    ) -> None:
        replace_in(
            broken_dir / "safety.yaml", "max_daily_loss_pct: 0.02", f"max_daily_loss_pct: {value}"
        )
        (problem,) = self.problems(broken_dir)
        assert "limits.max_daily_loss_pct: out of range" in problem

    def test_unknown_regime_in_overrides(self, broken_dir: Path) -> None:
        replace_in(broken_dir / "safety.yaml", "  HIGH_VOL:  ", "  SIDEWAYS:  ")
        (problem,) = self.problems(broken_dir)
        assert "regime_overrides.SIDEWAYS" in problem

    def test_every_problem_in_every_file_is_reported(self, broken_dir: Path) -> None:
        replace_in(broken_dir / "safety.yaml", "losses: 3", "loses: 3")
        replace_in(broken_dir / "strategies.yaml", "brick_atr_mult: 4.0", "brick_atr_mult: -4")
        replace_in(broken_dir / "stages" / "staging.yaml", "live: false", "live: maybe")
        problems = self.problems(broken_dir, "staging")
        assert len(problems) == 3
        assert any("safety.yaml: breakers.rapid_loss.loses: unknown key" in p for p in problems)
        assert any(
            "strategies.yaml: wave_renko.brick_atr_mult: out of range" in p for p in problems
        )
        assert any("staging.yaml: alpaca.live: wrong type" in p for p in problems)

    def test_unquoted_time_is_rejected_with_a_hint(self, broken_dir: Path) -> None:
        # YAML 1.1 reads an unquoted 10:00 as the sexagesimal integer 600.
        replace_in(broken_dir / "strategies.yaml", 'entry_start: "10:00"', "entry_start: 10:00")
        (problem,) = self.problems(broken_dir)
        assert 'vwap_mean_reversion.entry_start: expected a quoted time "HH:MM", got 600' in problem

    def test_duplicate_key_is_an_error_not_a_silent_override(self, broken_dir: Path) -> None:
        replace_in(broken_dir / "safety.yaml", "  min_rr: 1.5", "  min_rr: 1.5\n  min_rr: 0.1")
        (problem,) = self.problems(broken_dir)
        assert "duplicate key 'min_rr'" in problem and "line" in problem

    def test_invalid_yaml_names_the_line(self, broken_dir: Path) -> None:
        (broken_dir / "safety.yaml").write_text("limits:\n  max_premium: [500\n")
        (problem,) = self.problems(broken_dir)
        assert problem.startswith(f"{broken_dir / 'safety.yaml'}: line ")
        assert "invalid YAML" in problem

    def test_top_level_must_be_a_mapping(self, broken_dir: Path) -> None:
        (broken_dir / "strategies.yaml").write_text("- a\n- b\n")
        assert self.problems(broken_dir) == [
            f"{broken_dir / 'strategies.yaml'}: (top level): expected a mapping, got list"
        ]

    def test_missing_file_and_missing_required_key(self, broken_dir: Path) -> None:
        (broken_dir / "safety.yaml").unlink()
        replace_in(broken_dir / "stages" / "staging.yaml", "name: staging\n", "")
        problems = self.problems(broken_dir, "staging")
        assert f"{broken_dir / 'safety.yaml'}: file not found" in problems
        assert f"{broken_dir / 'stages' / 'staging.yaml'}: name: missing required key" in problems

    def test_stage_name_must_match_its_file(self, broken_dir: Path) -> None:
        replace_in(broken_dir / "stages" / "staging.yaml", "name: staging", "name: production")
        (problem,) = self.problems(broken_dir, "staging")
        assert "name: is 'production' but the file is for stage 'staging'" in problem

    def test_cross_field_rules(self, broken_dir: Path) -> None:
        replace_in(broken_dir / "strategies.yaml", "min_retrace: 0.2", "min_retrace: 0.7")
        replace_in(broken_dir / "strategies.yaml", "high_above: 30", "high_above: 12")
        problems = self.problems(broken_dir)
        assert any("wave_renko: min_retrace must be below max_retrace" in p for p in problems)
        assert any("regime: regime bands must satisfy" in p for p in problems)

    def test_bad_contacts_and_account(self, broken_dir: Path) -> None:
        stage = broken_dir / "stages" / "production.yaml"
        replace_in(stage, '"+15555550100"', '"555-0100"')
        replace_in(stage, '"222222222222"', '"2222"')
        problems = self.problems(broken_dir, "production")
        assert any("alerts.sms.0" in p for p in problems)
        assert any("aws.account" in p for p in problems)

    def test_live_trading_needs_the_explicit_flag(self, broken_dir: Path) -> None:
        stage = broken_dir / "stages" / "production.yaml"
        assert load_stage("production", broken_dir).trading_mode == "paper"
        replace_in(stage, "live: false", "live: true")
        assert load_stage("production", broken_dir).trading_mode == "live"


def test_the_monitor_may_release_a_reservation_only_after_execute_can_no_longer_send_it() -> None:
    """A reservation the monitor cannot find is released; if execute could still send it, the
    order would reach the broker unreserved. The config refuses such a pair of thresholds."""
    from maxtrader.config.safety import Execution, Monitor, SafetyConfig

    execution = Execution(signal_max_age_seconds=60, in_flight_grace_seconds=120)
    SafetyConfig(execution=execution, monitor=Monitor(ack_timeout_seconds=181))
    with pytest.raises(ValueError, match=r"monitor.ack_timeout_seconds \(180\) must exceed"):
        SafetyConfig(execution=execution, monitor=Monitor(ack_timeout_seconds=180))
    assert SafetyConfig().monitor.ack_timeout_seconds > SafetyConfig().execution.in_flight_seconds
