"""An adversary's pass over the engine's inputs, at and past each boundary (see the report in
docs/safety-layer.md, "Attacked and found"). Each case: a clear error or a rejection, and nothing
changed in the store."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.safety.accounting import FillAttributionError
from maxtrader.domain.safety.context import MarketContext
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.domain.safety.health import HealthInputs
from tests.support.safety import entry, exit_of, fill_of, market, option_entry

BAD_NUMBERS = [float("nan"), float("inf"), float("-inf"), 0.0, -1.0]


@pytest.mark.parametrize("value", BAD_NUMBERS)
@pytest.mark.parametrize("field", ["equity", "start_of_day_equity", "last_price"])
def test_market_figures_must_be_finite_and_positive(field: str, value: float) -> None:
    with pytest.raises(ValidationError, match=field):
        MarketContext.model_validate({"regime": "NORMAL_VOL", field: value})


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0])
def test_buying_power_must_be_finite_and_not_negative(value: float) -> None:
    with pytest.raises(ValidationError, match="buying_power"):
        MarketContext.model_validate({"regime": "NORMAL_VOL", "buying_power": value})


def test_zero_buying_power_rejects_every_entry(engine: SafetyEngine) -> None:
    verdict = engine.evaluate(option_entry(premium=0.01), market(last_price=0.01, buying_power=0))
    assert "notional" in {c.name for c in verdict.failures}


@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_mark_references_must_be_finite_and_positive(
    engine: SafetyEngine, store: InMemoryStateStore, value: float
) -> None:
    before = store.portfolio()
    with pytest.raises(InvalidInputError, match="references"):
        engine.mark_to_market({"SPY": 500.0}, 100_000.0, {"SPY": value})
    assert store.portfolio() == before


def test_an_exit_fill_before_its_entry_fill_is_refused_then_applies_in_order(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    intent = entry()
    engine.reserve(intent, market())
    early_exit = fill_of(exit_of(intent), clock, fill_id="x1")
    with pytest.raises(FillAttributionError, match="holds 0"):
        engine.on_fill(early_exit)
    engine.on_fill(fill_of(intent, clock, fill_id="e1"))
    effect = engine.on_fill(early_exit)  # redelivered after the entry: now it applies
    assert effect is not None and effect.closed
    assert engine.on_fill(early_exit) is None  # and only once


def test_a_huge_quantity_is_stopped_by_the_caps_not_by_arithmetic(engine: SafetyEngine) -> None:
    verdict = engine.evaluate(entry(qty=10**18, stop=499.99, target=500.03), market())
    failed = {c.name for c in verdict.failures}
    assert {"position_size", "total_exposure", "notional"} <= failed


def test_health_data_stamped_in_the_future_is_not_fresh(
    engine: SafetyEngine, clock: FixedClock
) -> None:
    ahead = clock.now() + timedelta(hours=1)
    report = engine.evaluate_health(
        HealthInputs(newest_bars={"SPY": ahead}, vix_at=ahead, broker_ok=True)
    )
    reasons = {c.name: c.reason for c in report.failures}
    assert "in the future" in reasons["data_freshness:SPY"]
    assert "in the future" in reasons["vix_freshness"]


@pytest.mark.parametrize("actor", ["", "   "])
def test_operator_calls_need_an_actor(engine: SafetyEngine, actor: str) -> None:
    with pytest.raises(InvalidInputError):
        engine.rearm_drawdown_stop(actor, "x")
    with pytest.raises(InvalidInputError):
        engine.engage_kill_switch(actor, "x")
