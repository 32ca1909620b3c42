"""Entries: only bounded risk enters, a notional cap, and every figure from the engine's own state.

Regressions (issue 9): selling an option to open was approved with its premium as max loss; a stop
equal to the entry made the max loss zero (10^18 shares approved); a buy with its stop above the
entry passed; R:R 0.1 from the order's own levels passed on a caller's 2.0; a larger caller
equity loosened checks 9 and 11.
"""

from __future__ import annotations

import pytest

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import OrderIntent, OrderSide
from maxtrader.domain.safety.checks.sizing import UNBOUNDED_RISK
from maxtrader.domain.safety.context import MarketContext
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.domain.safety.state import StateConflictError
from tests.support.safety import EQUITY, entry, make_engine, market, option_entry

DAY = "2024-06-03"


def failure(engine: SafetyEngine, name: str, intent: OrderIntent, context: MarketContext) -> str:
    verdict = engine.evaluate(intent, context)
    reasons = {c.name: c.reason for c in verdict.failures}
    assert name in reasons, reasons
    return reasons[name]


@pytest.mark.parametrize(
    "intent",
    [
        option_entry(side=OrderSide.SELL),  # short option: loss unbounded
        entry(stop=500.0, qty=10**18),  # stop at the entry: "zero" risk
        entry(stop=505.0, target=490.0),  # a buy with its stop above the entry
        entry(side=OrderSide.SELL, stop=495.0, target=510.0),  # a sell with its stop below
        entry(stop=None),
    ],
    ids=["short-option", "zero-distance", "buy-stop-above", "sell-stop-below", "no-stop"],
)
def test_only_bounded_risk_enters(engine: SafetyEngine, intent: OrderIntent) -> None:
    verdict = engine.evaluate(intent, market(last_price=intent.est_price))
    assert not verdict.approved
    reasons = {c.name: c.reason for c in verdict.failures}
    assert reasons["bounded_risk"].startswith(UNBOUNDED_RISK)
    assert "position_size" in reasons and "total_exposure" in reasons


def test_long_options_and_correct_stops_are_bounded(engine: SafetyEngine) -> None:
    assert engine.evaluate(option_entry(), market(last_price=2.0)).checks[8].passed
    for intent in (entry(), entry(side=OrderSide.SELL, stop=505.0, target=490.0)):
        assert "bounded_risk" not in {c.name for c in engine.evaluate(intent, market()).failures}


def test_notional_is_capped_by_equity_and_by_the_brokers_buying_power(
    engine: SafetyEngine,
) -> None:
    # 1000 shares at 500 = 500,000 = 5x equity, risking only 1000 x 0.4 = 400 (1 % is 1,000).
    big = entry(qty=1000, stop=499.6, target=501.0)
    reason = failure(engine, "notional", big, market(reward_risk=None, buying_power=10**7))
    assert reason == "notional 500000.00 > 400000.00"  # 4 x equity
    assert "buying power 400000.00" in failure(engine, "notional", big, market(reward_risk=None))
    small = entry(qty=100)
    assert "buying power" in failure(engine, "notional", small, market(buying_power=40_000.0))
    no_power = market().model_copy(update={"buying_power": None})
    assert "unknown" in failure(engine, "notional", small, no_power)
    assert engine.evaluate(small, market()).approved  # 50,000 within both


def test_reward_risk_comes_from_the_intents_own_levels(engine: SafetyEngine) -> None:
    poor = entry(stop=490.0, target=501.0)  # R:R 0.1
    reason = failure(engine, "reward_risk", poor, market(reward_risk=2.0))
    assert "2.000" in reason and "0.100" in reason  # names both
    assert "0.100 < 1.5" in failure(engine, "reward_risk", poor, market(reward_risk=None))
    upside_down = entry(stop=495.0, target=498.0)  # a buy whose target is below its entry
    assert "inconsistent" in failure(engine, "reward_risk", upside_down, market())


def test_an_options_reward_risk_is_measured_on_the_underlying_and_its_right(
    engine: SafetyEngine,
) -> None:
    call = option_entry(stop=498.0, target=506.0, underlying_price=500.0)  # a call: long levels
    assert engine.evaluate(call, market(last_price=2.0, reward_risk=3.0)).approved
    put_levels = option_entry(stop=502.0, target=494.0, underlying_price=500.0)
    assert "inconsistent" in failure(
        engine, "reward_risk", put_levels, market(last_price=2.0, reward_risk=3.0)
    )


def test_a_larger_caller_equity_fails_closed_naming_both(
    engine: SafetyEngine, store: InMemoryStateStore
) -> None:
    reason = failure(engine, "state_figures", entry(), market(equity=1_000_000.0))
    assert "1000000.00" in reason and "100000.00" in reason
    # Within the tolerance (1 %) the lower figure is used: the position limit is 1 % of 99,500.
    verdict = engine.evaluate(entry(qty=199, stop=495.0), market(equity=99_500.0))
    assert {c.name: c for c in verdict.checks}["position_size"].limit == pytest.approx(995.0)
    assert store.portfolio().equity == EQUITY


def test_a_caller_start_of_day_equity_that_disagrees_fails_closed(engine: SafetyEngine) -> None:
    reason = failure(engine, "state_figures", entry(), market(start_of_day_equity=200_000.0))
    assert "start-of-day equity 200000.00" in reason


def test_nothing_stored_fails_closed(store: InMemoryStateStore, clock: FixedClock) -> None:
    engine = make_engine(store, clock, seed=None)
    verdict = engine.evaluate(entry(), market())
    reasons = {c.name: c.reason for c in verdict.failures}
    assert "no marked equity stored" in reasons["state_figures"]
    assert "no start-of-day equity stored" in reasons["state_figures"]
    assert {"daily_loss", "position_size", "total_exposure", "notional"} <= set(reasons)
    engine.record_start_of_day_equity(EQUITY)
    engine.mark_to_market({}, EQUITY)
    assert engine.evaluate(entry(), market()).approved


def test_the_start_of_day_equity_is_written_once_and_audited(
    store: InMemoryStateStore, clock: FixedClock
) -> None:
    engine = make_engine(store, clock, seed=None)
    assert engine.record_start_of_day_equity(90_000.0, "premarket") is True
    assert engine.record_start_of_day_equity(90_000.0) is False  # a retried pre-market run
    with pytest.raises(StateConflictError):
        engine.record_start_of_day_equity(95_000.0)
    assert store.start_of_day_equity(DAY) == 90_000.0
    [record] = store.audit_log(DAY)
    assert record.actor == "premarket" and record.detail == {"day": DAY, "equity": 90_000.0}
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(InvalidInputError):
            engine.record_start_of_day_equity(bad)
