"""Random sessions through the adapter: what it reports always agrees with the emulator's book."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maxtrader.domain.broker import OrderRequest, OrderType
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import BrokerRejectedError
from maxtrader.domain.models import Instrument, OrderSide
from tests.support.alpaca_env import START, bar, contract, make_broker, minute, start_emulator

pytestmark = [pytest.mark.property, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
CALL = contract(500.0)
MULTIPLIER = {Instrument.EQUITY: 1, Instrument.OPTION: 100}

steps = st.lists(
    st.one_of(
        st.tuples(st.just("entry"), st.integers(1, 20)),
        st.tuples(st.just("option"), st.integers(1, 5)),
        st.tuples(st.just("bar"), st.floats(480, 520).map(lambda p: round(p, 2))),
        st.tuples(st.just("quote"), st.floats(0.5, 3.0).map(lambda p: round(p, 2))),
        st.tuples(st.just("cancel_all"), st.just(0)),
        st.tuples(st.just("close_all"), st.just(0)),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_positions_orders_and_equity_seen_through_the_adapter_match_the_book(
    session: list[tuple[str, float]],
) -> None:
    clock = FixedClock(START)
    emulator = start_emulator(clock, cash=1_000_000.0)
    try:
        broker = make_broker(emulator, timeout=5.0)
        emulator.list_option(CALL)
        emulator.set_option_quote(CALL.symbol, bid=1.0, ask=1.1)
        last = 500.0
        for n, (kind, value) in enumerate(session):
            cid = f"step-{n}"
            try:
                if kind == "entry":
                    broker.submit(
                        OrderRequest(
                            client_order_id=cid,
                            symbol="SPY",
                            side=OrderSide.BUY,
                            qty=int(value),
                            instrument=Instrument.EQUITY,
                            stop_loss=round(last - 5, 2),
                            take_profit=round(last + 5, 2),
                        )
                    )
                elif kind == "option":
                    ask = broker.option_chain("SPY", CALL.expiry).quotes[0].ask
                    broker.submit(
                        OrderRequest(
                            client_order_id=cid,
                            symbol=CALL.symbol,
                            side=OrderSide.BUY,
                            qty=int(value),
                            instrument=Instrument.OPTION,
                            type=OrderType.LIMIT,
                            limit_price=ask,
                        )
                    )
                elif kind == "bar":
                    clock.set(minute(n))
                    emulator.feed_bar(bar(minute(n), (value, value + 3, value - 3, value)))
                    last = value
                elif kind == "quote":
                    emulator.set_option_quote(CALL.symbol, bid=value, ask=round(value + 0.1, 2))
                elif kind == "cancel_all":
                    broker.cancel_all()
                else:
                    broker.close_all_positions()
            except BrokerRejectedError:
                pass  # a refusal (buying power, held quantity) changes nothing; checked below

            held = {p.symbol: p for p in broker.positions()}
            assert {s: p.qty for s, p in held.items()} == emulator.positions()
            account = broker.account()
            marked = sum(
                p.qty * (p.market_price or p.avg_entry_price) * MULTIPLIER[p.instrument]
                for p in held.values()
            )
            assert account.equity == pytest.approx(account.cash + marked, abs=0.01)
            open_ids = {o.client_order_id for o in broker.open_orders()}
            expected = {
                o["client_order_id"]
                for o in emulator.orders()
                if o["status"] not in ("filled", "canceled", "expired")
                or any(leg["status"] in ("new", "held") for leg in o["legs"] or [])
            }
            assert open_ids == expected
    finally:
        emulator.stop()
