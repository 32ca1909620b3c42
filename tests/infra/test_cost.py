"""docs/cost.md is the cost model's output, and the model counts what the stack schedules."""

from __future__ import annotations

from pathlib import Path

from maxtrader.config.loader import load_config
from maxtrader.config.stage import StageConfig
from maxtrader_infra import cost_model
from maxtrader_infra.function_specs import FUNCTIONS

REPO = Path(__file__).resolve().parents[2]


def stage(name: str = "production") -> StageConfig:
    config = load_config(stage=name).stage
    assert config is not None
    return config


def test_the_cost_page_prints_the_models_current_table() -> None:
    page = (REPO / "docs" / "cost.md").read_text()
    assert cost_model.markdown("production") in page, "docs/cost.md is stale: regenerate it"


def test_invocations_follow_the_schedules_and_the_session() -> None:
    calls = cost_model.monthly_invocations(stage())
    days = cost_model.TRADING_DAYS_PER_MONTH
    assert set(calls) == {spec.name for spec in FUNCTIONS}
    assert calls["monitor"] == 390 * days  # every minute of the session
    assert calls["regime"] == 78 * days  # every 5 minutes of the session
    assert calls["health"] == 420 * days  # every minute from 09:00
    assert calls["ingest"] == 390 * days
    assert calls["signals"] == (390 + 2 * 390) * days  # its poll plus one per bar (2 symbols)
    assert calls["premarket"] == calls["parity"] == days
    assert calls["eod"] == 4 * days


def test_a_slower_monitor_cadence_costs_fewer_calls() -> None:
    slower = stage().model_copy(
        update={"schedules": stage().schedules.model_copy(update={"monitor_every_minutes": 5})}
    )
    assert cost_model.monthly_invocations(slower)["monitor"] == 78 * 21


def test_the_estimate_is_a_sum_of_non_negative_items() -> None:
    rows = cost_model.estimate(stage())
    assert all(usd >= 0 for _, _, usd in rows)
    total = sum(usd for _, _, usd in rows)
    assert f"**{total:.2f}**" in cost_model.markdown("production")
    assert 2.0 < total < 20.0  # fixed costs alone are over $2; a runaway model is caught
