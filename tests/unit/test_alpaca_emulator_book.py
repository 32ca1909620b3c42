"""The emulated Alpaca account: fill rules, refusals and the consistency of cash and positions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.domain.clock import FixedClock
from maxtrader.domain.models import OptionRight
from maxtrader.emulators.alpaca_book import MULTIPLIER, AlpacaBook
from maxtrader.emulators.alpaca_orders import AlpacaRefusal
from tests.support.alpaca_env import START, bar, contract, minute


def new_book(cash: float = 100_000.0, **kwargs: Any) -> tuple[AlpacaBook, FixedClock]:
    clock = FixedClock(START)
    return AlpacaBook(clock, cash=cash, **kwargs), clock


def order(**fields: Any) -> dict[str, Any]:
    base = {"symbol": "SPY", "qty": "10", "side": "buy", "type": "market", "time_in_force": "day"}
    return {**base, **fields}


def bracket(tp: float = 505.0, sl: float = 495.0, **fields: Any) -> dict[str, Any]:
    return order(
        order_class="bracket",
        take_profit={"limit_price": tp},
        stop_loss={"stop_price": sl},
        **fields,
    )


def test_market_order_fills_at_the_next_bar_open_not_at_submission() -> None:
    book, _ = new_book()
    placed = book.submit(order())
    assert placed.status == "new" and not book.positions
    book.feed_bar(bar(minute(0), (500.5, 501, 499, 500)))
    assert placed.status == "filled" and placed.filled_avg_price == 500.5
    assert book.positions["SPY"].qty == 10
    assert book.cash == pytest.approx(100_000 - 5005)


def test_a_bar_that_closed_before_the_order_is_history() -> None:
    book, clock = new_book()
    clock.set(minute(1) + timedelta(seconds=5))
    placed = book.submit(order())
    book.feed_bar(bar(minute(0), (500.5, 501, 499, 500)))  # ended at minute(1): before submit
    assert placed.status == "new"
    book.feed_bar(bar(minute(1), (501.25, 502, 500, 501)))
    assert placed.filled_avg_price == 501.25


def test_limit_buy_fills_when_touched_at_the_limit_or_a_better_open() -> None:
    book, _ = new_book()
    touched = book.submit(order(type="limit", limit_price=499.5, client_order_id="a"))
    gapped = book.submit(order(type="limit", limit_price=502.0, client_order_id="b"))
    book.feed_bar(bar(minute(0), (500.0, 501, 499.9, 500)))  # low above 499.5: not touched
    assert touched.status == "new"
    assert gapped.filled_avg_price == 500.0  # opened below its limit: the better open
    book.feed_bar(bar(minute(1), (500.0, 500.5, 499.0, 499.5)))
    assert touched.filled_avg_price == 499.5


def test_bracket_legs_wait_for_the_parent_then_fill_as_oco() -> None:
    book, _ = new_book()
    parent = book.submit(bracket())
    assert [leg.status for leg in parent.legs] == ["held", "held"]
    book.feed_bar(bar(minute(0), (500, 501, 499, 500)))
    assert parent.status == "filled"
    assert [leg.status for leg in parent.legs] == ["new", "new"]
    book.feed_bar(bar(minute(1), (500, 506, 499, 505)))  # high through the target
    target, stop = parent.legs
    assert target.status == "filled" and target.filled_avg_price == 505.0
    assert stop.status == "canceled"
    assert "SPY" not in book.positions
    assert book.cash == pytest.approx(100_000 + 50)


def test_a_bar_touching_both_legs_fills_the_stop() -> None:
    book, _ = new_book()
    parent = book.submit(bracket())
    book.feed_bar(bar(minute(0), (500, 506, 494, 500)))  # the entry bar touches both levels
    target, stop = parent.legs
    assert stop.status == "filled" and stop.filled_avg_price == 495.0
    assert target.status == "canceled"


def test_a_gap_through_the_stop_fills_at_the_worse_open() -> None:
    book, _ = new_book()
    parent = book.submit(bracket())
    book.feed_bar(bar(minute(0), (500, 501, 499, 500)))
    book.feed_bar(bar(minute(1), (490, 491, 489, 490)))
    assert parent.legs[1].filled_avg_price == 490.0


def test_a_reused_client_order_id_is_refused_with_alpacas_422() -> None:
    book, _ = new_book()
    book.submit(order(client_order_id="sig-1"))
    with pytest.raises(AlpacaRefusal) as refused:
        book.submit(order(client_order_id="sig-1", qty="1"))
    assert (refused.value.status, refused.value.code) == (422, 40010001)
    assert refused.value.message == "client_order_id must be unique"
    assert len(list(book.top_level())) == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"limit_price": 500.123, "type": "limit"}, "sub-penny"),
        ({"qty": "1.5"}, "fractional"),
        ({"qty": "0"}, "qty must be > 0"),
        ({"side": "short"}, "invalid side"),
        ({"type": "limit"}, "limit_price is required"),
        ({"client_order_id": "x" * 49}, "no more than 48"),
        ({"symbol": "not a symbol"}, "asset not found"),
        ({"type": "limit", "limit_price": 1.7e308}, "too large"),  # overflowed the tick check
    ],
)
def test_invalid_orders_are_refused_and_change_nothing(
    fields: dict[str, Any], message: str
) -> None:
    book, _ = new_book()
    with pytest.raises(AlpacaRefusal, match=message) as refused:
        book.submit(order(**fields))
    assert refused.value.status == 422
    assert not book.orders


def test_an_exit_while_the_legs_hold_the_shares_is_refused_as_alpaca_does() -> None:
    book, _ = new_book()
    book.submit(bracket())
    book.feed_bar(bar(minute(0), (500, 501, 499, 500)))
    with pytest.raises(AlpacaRefusal, match="insufficient qty available") as refused:
        book.submit(order(side="sell"))
    assert refused.value.status == 403
    with pytest.raises(AlpacaRefusal, match="insufficient qty"):
        book.close_position("SPY")


def test_buying_power_limits_entries() -> None:
    book, _ = new_book(cash=1_000.0, multiplier=1)
    book.feed_bar(bar(minute(0), (500, 501, 499, 500)))
    with pytest.raises(AlpacaRefusal, match="insufficient buying power") as refused:
        book.submit(order(qty="3"))
    assert refused.value.status == 403
    book.submit(order(qty="1", client_order_id="ok"))  # 500 of 1000: fine


def test_bracket_levels_must_straddle_the_price() -> None:
    book, _ = new_book()
    book.feed_bar(bar(minute(0), (500, 501, 499, 500)))
    with pytest.raises(AlpacaRefusal, match=r"stop_loss.stop_price must be <= base_price"):
        book.submit(bracket(tp=505, sl=500.5))


def test_day_orders_expire_when_a_later_day_begins() -> None:
    book, _ = new_book()
    resting = book.submit(order(type="limit", limit_price=400.0))
    book.feed_bar(bar(minute(24 * 60), (500, 501, 499, 500)))
    assert resting.status == "expired"


def test_canceling_a_leg_cancels_its_oco_sibling_and_a_done_order_is_not_cancelable() -> None:
    book, _ = new_book()
    parent = book.submit(bracket())
    book.feed_bar(bar(minute(0), (500, 501, 499, 500)))
    book.cancel(parent.legs[0].id)
    assert [leg.status for leg in parent.legs] == ["canceled", "canceled"]
    with pytest.raises(AlpacaRefusal) as refused:
        book.cancel(parent.id)
    assert refused.value.status == 422 and "filled" in refused.value.message


def test_option_orders_fill_against_quotes() -> None:
    book, clock = new_book()
    call = contract(500.0)
    book.contracts[call.symbol] = call
    buy = book.submit(order(symbol=call.symbol, qty="2", type="limit", limit_price=1.10))
    book.quotes[call.symbol] = (1.15, 1.25, clock.now())
    assert book.fill_options() == []  # ask above the limit
    book.quotes[call.symbol] = (1.00, 1.08, clock.now())
    assert book.fill_options() == [buy] and buy.filled_avg_price == 1.08
    assert book.cash == pytest.approx(100_000 - 2 * 1.08 * 100)
    with pytest.raises(AlpacaRefusal, match=r"insufficient qty available .*available: 2"):
        book.submit(order(symbol=call.symbol, qty="5", side="sell", client_order_id="s"))
    put = contract(500.0, OptionRight.PUT)
    book.contracts[put.symbol] = put
    with pytest.raises(AlpacaRefusal, match="not allowed to short"):
        book.submit(order(symbol=put.symbol, qty="1", side="sell", client_order_id="naked"))


# --- invariant: cash and positions always tell the same story -----------------------------------
prices = st.floats(min_value=400, max_value=600).map(lambda p: round(p, 2))
actions = st.lists(
    st.tuples(st.sampled_from(["buy", "sell", "bracket", "bar", "close"]), prices), max_size=25
)


@pytest.mark.property
@settings(max_examples=60, deadline=None)
@given(actions)
def test_equity_is_cash_plus_marked_positions_and_fills_sum_to_positions(
    steps: list[tuple[str, float]],
) -> None:
    book, clock = new_book(cash=1_000_000.0)
    t = 0
    for kind, price in steps:
        try:
            if kind == "bar":
                spread = 6.0
                book.feed_bar(bar(minute(t), (price, price + spread, price - spread, price)))
                t += 1
                clock.set(minute(t))
            elif kind == "close":
                if "SPY" in book.positions:
                    book.close_position("SPY")
            elif kind == "bracket":
                book.submit(bracket(tp=price + 5, sl=price - 5, qty="3"))
            else:
                book.submit(order(side=kind, qty="2"))
        except AlpacaRefusal:
            pass
    fills = [o for o in book.orders.values() if o.status == "filled"]
    net = sum(o.filled_qty * (1 if o.side == "buy" else -1) for o in fills)
    held = book.positions.get("SPY")
    assert net == (held.qty if held else 0)
    spent = sum(
        o.filled_qty * (o.filled_avg_price or 0) * (1 if o.side == "buy" else -1) for o in fills
    )
    assert book.cash == pytest.approx(1_000_000.0 - spent)
    marked = sum(p.qty * book.mark(p) * MULTIPLIER[p.asset_class] for p in book.positions.values())
    assert book.equity() == pytest.approx(book.cash + marked)
    assert all(p.qty != 0 for p in book.positions.values())


def test_orders_sent_while_the_market_is_closed_wait_as_accepted() -> None:
    clock = FixedClock(START)
    book = AlpacaBook(clock, cash=100_000.0, market_open=lambda _now: False)
    placed = book.submit(order())
    assert placed.status == "accepted"
    book.feed_bar(bar(minute(0), (500, 501, 499, 500)))
    assert placed.status == "filled"


# --- fuzz: any order body is an order or Alpaca's refusal, never a crash ---------------------
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
order_fields = st.fixed_dictionaries(
    {},
    optional={
        "symbol": st.sampled_from(["SPY", "", "spy", "SPY240605C00500000"]) | scalars,
        "qty": st.sampled_from(["1", "2.5", "-1", "0", "1e3", 1e308]) | scalars,
        "side": st.sampled_from(["buy", "sell"]) | scalars,
        "type": st.sampled_from(["market", "limit", "stop", "stop_limit"]) | scalars,
        "time_in_force": st.sampled_from(["day", "gtc", "ioc"]) | scalars,
        "limit_price": st.sampled_from(["500.1", "500.123", "0.0001", 1.7e308]) | scalars,
        "order_class": st.sampled_from(["simple", "bracket", "oco"]) | scalars,
        "take_profit": st.fixed_dictionaries({"limit_price": scalars}) | scalars,
        "stop_loss": st.fixed_dictionaries({"stop_price": scalars}) | scalars,
        "client_order_id": st.text(max_size=60) | scalars,
    },
)


@pytest.mark.fuzz
@settings(max_examples=400, deadline=None)
@given(st.one_of(order_fields, scalars, st.lists(scalars, max_size=3)))
def test_any_order_body_is_an_order_or_a_refusal(body: object) -> None:
    book, _ = new_book()
    book.feed_bar(bar(minute(-1), (500, 501, 499, 500)))
    try:
        placed = book.submit(body)
    except AlpacaRefusal as refusal:
        assert refusal.status in (403, 422) and refusal.message
        assert not book.orders
        return
    assert placed.qty > 0 and placed.side in ("buy", "sell") and placed.id in book.orders


def test_partial_fills_when_bars_are_thin() -> None:
    book, _ = new_book()
    book.max_fill_per_bar = 4
    placed = book.submit(order())
    book.feed_bar(bar(minute(0), (500, 501, 499, 500)))
    assert (placed.status, placed.filled_qty, placed.filled_at) == ("partially_filled", 4, None)
    book.feed_bar(bar(minute(1), (501, 502, 500, 501)))
    book.feed_bar(bar(minute(2), (502, 503, 501, 502)))
    assert (placed.status, placed.filled_qty) == ("filled", 10)
    assert placed.filled_avg_price == pytest.approx((4 * 500 + 4 * 501 + 2 * 502) / 10)
    assert book.positions["SPY"].avg_entry_price == pytest.approx(placed.filled_avg_price)
    assert book.cash == pytest.approx(100_000 - (4 * 500 + 4 * 501 + 2 * 502))


def test_a_client_order_id_stays_taken_after_its_order_is_canceled() -> None:
    book, _ = new_book()
    first = book.submit(order(client_order_id="sig-1", type="limit", limit_price=400.0))
    book.cancel(first.id)
    with pytest.raises(AlpacaRefusal, match="client_order_id must be unique"):
        book.submit(order(client_order_id="sig-1"))


def test_a_short_bracket_covers_at_its_target_and_refuses_levels_on_the_wrong_side() -> None:
    book, _ = new_book()
    book.feed_bar(bar(minute(-1), (500, 501, 499, 500)))
    with pytest.raises(AlpacaRefusal, match=r"take_profit.limit_price must be <= base_price"):
        book.submit(bracket(tp=505, sl=510, side="sell", client_order_id="wrong"))
    parent = book.submit(bracket(tp=495, sl=505, side="sell"))
    book.feed_bar(bar(minute(0), (500, 501, 499, 500)))
    assert book.positions["SPY"].qty == -10
    book.feed_bar(bar(minute(1), (498, 499, 494, 495)))
    target, stop = parent.legs
    assert (target.side, target.status, target.filled_avg_price) == ("buy", "filled", 495.0)
    assert stop.status == "canceled" and "SPY" not in book.positions
    assert book.cash == pytest.approx(100_000 + 10 * (500 - 495))


def test_async_cancels_hold_the_quantity_and_may_lose_the_race_to_a_fill() -> None:
    book, _ = new_book()
    book.async_cancels = True
    parent = book.submit(bracket())
    book.feed_bar(bar(minute(0), (500, 501, 499, 500)))
    book.cancel(parent.legs[0].id)
    assert [leg.status for leg in parent.legs] == ["pending_cancel", "pending_cancel"]
    with pytest.raises(AlpacaRefusal, match="insufficient qty"):  # still held by the legs
        book.close_position("SPY")
    book.feed_bar(bar(minute(1), (500, 501, 494, 495)))  # the stop fills before the cancel
    target, stop = parent.legs
    assert (stop.status, target.status) == ("filled", "canceled")
    resting = book.submit(order(type="limit", limit_price=400.0, client_order_id="rest"))
    book.cancel(resting.id)
    book.feed_bar(bar(minute(2), (500, 501, 499, 500)))  # nothing touched: the cancel lands
    assert resting.status == "canceled"
