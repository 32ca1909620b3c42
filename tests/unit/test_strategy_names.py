"""Strategy names are the known strategies, checked where they enter (models, keys, items)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from maxtrader.domain.models import Signal
from maxtrader.domain.strategies.routing import STRATEGY_NAMES
from maxtrader.domain.strategy_names import KNOWN_STRATEGIES
from tests.support.safety import entry

TS = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)


def test_the_known_names_are_the_strategies_routing_builds() -> None:
    # Two lists of one fact (models cannot import the strategies: they import models).
    assert set(STRATEGY_NAMES) == KNOWN_STRATEGIES
    assert len(STRATEGY_NAMES) == len(KNOWN_STRATEGIES)


@pytest.mark.parametrize("name", sorted(KNOWN_STRATEGIES))
def test_known_names_enter(name: str) -> None:
    assert entry(strategy=name).strategy == name


@pytest.mark.fuzz
@given(
    name=st.text(max_size=40).filter(lambda n: n not in KNOWN_STRATEGIES)
    | st.sampled_from(["renko", "Wave_Renko", "wave_renko ", "wave_renko#x", "", "a" * 10_000])
)
def test_free_text_is_refused_by_signals_and_intents(name: str) -> None:
    with pytest.raises(ValidationError, match="unknown strategy") as caught:
        entry(strategy=name)
    assert caught.value.errors()[0]["loc"] == ("strategy",)
    assert len(str(caught.value)) < 2_000  # a huge name is not echoed back whole
    with pytest.raises(ValidationError, match="unknown strategy"):
        Signal.create(
            strategy=name,
            symbol="SPY",
            side="long",
            entry=500.0,
            stop=495.0,
            target=510.0,
            bar_ts=TS,
            regime="NORMAL_VOL",
        )
