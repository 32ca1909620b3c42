"""Exits are reduce-only: approved only when they reduce the signal's real open position.

Regression (issue 9): an intent marked EXIT was approved with no check, so a 100,000-share "exit"
with no position passed while the kill switch was engaged.
"""

from __future__ import annotations

from typing import Any, cast

import pytest

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import (
    AuditKind,
    OrderIntent,
    OrderPurpose,
    OrderRef,
    OrderSide,
    client_order_id,
    parse_client_order_id,
)
from maxtrader.domain.safety.checks.reduce_only import NOT_REDUCE_ONLY
from maxtrader.domain.safety.engine import SafetyEngine
from tests.support.safety import entry, exit_of, fill_of, market, option_entry

DAY = "2024-06-03"


def opened(engine: SafetyEngine, clock: FixedClock, **kw: Any) -> OrderIntent:
    intent = entry(**kw)
    assert engine.reserve(intent, market()).approved
    engine.on_fill(fill_of(intent, clock))
    return intent


def test_an_exit_without_a_position_is_rejected_even_under_the_kill_switch(
    engine: SafetyEngine, store: InMemoryStateStore
) -> None:
    engine.engage_kill_switch("ops", "halt")
    ghost = exit_of(entry(qty=100_000))
    verdict = engine.reserve(ghost, market())
    assert not verdict.approved
    [check] = verdict.failures
    assert check.name == "reduce_only" and check.reason.startswith(NOT_REDUCE_ONLY)
    assert check.observed == 100_000 and check.limit == 0
    record = [r for r in store.audit_log(DAY) if r.kind is AuditKind.VERDICT][-1]
    assert record.detail["approved"] is False
    failures = cast(list[dict[str, Any]], record.detail["failures"])
    assert str(failures[0]["reason"]).startswith(NOT_REDUCE_ONLY)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"qty": 11}, "exceeds the 10 open"),
        ({"side": OrderSide.BUY}, "would enlarge a long position"),
        ({"symbol": "QQQ"}, "the position is in SPY"),
    ],
)
def test_an_exit_that_would_open_or_enlarge_is_rejected_with_its_figures(
    engine: SafetyEngine, clock: FixedClock, change: dict[str, object], why: str
) -> None:
    intent = opened(engine, clock)
    verdict = engine.reserve(exit_of(intent).model_copy(update=change), market())
    assert not verdict.approved and why in verdict.failures[0].reason


def test_a_short_is_reduced_by_a_buy_and_partial_exits_pass_up_to_what_is_open(
    engine: SafetyEngine, clock: FixedClock
) -> None:
    short = opened(engine, clock, side=OrderSide.SELL, stop=505.0, target=490.0)
    out = exit_of(short)
    assert out.side is OrderSide.BUY
    assert engine.reserve(out.model_copy(update={"qty": 4}), market()).approved
    engine.on_fill(fill_of(out, clock, qty=4))
    assert not engine.reserve(out.model_copy(update={"qty": 7}), market()).approved
    check = engine.reserve(out.model_copy(update={"qty": 6}), market()).checks[0]
    assert check.passed and check.observed == 6 and check.limit == 6


def test_an_exit_of_a_reserved_unfilled_entry_or_a_closed_one_is_rejected(
    engine: SafetyEngine, clock: FixedClock
) -> None:
    pending = entry()
    engine.reserve(pending, market())
    assert "holds nothing" in engine.reserve(exit_of(pending), market()).failures[0].reason
    clock.advance(61)
    done = opened(engine, clock)
    engine.on_fill(fill_of(exit_of(done), clock))
    assert not engine.reserve(exit_of(done), market()).approved


def test_an_exit_must_carry_its_own_signals_exit_id(
    engine: SafetyEngine, clock: FixedClock
) -> None:
    intent = opened(engine, clock)
    other = client_order_id("someoneelse1", OrderPurpose.EXIT)
    forged = exit_of(intent).model_copy(update={"client_order_id": other})
    assert "is not an exit of signal" in engine.reserve(forged, market()).failures[0].reason
    as_entry = exit_of(intent).model_copy(update={"client_order_id": intent.client_order_id})
    assert not engine.reserve(as_entry, market()).approved


def test_a_retried_exit_has_a_new_parseable_id_and_its_fill_reduces_the_position(
    engine: SafetyEngine, store: InMemoryStateStore, clock: FixedClock
) -> None:
    option = option_entry()
    assert engine.reserve(option, market(last_price=2.0)).approved
    engine.on_fill(fill_of(option, clock))
    retry = exit_of(option).model_copy(
        update={"client_order_id": client_order_id(option.signal_id, OrderPurpose.EXIT, 2)}
    )
    assert retry.client_order_id.endswith("-exit-2")
    assert engine.reserve(retry, market()).approved
    effect = engine.on_fill(fill_of(retry, clock, price=2.5))
    assert effect is not None and effect.closed and effect.realized == pytest.approx(50.0)


def test_client_order_ids_round_trip_and_only_the_canonical_spelling_parses() -> None:
    for purpose, attempt in [
        (OrderPurpose.ENTRY, 1),
        (OrderPurpose.EXIT, 1),
        (OrderPurpose.EXIT, 2),
        (OrderPurpose.EXIT, 17),
    ]:
        coid = client_order_id("a-b-exit-9", purpose, attempt)  # dashes in the signal id too
        assert parse_client_order_id(coid) == OrderRef("a-b-exit-9", purpose, attempt)
    for foreign in ["mt-sig-exit-1", "mt-sig-exit-02", "mt-sig-entry-2", "mt--exit", "x-sig-exit"]:
        assert parse_client_order_id(foreign) is None, foreign
    assert parse_client_order_id("broker-leg-123") is None
    with pytest.raises(InvalidInputError):
        client_order_id("sig", OrderPurpose.ENTRY, 2)  # exactly one entry order per signal
    with pytest.raises(InvalidInputError):
        client_order_id("sig", OrderPurpose.EXIT, 0)
