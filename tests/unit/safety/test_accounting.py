"""Fills -> positions and realized P&L by New York day / ISO week / month; reservations' life."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.models import AuditKind, OrderSide
from maxtrader.domain.safety.accounting import FillAttributionError, UnknownFillError
from maxtrader.domain.safety.engine import SafetyEngine, UnknownOrderError
from maxtrader.domain.safety.state import TicketStatus
from tests.support.safety import entry, exit_of, fill_of, make_engine, market, option_entry


def test_a_round_trip_realizes_the_cash_flow(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    intent = entry(qty=10, price=500.0)
    assert engine.reserve(intent, market()).approved
    engine.on_fill(fill_of(intent, clock, qty=4, price=500.0, fee=0.5))
    engine.on_fill(fill_of(intent, clock, qty=6, price=501.0, fee=0.5))
    ticket = store.ticket(intent.client_order_id)
    assert ticket is not None and ticket.qty == 10 and ticket.avg_price == pytest.approx(500.6)
    out = exit_of(intent)
    effect = engine.on_fill(fill_of(out, clock, qty=10, price=503.0, fee=1.0))
    assert effect is not None and effect.closed
    # cash flow: sells 5030 - buys (2000 + 3006) - fees 2 = 22
    assert store.realized("2024-06-03") == pytest.approx(22.0)
    assert store.realized("2024-W23") == pytest.approx(22.0)
    assert store.realized("2024-06") == pytest.approx(22.0)
    assert store.portfolio().slots == 0 and store.portfolio().exposure == pytest.approx(0.0)


def test_a_short_equity_position_gains_when_the_price_falls(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    intent = entry(side=OrderSide.SELL, price=500.0, stop=505.0, target=490.0)
    assert engine.reserve(intent, market()).approved
    engine.on_fill(fill_of(intent, clock))
    engine.on_fill(fill_of(exit_of(intent), clock, price=495.0))
    assert store.realized("2024-06-03") == pytest.approx(50.0)


def test_option_pnl_uses_the_multiplier(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    intent = option_entry(premium=2.0, contracts=2)
    assert engine.reserve(intent, market(last_price=2.0)).approved
    engine.on_fill(fill_of(intent, clock))
    engine.on_fill(fill_of(exit_of(intent), clock, price=2.5))
    assert store.realized("2024-06-03") == pytest.approx(100.0)


def test_pnl_is_keyed_by_the_new_york_date_week_and_month(store: InMemoryStateStore) -> None:
    # Sunday 2024-06-30 23:30 New York = Monday 2024-07-01 03:30 UTC: still June, still W26.
    clock = FixedClock(datetime(2024, 6, 28, 15, 0, tzinfo=UTC))
    engine = make_engine(store, clock)
    intent = entry()
    assert engine.reserve(intent, market()).approved
    engine.on_fill(fill_of(intent, clock))
    clock.set(datetime(2024, 7, 1, 3, 30, tzinfo=UTC))
    engine.on_fill(fill_of(exit_of(intent), clock, price=499.0))
    assert store.realized("2024-06-30") == pytest.approx(-10.0)
    assert store.realized("2024-W26") == pytest.approx(-10.0)
    assert store.realized("2024-06") == pytest.approx(-10.0)
    assert store.realized("2024-07-01") == 0.0 and store.realized("2024-07") == 0.0


def test_a_replayed_fill_is_applied_once(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    intent = entry()
    engine.reserve(intent, market())
    fill = fill_of(intent, clock, fee=1.0)
    assert engine.on_fill(fill) is not None
    assert engine.on_fill(fill) is None
    ticket = store.ticket(intent.client_order_id)
    assert ticket is not None and ticket.qty == intent.qty
    assert store.realized("2024-06-03") == pytest.approx(-1.0)


def test_fills_that_cannot_be_attributed_change_nothing(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    intent = entry()
    engine.reserve(intent, market())
    with pytest.raises(UnknownFillError, match="names no order of ours"):
        engine.on_fill(
            fill_of(entry(signal="someoneelse1"), clock).model_copy(
                update={"client_order_id": "manual-1"}
            )
        )
    engine.on_fill(fill_of(intent, clock))
    with pytest.raises(FillAttributionError, match="closes 11"):
        engine.on_fill(fill_of(exit_of(intent), clock, qty=11))
    with pytest.raises(FillAttributionError, match="trades SPY"):
        engine.on_fill(fill_of(exit_of(intent), clock).model_copy(update={"symbol": "QQQ"}))
    ticket = store.ticket(intent.client_order_id)
    assert ticket is not None and ticket.qty == 10 and store.realized("2024-06-03") == 0.0


def test_a_broker_leg_is_attributed_only_through_the_signal_it_is_named_for(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    """Regression: a fill with an unknown id was attached to the only open position on its
    symbol. Now it is drift; a broker-side leg is applied only when the caller names its signal."""
    intent = entry()
    engine.reserve(intent, market())
    engine.on_fill(fill_of(intent, clock))
    stop_leg = fill_of(exit_of(intent), clock, price=495.0).model_copy(
        update={"client_order_id": "broker-generated-leg"}
    )
    with pytest.raises(UnknownFillError) as caught:
        engine.on_fill(stop_leg)
    assert caught.value.fill == stop_leg
    ticket = store.ticket(intent.client_order_id)
    assert ticket is not None and ticket.qty == 10  # not merged by symbol
    [drift] = [e for e in engine.drain_events() if e.kind is AuditKind.RECONCILIATION]
    assert drift.detail["event"] == "unknown_fill" and drift.subject == "broker-generated-leg"
    assert drift in store.audit_log("2024-06-03")
    effect = engine.on_fill(stop_leg, signal_id=intent.signal_id)
    assert effect is not None and effect.closed


def test_confirm_then_release_gives_back_the_slot_not_the_trade(
    engine: SafetyEngine, store: InMemoryStateStore
) -> None:
    intent = entry()
    engine.reserve(intent, market())
    ticket = engine.confirm(intent.client_order_id, "broker-1")
    assert ticket.status is TicketStatus.CONFIRMED and ticket.broker_order_id == "broker-1"
    assert engine.confirm(intent.client_order_id, "broker-1") == ticket  # idempotent
    released = engine.release(intent.client_order_id, "broker rejected")
    assert released.status is TicketStatus.RELEASED
    assert store.portfolio().slots == 0 and store.portfolio().exposure == pytest.approx(0.0)
    assert store.day_entries("2024-06-03") == 1  # the attempt stays counted
    assert engine.release(intent.client_order_id, "again").version == released.version
    kinds = [r.kind for r in store.audit_log("2024-06-03")]
    assert kinds == [AuditKind.VERDICT, AuditKind.BROKER_RESPONSE, AuditKind.RESERVATION]


def test_release_keeps_a_filled_position(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    intent = entry()
    engine.reserve(intent, market())
    engine.on_fill(fill_of(intent, clock, qty=3))
    assert engine.release(intent.client_order_id, "rest canceled").status is TicketStatus.OPEN
    assert store.portfolio().slots == 1


def test_a_late_fill_after_release_takes_its_slot_back(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    intent = entry()
    engine.reserve(intent, market())
    engine.release(intent.client_order_id, "timeout")
    engine.on_fill(fill_of(intent, clock))
    assert store.portfolio().slots == 1 and store.portfolio().exposure == pytest.approx(50.0)


def test_unknown_client_order_ids_are_reported(engine: SafetyEngine) -> None:
    with pytest.raises(UnknownOrderError):
        engine.confirm("mt-nothing-entry", "b")
    with pytest.raises(UnknownOrderError):
        engine.release("mt-nothing-entry", "r")


def test_marks_feed_the_daily_loss_check(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    big = entry(qty=200, price=500.0, stop=495.0)  # risks $1,000
    assert engine.reserve(big, market()).approved
    engine.on_fill(fill_of(big, clock))
    report = engine.mark_to_market({"SPY": 490.0}, equity=98_000.0)
    assert report.unrealized == pytest.approx(-2000.0)
    clock.advance(120)
    verdict = engine.reserve(entry(), market())
    assert "daily_loss" in {c.name for c in verdict.failures}
    # Closing at the mark moves the loss from unrealized to realized, without double counting.
    engine.on_fill(fill_of(exit_of(big), clock, price=490.0))
    assert store.portfolio().unrealized == pytest.approx(0.0)
    assert store.realized("2024-06-03") == pytest.approx(-2000.0)


def test_bad_marks_are_rejected_and_change_nothing(
    engine: SafetyEngine, store: InMemoryStateStore
) -> None:
    with pytest.raises(ValueError, match="finite and positive"):
        engine.mark_to_market({"SPY": float("nan")}, equity=100_000.0)
    with pytest.raises(ValueError, match="finite and positive"):
        engine.mark_to_market({"SPY": 500.0}, equity=0.0)
    assert store.portfolio().peak_equity == 100_000.0  # the seeded mark, unchanged
