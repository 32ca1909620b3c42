"""The mark path's shortcuts (controls.Controls.mark, InMemoryStateStore.update_marks) keep the
plain definitions: every other portfolio field survives a mark, nothing held keeps no mark, and
bad input is named and changes nothing."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.models import Fill
from maxtrader.domain.safety.engine import SafetyEngine
from tests.support.safety import entry, market


def test_update_marks_keeps_every_other_portfolio_field(
    engine: SafetyEngine, store: InMemoryStateStore
) -> None:
    assert engine.reserve(entry(), market()).approved
    before = store.portfolio()
    store.update_marks(unrealized=12.5, marks={"SPY": 501.0}, equity=100_012.5, peak=100_100.0)
    after = store.portfolio()
    changed = {"unrealized", "marks", "equity", "peak_equity"}
    for f in dataclasses.fields(after):
        if f.name not in changed:
            assert getattr(after, f.name) == getattr(before, f.name), f.name
    assert (after.unrealized, after.marks, after.equity, after.peak_equity) == (
        12.5,
        {"SPY": 501.0},
        100_012.5,
        100_100.0,
    )
    # Non-default values, so "kept" above is not "both defaulted".
    assert after.slots == 1
    assert after.exposure > 0
    assert after.last_entry_at is not None


def test_nothing_held_keeps_no_mark_and_no_unrealized(
    engine: SafetyEngine, store: InMemoryStateStore
) -> None:
    report = engine.mark_to_market({"SPY": 500.0, "QQQ": 400.0}, 100_000.0)
    portfolio = store.portfolio()
    assert portfolio.marks == {}
    assert portfolio.unrealized == 0
    assert report.unrealized == 0
    assert portfolio.equity == portfolio.peak_equity == 100_000.0


def test_marks_of_held_symbols_merge_with_the_stored_ones(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    intent = entry()
    assert engine.reserve(intent, market()).approved
    engine.on_fill(
        Fill(
            fill_id="f-1",
            client_order_id=intent.client_order_id,
            symbol=intent.symbol,
            side=intent.side,
            qty=intent.qty,
            price=intent.est_price,
            fee=0.0,
            ts=clock.now(),
        )
    )
    engine.mark_to_market({intent.symbol: intent.est_price + 1.0, "QQQ": 1.0}, 100_000.0)
    clock.advance(timedelta(minutes=1))
    report = engine.mark_to_market({}, 100_000.0)  # no new mark: the stored one stands
    portfolio = store.portfolio()
    assert portfolio.marks == {intent.symbol: intent.est_price + 1.0}
    assert report.unrealized == pytest.approx(intent.qty * 1.0)
    assert portfolio.unrealized == report.unrealized


@pytest.mark.parametrize(
    ("marks", "equity", "named"),
    [
        ({"SPY": 0.0}, 100_000.0, "'SPY': 0.0"),
        ({"SPY": 500.0, "QQQ": float("nan")}, 100_000.0, "'QQQ': nan"),
        ({"SPY": float("inf")}, -1.0, "'SPY': inf"),
        ({"SPY": 500.0}, float("inf"), "inf"),
        ({}, 0.0, "0.0"),
    ],
)
def test_bad_marks_are_named_and_change_nothing(
    engine: SafetyEngine,
    store: InMemoryStateStore,
    marks: dict[str, float],
    equity: float,
    named: str,
) -> None:
    engine.mark_to_market({}, 100_000.0)
    before = store.portfolio()
    with pytest.raises(ValueError, match="finite and positive") as info:
        engine.mark_to_market(marks, equity)
    assert named in str(info.value)
    if len(marks) > 1:
        assert "'SPY'" not in str(info.value)  # only the bad ones are named
    assert store.portfolio() == before
