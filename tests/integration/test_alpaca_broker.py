"""Contract tests of the Broker port on Alpaca: the real alpaca-py client against the emulator."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from maxtrader.adapters.alpaca_broker import AlpacaBroker
from maxtrader.domain.broker import BrokerOrderStatus, OrderRequest, OrderType
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import (
    BrokerRejectedError,
    DuplicateClientOrderIdError,
    InvalidInputError,
)
from maxtrader.domain.models import Bar, Instrument, OptionRight, OrderSide
from maxtrader.domain.options import OptionContract
from maxtrader.domain.ports import Broker
from maxtrader.emulators.alpaca import AlpacaEmulator
from tests.support.alpaca_env import (
    KEY,
    SECRET,
    bar,
    contract,
    make_broker,
    minute,
    start_emulator,
)

pytest_plugins = ("tests.support.alpaca_fixtures",)  # the alpaca, broker fixtures
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def entry(cid: str = "sig-1", qty: int = 10, **fields: object) -> OrderRequest:
    base: dict[str, object] = {
        "client_order_id": cid,
        "symbol": "SPY",
        "side": OrderSide.BUY,
        "qty": qty,
        "instrument": Instrument.EQUITY,
        "stop_loss": 495.0,
        "take_profit": 505.0,
    }
    return OrderRequest.model_validate({**base, **fields})


def exit_order(cid: str, qty: int = 10) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        symbol="SPY",
        side=OrderSide.SELL,
        qty=qty,
        instrument=Instrument.EQUITY,
    )


def test_the_adapter_is_a_broker(broker: AlpacaBroker) -> None:
    port: Broker = broker
    assert port.account().equity == 100_000.0


def test_account_and_clock(broker: AlpacaBroker) -> None:
    account = broker.account()
    assert account.paper and account.active and not account.flags.blocked
    assert (account.cash, account.buying_power) == (100_000.0, 200_000.0)
    clock = broker.clock()
    assert clock.is_open and clock.next_close.hour == 16  # New York time, 2024-06-03


def test_an_equity_entry_is_a_bracket_that_fills_and_exits_by_its_legs(
    alpaca: AlpacaEmulator, broker: AlpacaBroker
) -> None:
    alpaca.feed_bar(bar(minute(-1), (500, 501, 499, 500)))
    placed = broker.submit(entry(stop_loss=495.004, take_profit=505.126))
    assert placed.client_order_id == "sig-1" and placed.status is BrokerOrderStatus.OPEN
    assert [(leg.type, leg.status) for leg in placed.legs] == [
        (OrderType.LIMIT, BrokerOrderStatus.PENDING),
        (OrderType.STOP, BrokerOrderStatus.PENDING),
    ]
    assert (placed.legs[0].limit_price, placed.legs[1].stop_price) == (505.13, 495.0)  # ticks
    alpaca.feed_bar(bar(minute(0), (500.5, 502, 499, 501)))
    [position] = broker.positions()
    assert (position.symbol, position.qty, position.avg_entry_price) == ("SPY", 10, 500.5)
    [working] = broker.open_orders()  # the filled parent with its two working legs
    assert working.status is BrokerOrderStatus.FILLED
    assert {leg.status for leg in working.legs} == {BrokerOrderStatus.OPEN}
    alpaca.feed_bar(bar(minute(1), (501, 506, 500, 505)))
    assert broker.positions() == [] and broker.open_orders() == []
    done = broker.order_by_client_id("sig-1")
    assert done is not None and done.legs[0].status is BrokerOrderStatus.FILLED
    assert broker.account().cash == pytest.approx(100_000 - 5005 + 5051.3)


def test_an_option_entry_is_a_limit_at_the_ask(
    alpaca: AlpacaEmulator, broker: AlpacaBroker
) -> None:
    call = contract(500.0)
    alpaca.list_option(call)
    alpaca.set_option_quote(call.symbol, bid=1.00, ask=1.10)
    chain = broker.option_chain("SPY", call.expiry)
    [quote] = chain.quotes
    order = OrderRequest(
        client_order_id="opt-1",
        symbol=call.symbol,
        side=OrderSide.BUY,
        qty=3,
        instrument=Instrument.OPTION,
        type=OrderType.LIMIT,
        limit_price=quote.ask,
    )
    placed = broker.submit(order)
    assert (placed.type, placed.limit_price, placed.instrument) == (
        OrderType.LIMIT,
        1.10,
        Instrument.OPTION,
    )
    alpaca.feed_bar(bar(minute(0), (500, 501, 499, 500)))
    [position] = broker.positions()
    assert (position.qty, position.instrument) == (3, Instrument.OPTION)
    assert broker.account().cash == pytest.approx(100_000 - 3 * 110)


def test_an_exit_is_a_market_order_and_the_legs_must_be_canceled_first(
    alpaca: AlpacaEmulator, broker: AlpacaBroker
) -> None:
    broker.submit(entry())
    alpaca.feed_bar(bar(minute(0), (500, 501, 499, 500)))
    with pytest.raises(BrokerRejectedError) as refused:  # Alpaca: the legs hold the shares
        broker.submit(exit_order("exit-1"))
    assert refused.value.status == 403 and refused.value.code == 40310000
    [working] = broker.open_orders()
    broker.cancel(working.legs[0].broker_order_id)  # cancels its OCO sibling too
    assert broker.open_orders() == []
    sent = broker.submit(exit_order("exit-2"))
    assert sent.type is OrderType.MARKET and sent.side is OrderSide.SELL
    alpaca.feed_bar(bar(minute(1), (499, 500, 498, 499)))
    assert broker.positions() == []


def test_close_all_cancels_the_legs_and_flattens(
    alpaca: AlpacaEmulator, broker: AlpacaBroker
) -> None:
    broker.submit(entry())
    alpaca.feed_bar(bar(minute(0), (500, 501, 499, 500)))
    with pytest.raises(BrokerRejectedError, match="insufficient qty"):
        broker.close_position("SPY")
    [closing] = broker.close_all_positions()
    assert (closing.symbol, closing.side, closing.qty) == ("SPY", OrderSide.SELL, 10)
    alpaca.feed_bar(bar(minute(1), (499, 500, 498, 499)))
    assert broker.positions() == []


def test_cancel_all_and_unknown_orders(alpaca: AlpacaEmulator, broker: AlpacaBroker) -> None:
    broker.submit(entry("a", qty=1, type=OrderType.LIMIT, limit_price=480.0, stop_loss=470.0,
                        take_profit=490.0))  # fmt: skip
    broker.submit(entry("b", qty=1, type=OrderType.LIMIT, limit_price=481.0, stop_loss=471.0,
                        take_profit=491.0))  # fmt: skip
    assert len(broker.open_orders()) == 2
    broker.cancel_all()
    assert broker.open_orders() == []
    assert broker.order_by_client_id("a").status is BrokerOrderStatus.CANCELED  # type: ignore[union-attr]
    assert broker.order_by_client_id("never-sent") is None
    with pytest.raises(BrokerRejectedError) as refused:
        broker.cancel("00000000-0000-4000-8000-000000000000")
    assert refused.value.status == 404
    with pytest.raises(InvalidInputError):
        broker.cancel("not-an-id")


def test_a_reused_client_order_id_is_a_duplicate_not_a_reject(broker: AlpacaBroker) -> None:
    broker.submit(entry())
    with pytest.raises(DuplicateClientOrderIdError) as duplicate:
        broker.submit(entry(qty=1))
    assert duplicate.value.may_have_reached_broker and duplicate.value.status == 422
    found = broker.order_by_client_id("sig-1")
    assert found is not None and found.qty == 10


def test_the_option_chain_pages_contracts_and_batches_quotes(
    alpaca: AlpacaEmulator,
) -> None:
    expiry = date(2024, 6, 5)
    strikes = [450.0 + i for i in range(130)]
    for strike in strikes:
        for right in OptionRight:
            listed = contract(strike, right, expiry)
            alpaca.list_option(listed)
            if strike != 450.0:  # one strike without quotes: left out of the chain
                alpaca.set_option_quote(listed.symbol, bid=1.0, ask=1.2)
    alpaca.list_option(contract(500.0, expiry=date(2024, 6, 7)))  # another expiry: not asked
    broker = make_broker(alpaca)
    import maxtrader.adapters.alpaca_broker as module

    module_page = module.CONTRACT_PAGE
    module.CONTRACT_PAGE = 100
    try:
        chain = broker.option_chain("SPY", expiry)
    finally:
        module.CONTRACT_PAGE = module_page
    assert len(chain.quotes) == 2 * 129
    assert alpaca.count("option_contracts") == 3  # 260 contracts, pages of 100
    assert alpaca.count("option_quotes") == 3  # 260 symbols, batches of 100
    assert {q.contract.expiry for q in chain.quotes} == {expiry}


def test_bad_credentials_are_a_certain_reject(alpaca: AlpacaEmulator) -> None:
    wrong = AlpacaBroker(KEY, "wrong-secret", url_override=alpaca.base_url, timeout=0.5)
    with pytest.raises(BrokerRejectedError) as refused:
        wrong.account()
    assert refused.value.status == 401
    with pytest.raises(InvalidInputError):
        AlpacaBroker(KEY, "")


def test_the_secret_key_is_never_logged_returned_or_put_in_a_message(
    alpaca: AlpacaEmulator, broker: AlpacaBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # urllib3 and alpaca-py debug lines included
    from maxtrader.emulators.alpaca import Fault

    alpaca.inject("account", Fault.of_status(500), times=2)
    alpaca.inject("submit_order", Fault.of_status(422))
    messages = [repr(broker), str(broker.account())]
    try:
        broker.submit(entry())
    except BrokerRejectedError as exc:
        messages.append(str(exc))
    assert alpaca.count("account") == 3  # two 500s retried, then the answer
    text = "\n".join(messages + [r.getMessage() for r in caplog.records])
    assert SECRET not in text
    assert any("retry" in r.getMessage() for r in caplog.records)  # the logs were captured


def test_a_partial_fill_is_reported_as_such(alpaca_clock: FixedClock) -> None:
    emulator = start_emulator(alpaca_clock, max_fill_per_bar=3)
    try:
        broker = make_broker(emulator)
        broker.submit(exit_order("short-entry", qty=5))  # a plain market sell: a short entry
        emulator.feed_bar(bar(minute(0), (500, 501, 499, 500)))
        [working] = broker.open_orders()
        assert (working.status, working.filled_qty, working.filled_avg_price) == (
            BrokerOrderStatus.PARTIALLY_FILLED,
            3,
            500.0,
        )
        assert [(p.qty, p.avg_entry_price) for p in broker.positions()] == [(-3, 500.0)]
        emulator.feed_bar(bar(minute(1), (502, 503, 501, 502)))
        done = broker.order_by_client_id("short-entry")
        assert done is not None and done.status is BrokerOrderStatus.FILLED
        assert done.filled_avg_price == pytest.approx((3 * 500 + 2 * 502) / 5)
    finally:
        emulator.stop()


def test_close_all_without_canceling_names_what_could_not_be_closed(
    alpaca: AlpacaEmulator, broker: AlpacaBroker
) -> None:
    broker.submit(entry())
    alpaca.feed_bar(bar(minute(0), (500, 501, 499, 500)))
    with pytest.raises(BrokerRejectedError, match=r"1 not closed: SPY: HTTP 403"):
        broker.close_all_positions(cancel_orders=False)
    assert [p.qty for p in broker.positions()] == [10]  # nothing was sold


def test_an_option_pricer_requotes_listed_contracts_on_each_underlying_bar(
    alpaca_clock: FixedClock,
) -> None:
    def intrinsic_plus(listed: OptionContract, underlying: Bar) -> tuple[float, float]:
        mid = max(underlying.close - listed.strike, 0.0) + 1.0
        return round(mid - 0.05, 2), round(mid + 0.05, 2)

    emulator = start_emulator(alpaca_clock, option_pricer=intrinsic_plus)
    try:
        broker = make_broker(emulator)
        call = contract(500.0)
        emulator.list_option(call)
        emulator.feed_bar(bar(minute(0), (503, 504, 502, 503)))
        [quote] = broker.option_chain("SPY", call.expiry).quotes
        assert (quote.bid, quote.ask) == (3.95, 4.05)
        emulator.feed_bar(bar(minute(1), (506, 507, 505, 506)))
        [quote] = broker.option_chain("SPY", call.expiry).quotes
        assert (quote.bid, quote.ask) == (6.95, 7.05)
    finally:
        emulator.stop()


def test_with_async_cancels_an_exit_right_after_canceling_the_legs_is_refused(
    alpaca_clock: FixedClock,
) -> None:
    emulator = start_emulator(alpaca_clock, async_cancels=True)
    try:
        broker = make_broker(emulator)
        broker.submit(entry())
        emulator.feed_bar(bar(minute(0), (500, 501, 499, 500)))
        [working] = broker.open_orders()
        broker.cancel(working.legs[1].broker_order_id)
        [still] = broker.open_orders()  # pending_cancel: still open, still holding the shares
        assert {leg.status for leg in still.legs} == {BrokerOrderStatus.OPEN}
        with pytest.raises(BrokerRejectedError, match="insufficient qty"):
            broker.submit(exit_order("too-soon"))
        emulator.feed_bar(bar(minute(1), (500, 501, 499, 500)))
        assert broker.open_orders() == []
        assert broker.submit(exit_order("now")).status is BrokerOrderStatus.OPEN
        [closing] = broker.close_all_positions()  # close-all cancels at once, then sells
        assert closing.symbol == "SPY"
    finally:
        emulator.stop()
