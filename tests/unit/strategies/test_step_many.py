"""step_many is step bar after bar: same final state, same signals at the same bars, same errors."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import pytest

from maxtrader.domain.models import Bar
from maxtrader.domain.strategies.base import step_each
from maxtrader.domain.strategies.history import BarDays
from tests.unit.strategies.builders import bar, session
from tests.unit.strategies.test_real_data import CAL, VARIANTS, make

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def spring() -> tuple[list[Bar], dict[date, tuple[int, int]]]:
    from maxtrader.data import load_bars
    from tests.conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    loaded = load_bars(
        SHARED_DATA / "dawsh2_ADMF-PC" / "SPY_1m.parquet", symbol="SPY", calendar=CAL
    )
    bars = [b for b in loaded.bars["SPY"] if date(2024, 4, 15) <= b.ts.date() <= date(2024, 6, 28)]
    spans: dict[date, list[int]] = defaultdict(list)
    for i, b in enumerate(bars):
        s = CAL.session_at(b.ts)
        assert s is not None
        spans[s.day].append(i)
    return bars, {d: (ix[0], ix[-1] + 1) for d, ix in spans.items()}


@pytest.mark.parametrize("name", VARIANTS)
def test_step_many_equals_step_on_real_sessions(
    name: str, spring: tuple[list[Bar], dict[date, tuple[int, int]]]
) -> None:
    bars, spans = spring
    strategy: Any = make(name)
    days = BarDays(bars)
    total = 0
    for day, (lo, hi) in sorted(spans.items())[8:]:
        session = CAL.session(day)
        assert session is not None
        prior = [spans[d] for d in sorted(spans) if d < day][-strategy.history_sessions :]
        history = days.history(prior[0][0], prior[-1][1]) if prior else []
        state = strategy.start_session("SPY", session, history)
        today = bars[lo:hi]
        # a redelivered bar mid-session is ignored by both
        today = [*today[:100], today[99], *today[100:]]
        one, one_events = step_each(strategy, state, today)
        many, many_events = strategy.step_many(state, today)
        assert many_events == one_events
        assert many.model_dump_json() == one.model_dump_json() and many == one
        assert strategy.load_state(many.model_dump_json()) == one
        # resuming mid-session from a saved state gives the same end
        half, first = strategy.step_many(state, today[:200])
        rest, second = strategy.step_many(strategy.load_state(half.model_dump_json()), today)
        assert rest == one and [s for _, s in first + second] == [s for _, s in one_events]
        total += len(one_events)
    if name != "pause":
        assert total, "the sessions should produce signals to compare"


@pytest.mark.parametrize("name", VARIANTS)
def test_step_many_raises_at_the_same_bad_bar(name: str) -> None:
    strategy: Any = make(name)
    state = strategy.start_session("SPY", session(), [])
    t0 = session().open
    good = [bar(t0 + timedelta(minutes=k), 100.0, 100.5, 99.5, 100.0) for k in range(5)]
    for bad in (
        bar(t0 + timedelta(minutes=5), 1.0, 1.0, 1.0, 1.0, symbol="QQQ"),
        bar(session().close, 100.0, 100.0, 100.0, 100.0),
        good[0].model_copy(update={"ts": t0 + timedelta(minutes=5), "minutes": 5}),
    ):
        with pytest.raises(ValueError) as one:
            step_each(strategy, state, [*good, bad])
        with pytest.raises(ValueError) as many:
            strategy.step_many(state, [*good, bad])
        assert str(many.value) == str(one.value)
    assert strategy.step_many(state, []) == (state, [])
