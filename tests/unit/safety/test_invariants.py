"""Invariants of the hardened engine under generated, hostile sequences (hypothesis).

The caller lies (inflated equity, a flattering R:R, stops on the wrong side, short options, exits
of any side, size and id), fills arrive over-sized, at any price, duplicated and out of order, and
marks are absurd. Whatever the sequence:

- no entry is approved past a limit measured on the engine's own figures (stored equity), and
  none without a bounded risk;
- no approved exit opens or enlarges a position, and no position ever changes direction;
- the exposure is never below the risk actually held (the open quantity to its stop).
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.config.safety import SafetyConfig
from maxtrader.domain.clock import FixedClock, trading_date
from maxtrader.domain.models import (
    Fill,
    Instrument,
    OrderIntent,
    OrderPurpose,
    OrderSide,
    client_order_id,
)
from maxtrader.domain.safety.accounting import FillAttributionError, held_risk, opening_side
from maxtrader.domain.safety.checks.base import unbounded_reason
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.domain.safety.state import Ticket
from tests.support.safety import entry, exit_of, make_engine, market, option_entry

pytestmark = pytest.mark.property

START = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)
CONFIG = SafetyConfig.model_validate(
    {
        "limits": {"min_seconds_between_trades": 0},
        "regime_overrides": {"NORMAL_VOL": {"max_daily_trades": 40, "max_concurrent_positions": 6}},
    }
)
LIMITS = CONFIG.limits_for(market().regime)
_IDS = count()
OPS = ["entry"] * 4 + ["fill"] * 3 + ["exit"] * 3 + ["mark", "replay", "time"]


def an_intent(data: st.DataObject) -> OrderIntent:
    kind = data.draw(st.sampled_from(["long", "short", "option", "short_option", "bad_stop"]))
    qty = data.draw(st.sampled_from([1, 5, 20, 100, 400, 2000]))
    dist = data.draw(st.sampled_from([0.0, 0.25, 1.0, 5.0, 20.0]))
    if kind == "option":
        return option_entry(
            premium=data.draw(st.sampled_from([0.5, 2.0, 4.0])), contracts=qty % 7 + 1
        )
    if kind == "short_option":
        return option_entry(side=OrderSide.SELL)
    side = OrderSide.SELL if kind == "short" else OrderSide.BUY
    sign = 1.0 if side is OrderSide.BUY else -1.0
    if kind == "bad_stop":
        sign = -sign  # the stop on the winning side
    return entry(
        qty=qty,
        side=side,
        stop=500.0 - sign * dist if dist or kind == "bad_stop" else 500.0,
        target=500.0 + sign * 3 * max(dist, 1.0),
    )


def execution(order: OrderIntent, clock: FixedClock, qty: int, price: float) -> Fill:
    return Fill(
        fill_id=f"f{next(_IDS)}",
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        qty=qty,
        price=price,
        ts=clock.now(),
    )


def stored_equity(store: InMemoryStateStore) -> float:
    equity = store.portfolio().equity
    assert equity is not None
    return equity


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_sequence_breaks_the_limits_reduce_only_or_the_exposure(data: st.DataObject) -> None:
    clock = FixedClock(START)
    store = InMemoryStateStore()
    engine: SafetyEngine = make_engine(store, clock, CONFIG)
    entries: list[OrderIntent] = []
    applied: list[Fill] = []
    directions: dict[str, OrderSide] = {}

    def deliver(fill: Fill, signal: str | None = None) -> None:
        try:
            engine.on_fill(fill, signal)
        except FillAttributionError:
            event("fill refused")
            return
        applied.append(fill)

    for _ in range(data.draw(st.integers(5, 40), label="steps")):
        op = data.draw(
            st.sampled_from(
                ["entry"] * 4 + ["fill"] * 3 + ["exit"] * 3 + ["mark", "replay", "time"]
            )
        )
        if op == "entry":
            intent = an_intent(data)
            lie = data.draw(st.sampled_from([1.0, 1.0, 1.005, 3.0, 0.5]))
            context = market(
                equity=stored_equity(store) * lie,
                start_of_day_equity=store.start_of_day_equity(trading_date(clock.now())),
                last_price=intent.est_price,
                reward_risk=data.draw(st.sampled_from([None, 2.0, 50.0])),
            )
            exposure_before = store.portfolio().exposure
            verdict = engine.reserve(intent, context)
            if verdict.approved:
                event("entry approved")
                equity = stored_equity(store)
                ticket = store.ticket(intent.client_order_id)
                assert ticket is not None and not unbounded_reason(intent)
                assert ticket.max_loss <= LIMITS.max_position_pct * equity + 1e-9
                assert exposure_before + ticket.max_loss <= LIMITS.max_exposure_pct * equity + 1e-6
                assert intent.notional <= LIMITS.max_notional_x_equity * equity
                assert lie <= 1 + CONFIG.figures.tolerance_pct
                entries.append(intent)
        elif op == "fill" and entries:
            intent = data.draw(st.sampled_from(entries))
            qty = data.draw(st.integers(1, 3 * intent.qty))
            price = intent.est_price * data.draw(st.sampled_from([0.5, 0.99, 1.0, 1.02, 3.0]))
            deliver(execution(intent, clock, qty, round(price, 2)))
        elif op == "exit" and entries:
            intent = data.draw(st.sampled_from(entries))
            ticket_before = store.ticket(intent.client_order_id)
            side = data.draw(st.sampled_from([OrderSide.BUY, OrderSide.SELL]))
            attempt = data.draw(st.sampled_from([1, 1, 2, 3]))
            out = exit_of(intent).model_copy(
                update={
                    "qty": data.draw(st.integers(1, 3 * intent.qty)),
                    "side": side,
                    "client_order_id": client_order_id(
                        intent.signal_id, OrderPurpose.EXIT, attempt
                    ),
                }
            )
            verdict = engine.reserve(out, market())
            if verdict.approved:
                event("exit approved")
                assert ticket_before is not None and ticket_before.status.holds_slot
                assert out.qty <= ticket_before.qty  # never opens or enlarges
                assert side is not opening_side(ticket_before.direction)
                deliver(execution(out, clock, out.qty, out.est_price))
        elif op == "mark" and entries:
            symbol = data.draw(st.sampled_from(entries)).symbol
            equity = stored_equity(store) * data.draw(st.sampled_from([0.999, 1.0, 1.001]))
            mark = data.draw(st.sampled_from([0.01, 2.0, 60.0, 499.0, 5000.0]))
            engine.mark_to_market({symbol: mark}, equity)
        elif op == "replay" and applied:
            replayed = data.draw(st.sampled_from(applied))  # a duplicate delivery
            assert engine.on_fill(replayed) is None
        elif op == "time":
            clock.advance(data.draw(st.sampled_from([1, 61, 3600])))
            if store.start_of_day_equity(trading_date(clock.now())) is None:
                engine.record_start_of_day_equity(stored_equity(store))

        # Global invariants, every step.
        holding: list[Ticket] = store.open_tickets()
        assert store.portfolio().exposure >= sum(held_risk(t) for t in holding) - 1e-6
        for t in holding:
            assert t.qty >= 0
            side = directions.setdefault(t.client_order_id, opening_side(t.direction))
            assert side is opening_side(t.direction)
        assert all(
            t.instrument is Instrument.EQUITY or t.direction.value == "long" for t in holding
        )
