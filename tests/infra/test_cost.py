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


def test_measured_functions_use_their_measured_figures_and_the_rest_assumed_ones() -> None:
    usage = {"functions": {
        "signals": {"invocations": 4, "dynamodb_read_units": 10.0, "dynamodb_write_units": 6.0,
                    "sqs_requests": 2},
        "execute": {"invocations": 0, "dynamodb_read_units": 0.0, "dynamodb_write_units": 0.0,
                    "sqs_requests": 0},
    }}  # fmt: skip
    each = cost_model.per_invocation(usage)
    assert (each["signals"].reads, each["signals"].writes, each["signals"].sqs) == (2.5, 1.5, 0.5)
    assert each["signals"].seconds == cost_model.ASSUMED["signals"].seconds  # not measured
    assert each["execute"] == cost_model.ASSUMED["execute"]  # never invoked: assumed
    assert each["monitor"] == cost_model.ASSUMED["monitor"]  # absent: assumed


def test_the_committed_measurement_covers_the_trading_path() -> None:
    usage = cost_model.load_usage()
    assert usage["measured_by"].startswith("maxtrader simulate: ")
    invoked = {name for name, u in usage["functions"].items() if u["invocations"]}
    assert {"ingest", "signals", "execute", "monitor", "health", "regime", "eod"} <= invoked


def test_a_simulation_result_becomes_the_measurement() -> None:
    result = {"day": "2024-06-12", "source": "synthetic, seed 1", "stage": "staging",
              "faults": {"broker-5xx": "ok"}, "usage": {"ingest": {"invocations": 1}}}  # fmt: skip
    usage = cost_model.usage_from_simulation(result)
    assert usage["functions"] == {"ingest": {"invocations": 1}}
    expected = "2024-06-12 (synthetic, seed 1), stage staging, drills: broker-5xx"
    assert expected in usage["measured_by"]
