"""The DynamoDB store against moto server: same decisions as the in-memory store, item shapes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import boto3
import pytest

from maxtrader.adapters.dynamodb_store import DynamoDBStateStore
from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.models import AuditKind, Regime, TradingState
from maxtrader.domain.ports import StateStore
from maxtrader.domain.safety.engine import STATE_UNAVAILABLE
from maxtrader.domain.safety.state import BreakerName, StateConflictError, TicketStatus
from tests.support.safety import (
    entry,
    exit_of,
    fill_of,
    make_engine,
    market,
    option_entry,
    reservation_for,
)

DAY = "2024-06-03"


def script(store: StateStore, clock: FixedClock) -> list[object]:
    """A session in miniature; returns everything observable, to compare the two stores."""
    engine = make_engine(store, clock)
    seen: list[object] = []
    first = entry(signal="sig-a-00001")
    second = entry(signal="sig-b-00001", strategy="vwap_reversion")
    seen.append(engine.reserve(first, market()).failures)
    seen.append(engine.reserve(second, market()).failures)  # trade frequency
    clock.advance(60)
    seen.append(engine.reserve(second, market()).failures)
    seen.append(engine.reserve(second, market()).failures)  # duplicate + frequency
    seen.append(engine.confirm(first.client_order_id, "broker-1").status)
    seen.append(engine.on_fill(fill_of(first, clock, fee=0.5, fill_id="fill-1")))
    seen.append(engine.on_fill(fill_of(first, clock, fee=0.5, fill_id="fill-1")))  # replay
    seen.append(engine.mark_to_market({"SPY": 497.5}, 99_975.0))
    seen.append(engine.release(second.client_order_id, "rejected").status)
    seen.append(engine.on_fill(fill_of(exit_of(first), clock, price=498.0, fill_id="fill-2")))
    for _ in range(5):
        seen.append(engine.record_order_error("timeout"))
    clock.advance(61)
    seen.append(engine.reserve(entry(signal="sig-c-00001"), market()).failures)
    clock.advance(timedelta(minutes=30))
    seen.append(engine.reserve(entry(signal="sig-c-00001"), market()).failures)
    engine.engage_kill_switch("ops@example.com", "drill")
    seen.append(engine.trading_state())
    seen.append(
        engine.reserve(entry(signal="sig-d-00001"), market(regime=Regime.HIGH_VOL)).failures
    )
    seen.append(store.portfolio())
    seen.append([store.day_entries(DAY), store.day_entries(DAY, "wave_renko"), store.realized(DAY)])
    seen.append([(r.kind, r.subject, r.actor, r.detail) for r in store.audit_log(DAY)])
    seen.append([e.kind for e in engine.drain_events()])
    return seen


def test_dynamodb_and_memory_stores_decide_alike(state_table: str, clock: FixedClock) -> None:
    # The backtester's store and the live store must reject exactly the same entries.
    start = clock.now()
    live = script(DynamoDBStateStore.create(state_table), FixedClock(start))
    backtest = script(InMemoryStateStore(), FixedClock(start))
    assert len(live) == len(backtest)
    for i, (a, b) in enumerate(zip(live, backtest, strict=True)):
        assert a == b, f"step {i}: {a!r} != {b!r}"
    failures = live[2]
    assert failures == ()  # the script exercised approvals too, not only rejections


def test_reservation_guards_hold_in_the_table(state_table: str, clock: FixedClock) -> None:
    store = DynamoDBStateStore.create(state_table)
    store.reserve(reservation_for(entry(), clock.now(), max_slots=1))
    for guard, reason in [
        ({"max_slots": 1}, "portfolio"),
        ({"max_day_entries": 1}, "daily_trades"),
        ({"max_strategy_entries": 1}, "strategy_daily_trades"),
        ({"cutoff_seconds": 1}, "portfolio"),
        ({"exposure_cap": 49.99}, "portfolio"),
    ]:
        with pytest.raises(StateConflictError) as caught:
            store.reserve(reservation_for(entry(), clock.now(), **guard))  # type: ignore[arg-type]
        assert reason in caught.value.reasons
    intent = entry()
    with pytest.raises(StateConflictError) as caught:
        store.reserve(
            reservation_for(intent.model_copy(update={"signal_id": "sig-x"}), clock.now())
        )
        store.reserve(
            reservation_for(
                intent.model_copy(update={"client_order_id": "o2", "signal_id": "sig-x"}),
                clock.now(),
            )
        )
    assert "duplicate_signal" in caught.value.reasons
    assert store.day_entries(DAY) == 2 and store.portfolio().slots == 2


def test_kill_switch_and_breakers_block_in_the_transaction(
    state_table: str, clock: FixedClock
) -> None:
    store = DynamoDBStateStore.create(state_table)
    engine = make_engine(store, clock)
    for _ in range(5):
        engine.record_order_error("reject")
    with pytest.raises(StateConflictError) as caught:
        store.reserve(reservation_for(entry(), clock.now()))
    assert caught.value.reasons == ("circuit_breaker:error_rate",)
    clock.advance(timedelta(minutes=30))
    store.reserve(reservation_for(entry(), clock.now()))  # the pause is over at `until`
    engine.engage_kill_switch("ops", "halt")
    with pytest.raises(StateConflictError) as caught:
        store.reserve(reservation_for(entry(), clock.now()))
    assert caught.value.reasons == ("kill_switch",)
    assert engine.trading_state() is TradingState.HALTED


@pytest.mark.parametrize(
    ("sk", "item"),
    [
        ("kill_switch", {"on": {"S": "yes"}}),
        ("safe_mode", {"version": {"N": "1"}, "changed_at": {"S": "noon"}}),
    ],
)
def test_an_item_of_unexpected_shape_fails_closed(
    sk: str, item: dict[str, Any], state_table: str, clock: FixedClock
) -> None:
    boto3.client("dynamodb").put_item(
        TableName=state_table, Item={"pk": {"S": "CONTROL"}, "sk": {"S": sk}, **item}
    )
    store = DynamoDBStateStore.create(state_table)
    verdict = make_engine(store, clock).reserve(entry(), market())
    assert [c.reason for c in verdict.checks] == [STATE_UNAVAILABLE]
    [record] = store.audit_log(DAY)
    cause = str(record.detail["cause"])
    assert any(word in cause for word in ("unexpected", "not", "missing")), cause
    assert store.day_entries(DAY) == 0


def test_tickets_and_audit_round_trip(state_table: str, clock: FixedClock) -> None:
    store = DynamoDBStateStore.create(state_table)
    engine = make_engine(store, clock)
    intent = entry()
    engine.reserve(intent, market())
    engine.on_fill(fill_of(intent, clock, qty=4))
    [open_ticket] = store.open_tickets()
    assert open_ticket.status is TicketStatus.OPEN and open_ticket.qty == 4
    assert open_ticket.stop == intent.stop and open_ticket.target == intent.target
    engine.on_fill(fill_of(exit_of(intent), clock, qty=4, price=490.0))
    assert store.open_tickets() == []
    lose = store.breaker(BreakerName.RAPID_LOSS)
    assert len(lose.events) == 1
    kinds = [r.kind for r in store.audit_log(DAY)]
    assert kinds == [AuditKind.VERDICT, AuditKind.FILL, AuditKind.FILL, AuditKind.FILL]


def test_an_approved_entry_is_one_consistent_read_and_one_transaction(
    state_table: str, clock: FixedClock
) -> None:
    client = boto3.client("dynamodb")
    calls: list[tuple[str, dict[str, Any]]] = []
    client.meta.events.register(
        "provide-client-params.dynamodb.*",
        lambda params, model, **_: calls.append((model.name, params)),
    )
    store = DynamoDBStateStore(client, state_table)
    engine = make_engine(store, clock)  # seeds the stored figures (not counted)
    calls.clear()
    assert engine.reserve(entry(), market()).approved
    assert [name for name, _ in calls] == ["TransactGetItems", "TransactWriteItems"]
    calls.clear()
    engine.trading_state()
    # Kill switch, then safe mode: both strongly consistent.
    assert [(name, params["ConsistentRead"]) for name, params in calls] == [("GetItem", True)] * 2


def hardened_script(store: StateStore, clock: FixedClock) -> list[object]:
    """The hardened paths: stored figures, reduce-only exits and retries, breaches, collared
    marks, the high-water-mark stop; everything observable, to compare the two stores."""
    engine = make_engine(store, clock, seed=None)
    early = entry(signal="sig-e-00001")
    seen: list[object] = [engine.reserve(early, market()).failures]  # nothing stored yet
    seen.append(engine.record_start_of_day_equity(100_000.0))
    seen.append(engine.record_start_of_day_equity(100_000.0))  # a retried pre-market run
    try:
        engine.record_start_of_day_equity(90_000.0)
    except StateConflictError as exc:
        seen.append(str(exc))
    seen.append(store.start_of_day_equity(DAY))
    engine.mark_to_market({}, 100_000.0)
    held, option = entry(signal="sig-h-00001"), option_entry(signal="sig-o-00001")
    seen.append(engine.reserve(held, market()).failures)
    clock.advance(61)
    seen.append(engine.reserve(option, market(last_price=2.0)).failures)
    seen.append(engine.on_fill(fill_of(held, clock, fill_id="h-1")))
    seen.append(engine.on_fill(fill_of(option, clock, price=6.0, fill_id="o-1")))  # a breach
    seen.append(engine.trading_state())
    seen.append(engine.reserve(exit_of(held).model_copy(update={"qty": 11}), market()).failures)
    retry = exit_of(option).model_copy(update={"client_order_id": "mt-sig-o-00001-exit-2"})
    seen.append(engine.reserve(retry, market()).failures)
    seen.append(engine.mark_to_market({option.symbol: 60.0}, 100_000.0))  # refused
    seen.append(store.refused_marks())
    seen.append(engine.on_fill(fill_of(retry, clock, price=5.0, fill_id="o-2")))
    seen.append(engine.on_fill(fill_of(retry, clock, price=5.0, fill_id="o-2")))  # replayed
    seen.append(store.fill_applied("o-2"))
    seen.append(engine.mark_to_market({}, 89_000.0))  # 11 % below the high-water mark
    seen.append(store.high_water_mark())
    engine.set_safe_mode(False, "ops")
    clock.advance(61)
    late = entry(signal="sig-l-00001")
    seen.append(
        engine.reserve(late, market(equity=89_000.0, start_of_day_equity=100_000.0)).failures
    )
    seen.append(engine.rearm_drawdown_stop("ops", "reviewed"))
    seen.append(store.portfolio())
    seen.append([(r.kind, r.subject, r.actor, r.detail) for r in store.audit_log(DAY)])
    seen.append([e.kind for e in engine.drain_events()])
    return seen


def test_both_stores_take_the_hardened_paths_alike(state_table: str, clock: FixedClock) -> None:
    live, _ = run_on_both(hardened_script, state_table, clock)
    assert live[5] == ()  # approvals happened too


def run_on_both(
    steps: Callable[[StateStore, FixedClock], list[object]], table: str, clock: FixedClock
) -> tuple[list[object], list[object]]:
    """Run ``steps`` on the live and the backtest store from the same instant; each step alike."""
    start = clock.now()
    live = steps(DynamoDBStateStore.create(table), FixedClock(start))
    backtest = steps(InMemoryStateStore(), FixedClock(start))
    for i, (a, b) in enumerate(zip(live, backtest, strict=True)):
        assert a == b, f"step {i}: {a!r} != {b!r}"
    return live, backtest


def test_a_halted_drawdown_stop_blocks_in_the_transaction(
    state_table: str, clock: FixedClock
) -> None:
    store = DynamoDBStateStore.create(state_table)
    intent = entry()
    engine = make_engine(store, clock)
    engine.mark_to_market({}, 120_000.0)
    engine.mark_to_market({}, 100_000.0)  # 16.7 % below: halted
    with pytest.raises(StateConflictError) as caught:
        store.reserve(reservation_for(intent, clock.now()))
    assert "drawdown_stop" in caught.value.reasons
    assert store.ticket(intent.client_order_id) is None


@pytest.mark.parametrize(
    ("key", "item"),
    [
        (("PORTFOLIO", "HWM"), {"version": {"N": "3"}, "value": {"N": "100000"}}),  # no flag
        (("PORTFOLIO", "HWM"), {"halted": {"BOOL": False}, "version": {"N": "0"}}),
        (
            ("PORTFOLIO", "HWM"),
            {"halted": {"BOOL": False}, "version": {"N": "2"}, "value": {"N": "-5"}},
        ),
        (("DAY#2024-06-03", "START_EQUITY"), {"equity": {"N": "0"}}),
        (("DAY#2024-06-03", "START_EQUITY"), {"equity": {"S": "100000"}}),
    ],
)
def test_a_malformed_figure_item_fails_closed(
    key: tuple[str, str], item: dict[str, Any], state_table: str, clock: FixedClock
) -> None:
    store = DynamoDBStateStore.create(state_table)
    engine = make_engine(store, clock)
    boto3.client("dynamodb").put_item(
        TableName=state_table, Item={"pk": {"S": key[0]}, "sk": {"S": key[1]}, **item}
    )
    verdict = engine.reserve(entry(), market())
    assert [c.reason for c in verdict.checks] == [STATE_UNAVAILABLE]
    assert store.day_entries(DAY) == 0


@pytest.mark.parametrize("kind", ["memory", "dynamodb"])
def test_exposure_counts_whole_cents_so_float_crumbs_leave_no_residue(
    kind: str, state_table: str, clock: FixedClock
) -> None:
    """A bug seen in the simulator: 403.95000000000005 reserved, then -102.00000000000006 and
    -301.95 released left the decimal counter at -1E-14, and moto's ADD then failed every
    reservation (state_store) for the rest of the day."""
    from dataclasses import replace

    store: StateStore = (
        InMemoryStateStore() if kind == "memory" else DynamoDBStateStore.create(state_table)
    )
    intent = entry(signal="sig-crumb-0001")
    base = reservation_for(intent, clock.now())
    ticket = replace(base.ticket, max_loss=403.95000000000005)
    store.reserve(replace(base, ticket=ticket))
    partly = replace(ticket, version=ticket.version + 1)
    store.update_ticket(partly, ticket.version, exposure_delta=-102.00000000000006)
    store.update_ticket(replace(partly, version=partly.version + 1), partly.version,
                        exposure_delta=-301.95)  # fmt: skip
    assert store.portfolio().exposure == 0.0
    clock.advance(120)
    later = reservation_for(entry(signal="sig-crumb-0002"), clock.now())
    store.reserve(later)  # not refused: the counter is a plain zero
    assert store.portfolio().exposure == later.ticket.max_loss
