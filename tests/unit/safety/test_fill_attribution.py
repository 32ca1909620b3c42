"""Fills: attributed only to the order they name, on its side; a fill past its reservation moves
the exposure to the real risk and is a breach (audit, event, safe mode).

Regressions (issue 9): a fill larger than its reservation, or at a much higher price, grew the
position while the exposure stayed at the reserved figure (later entries passed the 3 % cap); an
unknown client_order_id was attached to a held position by symbol alone.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import AuditKind, OrderSide, TradingState
from maxtrader.domain.safety.accounting import FillAttributionError, UnknownFillError, held_risk
from maxtrader.domain.safety.engine import SafetyEngine
from tests.support.safety import entry, exit_of, fill_of, market, option_entry

DAY = "2024-06-03"


def test_a_fill_naming_no_order_of_ours_is_drift_not_merged_by_symbol(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    held = entry()
    engine.reserve(held, market())
    engine.on_fill(fill_of(held, clock))
    for coid in ("manual-7", "mt-unknownsig1-exit", "mt-unknownsig1-entry"):
        stray = fill_of(held, clock).model_copy(update={"client_order_id": coid})
        with pytest.raises(UnknownFillError) as caught:
            engine.on_fill(stray)
        assert caught.value.fill is stray
    ticket = store.ticket(held.client_order_id)
    assert ticket is not None and ticket.qty == 10 and ticket.version == 2
    drift = [r for r in store.audit_log(DAY) if r.kind is AuditKind.RECONCILIATION]
    assert [r.subject for r in drift] == ["manual-7", "mt-unknownsig1-exit", "mt-unknownsig1-entry"]
    assert len([e for e in engine.drain_events() if e.kind is AuditKind.RECONCILIATION]) == 3


def test_a_leg_named_for_one_signal_cannot_carry_another_signals_exit_id(
    engine: SafetyEngine, clock: FixedClock
) -> None:
    a, b = entry(), entry()
    for intent in (a, b):
        engine.reserve(intent, market())
        clock.advance(61)
        engine.on_fill(fill_of(intent, clock))
    with pytest.raises(UnknownFillError):
        engine.on_fill(fill_of(exit_of(a), clock), signal_id=b.signal_id)


@pytest.mark.parametrize("which", ["entry", "exit"])
def test_a_fills_side_must_match_its_order(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock, which: str
) -> None:
    intent = entry()
    engine.reserve(intent, market())
    if which == "entry":  # a sell reported on our buy order
        bad = fill_of(intent, clock).model_copy(update={"side": OrderSide.SELL})
    else:  # a buy reported on our sell-to-close exit: it would add to the position
        engine.on_fill(fill_of(intent, clock))
        bad = fill_of(exit_of(intent), clock).model_copy(update={"side": OrderSide.BUY})
    before = store.ticket(intent.client_order_id)
    with pytest.raises(FillAttributionError, match=r"is a (sell|buy) but"):
        engine.on_fill(bad)
    assert store.ticket(intent.client_order_id) == before


def test_an_overfill_is_booked_at_its_real_risk_and_is_a_breach(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    intent = entry(qty=10)  # reserves 10 x 5 = 50
    engine.reserve(intent, market())
    effect = engine.on_fill(fill_of(intent, clock, qty=30))
    assert effect is not None and effect.breach is not None
    assert effect.breach.reserved_qty == 10 and effect.breach.held_qty == 30
    assert store.portfolio().exposure == pytest.approx(150.0)  # 30 x 5, not the reserved 50
    [breach] = [r for r in store.audit_log(DAY) if r.kind is AuditKind.RISK_BREACH]
    assert breach.detail["held_risk"] == pytest.approx(150.0)
    assert breach.detail["reserved_max_loss"] == pytest.approx(50.0)
    events = engine.drain_events()
    assert AuditKind.RISK_BREACH in {e.kind for e in events}
    assert engine.trading_state() is TradingState.REDUCING
    safe = [e for e in events if e.kind is AuditKind.SAFE_MODE]
    assert safe and safe[0].actor == "system:risk-breach" and safe[0].detail["automatic"] is False


def test_an_option_filled_far_above_its_limit_is_a_breach_and_caps_later_entries(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    option = option_entry(premium=2.0, contracts=2)  # reserves 400
    assert engine.reserve(option, market(last_price=2.0)).approved
    effect = engine.on_fill(fill_of(option, clock, price=6.0))  # really 1,200 at risk
    assert effect is not None and effect.breach is not None
    assert store.portfolio().exposure == pytest.approx(1200.0)
    ticket = store.ticket(option.client_order_id)
    assert ticket is not None and held_risk(ticket) == pytest.approx(ticket.max_loss)
    engine.set_safe_mode(False, "ops")  # an operator looked at it
    clock.advance(61)
    # 1,200 + 1,900 > 3,000 (3 %): the real risk counts against the cap.
    verdict = engine.reserve(entry(qty=380, stop=495.0), market())
    assert "total_exposure" in {c.name for c in verdict.failures}


def test_slippage_within_the_tolerance_raises_the_exposure_without_a_breach(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    intent = entry(qty=10)  # 10 x (500 - 495) = 50
    engine.reserve(intent, market())
    effect = engine.on_fill(fill_of(intent, clock, price=500.25))  # 52.5: 5 % over
    assert effect is not None and effect.breach is None
    assert store.portfolio().exposure == pytest.approx(52.5)
    assert engine.trading_state() is TradingState.ACTIVE


def test_a_fill_stamped_in_the_future_is_refused(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    intent = entry()
    engine.reserve(intent, market())
    future = fill_of(intent, clock).model_copy(update={"ts": clock.now() + timedelta(days=400)})
    with pytest.raises(InvalidInputError, match="after now"):
        engine.on_fill(future)
    ticket = store.ticket(intent.client_order_id)
    assert ticket is not None and ticket.qty == 0
    skewed = fill_of(intent, clock).model_copy(update={"ts": clock.now() + timedelta(minutes=4)})
    assert engine.on_fill(skewed) is not None  # a clock a few minutes ahead is tolerated
