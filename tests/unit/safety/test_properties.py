"""Invariants of the safety engine under generated sequences of signals, fills, marks and time.

For any sequence: entries per day, per strategy per day, open positions and exposure never exceed
their limits; no entry is approved while halted, in safe mode or while a breaker is paused; exits
always are; and realized P&L (day, week and month alike) equals the fills' cash flow.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.config.safety import SafetyConfig
from maxtrader.domain.clock import FixedClock, iso_week, month_key, trading_date
from maxtrader.domain.models import Fill, OrderIntent, OrderSide, Regime, TradingState
from maxtrader.domain.safety.state import BreakerName, TicketStatus, exposure_cents
from tests.support.safety import entry, exit_of, make_engine, market

pytestmark = pytest.mark.property

CONFIG = SafetyConfig.model_validate(
    {
        "limits": {"min_seconds_between_trades": 30, "max_daily_trades_per_strategy": 3},
        "regime_overrides": {
            "NORMAL_VOL": {"max_daily_trades": 10, "max_concurrent_positions": 8},
            "HIGH_VOL": {"max_daily_trades": 3, "max_concurrent_positions": 1},
            "UNKNOWN": {"max_daily_trades": 0, "max_concurrent_positions": 0},
        },
    }
)
EQUITY = 100_000.0
START = datetime(2024, 6, 3, 13, 30, tzinfo=UTC)
# Everything, and a mix without switches and breakers so the counted limits are reached often.
ALL_OPS = (*["reserve"] * 5, "fill", "fill", "exit", "release", "mark", "wait", "wait")
ALL_OPS += ("kill", "safe", "error")
COUNTED_OPS = (*["reserve"] * 6, "fill", "fill", "exit", "release", "wait")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@pytest.mark.parametrize("ops", [ALL_OPS, COUNTED_OPS], ids=["all", "counted"])
@given(data=st.data())
def test_invariants_hold_for_any_sequence(ops: tuple[str, ...], data: st.DataObject) -> None:
    clock = FixedClock(START)
    store = InMemoryStateStore()
    engine = make_engine(store, clock, CONFIG)
    intents: list[OrderIntent] = []
    cash = 0.0  # the fills' cash flow: sells - buys - fees
    fills = 0
    day_counts: dict[tuple[str, str | None], int] = defaultdict(int)

    def fill(intent: OrderIntent, side: OrderSide, qty: int, price: float, fee: float) -> None:
        nonlocal cash, fills
        fills += 1
        engine.on_fill(
            Fill(
                fill_id=f"f{fills}",
                client_order_id=intent.client_order_id,
                symbol=intent.symbol,
                side=side,
                qty=qty,
                price=price,
                fee=fee,
                ts=clock.now(),
            )
        )
        signed = qty * price * (1 if side is OrderSide.SELL else -1)
        cash += signed - fee

    equity = EQUITY  # the last marked equity: what the caller's figures agree with
    for _ in range(data.draw(st.integers(10, 60), label="steps")):
        op = data.draw(st.sampled_from(ops), label="op")
        now = clock.now()
        if store.start_of_day_equity(trading_date(now)) is None:
            engine.record_start_of_day_equity(equity)  # the pre-market run of a new day
        if op == "reserve":
            regime = data.draw(
                st.sampled_from([Regime.NORMAL_VOL] * 3 + [Regime.HIGH_VOL, Regime.UNKNOWN])
            )
            strategy = data.draw(st.sampled_from(["wave_renko", "vwap_reversion"]))
            qty = data.draw(st.sampled_from([1, 10, 60, 90, 100, 110]))
            stop_distance = data.draw(st.sampled_from([0.5, 5.0, 9.0, 10.0]))
            side = data.draw(st.sampled_from([OrderSide.BUY, OrderSide.SELL]))
            stop = 500.0 - stop_distance if side is OrderSide.BUY else 500.0 + stop_distance
            target = (
                500.0 + 2 * stop_distance if side is OrderSide.BUY else 500.0 - 2 * stop_distance
            )
            intent = entry(strategy=strategy, qty=qty, stop=stop, target=target, side=side)
            limits = CONFIG.limits_for(regime)
            halted = engine.trading_state() is not TradingState.ACTIVE
            paused = any(store.breaker(n).paused(now) for n in BreakerName)
            sod = store.start_of_day_equity(trading_date(now))
            verdict = engine.reserve(
                intent,
                market(regime=regime, reward_risk=2.0, equity=equity, start_of_day_equity=sod),
            )
            for failure in verdict.failures:
                event(f"rejected by {failure.name}")  # --hypothesis-show-statistics
            if verdict.approved:
                event("approved")
                assert not halted and not paused
                intents.append(intent)
                day = trading_date(now)
                day_counts[(day, None)] += 1
                day_counts[(day, strategy)] += 1
                assert store.day_entries(day) <= limits.max_daily_trades
                assert store.day_entries(day, strategy) <= limits.max_daily_trades_per_strategy
                assert store.portfolio().slots <= limits.max_concurrent_positions
                assert store.portfolio().exposure <= limits.max_exposure_pct * equity + 1e-6
        elif op == "fill" and intents:
            intent = data.draw(st.sampled_from(intents))
            ticket = store.ticket(intent.client_order_id)
            if ticket and ticket.status.holds_slot and ticket.qty < ticket.reserved_qty:
                qty = data.draw(st.integers(1, ticket.reserved_qty - ticket.qty))
                price = data.draw(st.floats(495, 505).map(lambda p: round(p, 2)))
                fill(intent, intent.side, qty, price, data.draw(st.sampled_from([0.0, 0.35, 1.0])))
        elif op == "exit" and intents:
            intent = data.draw(st.sampled_from(intents))
            ticket = store.ticket(intent.client_order_id)
            if ticket and ticket.qty:
                qty = data.draw(st.integers(1, ticket.qty))
                price = data.draw(st.floats(480, 520).map(lambda p: round(p, 2)))
                out = exit_of(intent).model_copy(update={"qty": qty})
                assert engine.reserve(out, market()).approved  # reducing exits: always
                fill(out, out.side, qty, price, data.draw(st.sampled_from([0.0, 0.35])))
        elif op == "release" and intents:
            engine.release(data.draw(st.sampled_from(intents)).client_order_id, "canceled")
        elif op == "mark":
            price = data.draw(st.floats(480, 520))
            equity = data.draw(st.floats(94_000, 106_000))
            engine.mark_to_market({"SPY": price}, equity)
        elif op == "wait":
            clock.advance(data.draw(st.sampled_from([1, 29, 30, 61, 600, 3600, 6 * 3600, 86400])))
        elif op == "kill":
            if data.draw(st.sampled_from([True, False, False])):
                engine.engage_kill_switch("ops", "drill")
            else:
                engine.release_kill_switch("ops")
        elif op == "safe":
            engine.set_safe_mode(data.draw(st.sampled_from([True, False, False])), "ops")
        elif op == "error":
            engine.record_order_error("reject")
        # Global invariants, every step.
        portfolio = store.portfolio()
        holding = store.open_tickets()
        assert portfolio.slots == len(holding)
        # Counted in whole cents (state.exposure_cents): float crumbs leave no residue.
        counted = sum(exposure_cents(t.max_loss) for t in holding)
        assert portfolio.exposure == pytest.approx(counted, abs=1e-6)
        for (counted_day, counted_strategy), n in day_counts.items():
            assert store.day_entries(counted_day, counted_strategy) == n

    # Flatten everything, then realized P&L must equal the cash flow, whatever the period key.
    for intent in intents:
        ticket = store.ticket(intent.client_order_id)
        if ticket and ticket.qty:
            fill(exit_of(intent), exit_of(intent).side, ticket.qty, 500.0, 0.0)
    assert all(t.status is not TicketStatus.OPEN for t in store.open_tickets())
    days = {trading_date(START + timedelta(days=i)) for i in range(60)}
    weeks = {iso_week(START + timedelta(days=i)) for i in range(60)}
    months = {month_key(START + timedelta(days=i)) for i in range(60)}
    for keys in (days, weeks, months):
        assert sum(store.realized(k) for k in keys) == pytest.approx(cash, abs=1e-6)
