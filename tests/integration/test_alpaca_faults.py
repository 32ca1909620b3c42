"""Faults at the broker: what the adapter raises, what it retries, and that no order doubles."""

from __future__ import annotations

import threading

import pytest

from maxtrader.adapters.alpaca_broker import AlpacaBroker
from maxtrader.domain.broker import OrderRequest
from maxtrader.domain.errors import (
    BrokerError,
    BrokerRejectedError,
    BrokerResponseError,
    BrokerUnavailableError,
    DuplicateClientOrderIdError,
    InvalidInputError,
)
from maxtrader.domain.models import Instrument, OrderSide
from maxtrader.emulators.alpaca import AlpacaEmulator, Fault
from tests.support.alpaca_env import (
    make_broker,
)

pytest_plugins = ("tests.support.alpaca_fixtures",)  # the alpaca, broker fixtures
pytestmark = [pytest.mark.faults, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def order(cid: str = "sig-1") -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        symbol="SPY",
        side=OrderSide.BUY,
        qty=5,
        instrument=Instrument.EQUITY,
        stop_loss=495.0,
        take_profit=505.0,
    )


def submit_after_fault(broker: AlpacaBroker, cid: str) -> BrokerError:
    """What the execute handler will do: submit; on 'may have reached', look up before retrying."""
    with pytest.raises(BrokerError) as failed:
        broker.submit(order(cid))
    return failed.value


@pytest.mark.parametrize("status", [429, 500, 503, 504])
def test_submit_is_posted_exactly_once_on_a_retryable_status(
    alpaca: AlpacaEmulator, broker: AlpacaBroker, status: int
) -> None:
    alpaca.inject("submit_order", Fault.of_status(status), times=5)
    error = submit_after_fault(broker, "sig-1")
    assert isinstance(error, BrokerUnavailableError) and error.status == status
    assert error.may_have_reached_broker
    assert alpaca.count("submit_order") == 1  # alpaca-py would have sent it 4 times on 429/504
    assert broker.order_by_client_id("sig-1") is None  # refused before acting: nothing there


def test_a_504_after_accepting_is_resolved_by_the_lookup(
    alpaca: AlpacaEmulator, broker: AlpacaBroker
) -> None:
    alpaca.inject("submit_order", Fault.of_status(504, after_action=True))
    error = submit_after_fault(broker, "sig-1")
    assert isinstance(error, BrokerUnavailableError)
    found = broker.order_by_client_id("sig-1")
    assert found is not None and found.qty == 5
    assert len(alpaca.orders("sig-1")) == 1


def test_a_timeout_after_accept_leaves_one_order_and_a_resend_is_a_duplicate(
    alpaca: AlpacaEmulator, broker: AlpacaBroker
) -> None:
    alpaca.inject("submit_order", Fault.timeout_after_accept())
    error = submit_after_fault(broker, "sig-1")
    assert isinstance(error, BrokerUnavailableError) and "timed out" in str(error)
    assert broker.order_by_client_id("sig-1") is not None  # the order exists
    with pytest.raises(DuplicateClientOrderIdError):  # a careless resend is refused
        broker.submit(order("sig-1"))
    assert len(alpaca.orders()) == 1
    assert alpaca.count("submit_order") == 2


def test_a_timeout_before_accept_leaves_nothing(
    alpaca: AlpacaEmulator, broker: AlpacaBroker
) -> None:
    alpaca.inject("submit_order", Fault.timeout())
    assert isinstance(submit_after_fault(broker, "sig-1"), BrokerUnavailableError)
    assert broker.order_by_client_id("sig-1") is None
    assert broker.submit(order("sig-1")).client_order_id == "sig-1"  # now safe to send


def test_a_malformed_submit_answer_is_a_response_error_and_the_order_is_found(
    alpaca: AlpacaEmulator, broker: AlpacaBroker
) -> None:
    alpaca.inject("submit_order", Fault.malformed())
    error = submit_after_fault(broker, "sig-1")
    assert isinstance(error, BrokerResponseError) and error.may_have_reached_broker
    assert broker.order_by_client_id("sig-1") is not None


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (502, "<html><body>502 Bad Gateway</body></html>", BrokerUnavailableError),
        (503, "upstream connect error", BrokerUnavailableError),
        (403, "<html>Forbidden</html>", BrokerRejectedError),
    ],
)  # fmt: skip
def test_an_error_status_with_a_non_json_body_is_still_a_broker_error_kind(
    alpaca: AlpacaEmulator, broker: AlpacaBroker, status: int, body: str, kind: type[BrokerError]
) -> None:
    # alpaca-py's APIError.code raises on such a body; the adapter reads the status itself.
    alpaca.inject("submit_order", Fault.body(status, body))
    error = submit_after_fault(broker, "sig-1")
    assert type(error) is kind and error.status == status and error.code is None
    assert alpaca.count("submit_order") == 1 and alpaca.orders() == []


def test_only_alpacas_own_404_means_no_such_order(
    alpaca: AlpacaEmulator, broker: AlpacaBroker
) -> None:
    assert broker.order_by_client_id("sig-1") is None  # {"code": 40410000, ...}
    broker.submit(order("sig-1"))
    # A proxy's bare 404 page says nothing about the order: a resend or a release on it
    # could leave a live order behind (the order is there).
    alpaca.inject("order_by_client_id", Fault.body(404, "<html><h1>Not Found</h1></html>"))
    with pytest.raises(BrokerResponseError, match="not a certain 'not found'"):
        broker.order_by_client_id("sig-1")
    assert broker.order_by_client_id("sig-1") is not None


@pytest.mark.parametrize(
    ("route", "call"),
    [
        ("account", lambda b: b.account()),
        ("positions", lambda b: b.positions()),
        ("list_orders", lambda b: b.open_orders()),
        ("clock", lambda b: b.clock()),
    ],
)
def test_reads_with_a_wrong_shape_are_response_errors(
    alpaca: AlpacaEmulator, broker: AlpacaBroker, route: str, call: object
) -> None:
    alpaca.inject(route, Fault.rewrite(lambda body: {"unexpected": body}))
    with pytest.raises(BrokerResponseError):
        call(broker)  # type: ignore[operator]
    alpaca.inject(route, Fault.malformed())
    with pytest.raises(BrokerResponseError):
        call(broker)  # type: ignore[operator]


def test_reads_are_retried_a_bounded_number_of_times(alpaca: AlpacaEmulator) -> None:
    slept: list[float] = []
    broker = make_broker(alpaca, read_retries=2, retry_backoff_s=0.1, sleep=slept.append)
    alpaca.inject("account", Fault.of_status(500), times=2)
    assert broker.account().equity == 100_000.0
    assert alpaca.count("account") == 3 and slept == [0.1, 0.2]
    alpaca.inject("account", Fault.timeout(), times=3)
    with pytest.raises(BrokerUnavailableError, match="timed out"):
        broker.account()
    assert alpaca.count("account") == 6


def test_with_a_read_budget_a_quick_failure_is_retried_and_a_timed_out_read_is_not(
    alpaca: AlpacaEmulator,
) -> None:
    # One request may take 1.0 s (0.5 connect + 0.5 read); the budget 1.5 s: a retry only if
    # it can still time out within 1.5 s of the read's start.
    broker = make_broker(alpaca, read_budget_seconds=1.5)
    alpaca.inject("account", Fault.of_status(503))  # answered at once: retried, and it works
    assert broker.account().equity == 100_000.0
    assert alpaca.count("account") == 2
    alpaca.inject("account", Fault.timeout())  # 0.5 s spent: another would overrun the budget
    alpaca.inject("account", Fault.of_status(503))
    with pytest.raises(BrokerUnavailableError, match="timed out"):
        broker.account()
    assert alpaca.count("account") == 3
    with pytest.raises(InvalidInputError, match="shorter than one request"):
        make_broker(alpaca, read_budget_seconds=0.9)


def test_a_refused_connection_is_unavailable(alpaca: AlpacaEmulator) -> None:
    broker = make_broker(alpaca, read_retries=0)
    alpaca.stop()
    with pytest.raises(BrokerUnavailableError, match="connection failed"):
        broker.account()
    with pytest.raises(BrokerUnavailableError):
        broker.submit(order())


@pytest.mark.concurrency
def test_one_client_order_id_from_many_threads_gives_exactly_one_order(
    alpaca: AlpacaEmulator,
) -> None:
    threads, outcomes = 8, []
    brokers = [make_broker(alpaca, timeout=5.0) for _ in range(threads)]
    start = threading.Barrier(threads)
    lock = threading.Lock()

    def send(b: AlpacaBroker) -> None:
        start.wait(timeout=10)
        try:
            b.submit(order("sig-race"))
            result = "placed"
        except DuplicateClientOrderIdError:
            result = "duplicate"
        except BrokerUnavailableError:  # a slow answer: unknown, resolved by the lookup
            result = "unknown"
        except BrokerError as exc:  # reported, so a lost thread cannot hide
            result = f"{type(exc).__name__}: {exc}"
        with lock:
            outcomes.append(result)

    workers = [threading.Thread(target=send, args=(b,)) for b in brokers]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=30)
    assert len(outcomes) == threads and set(outcomes) <= {"placed", "duplicate", "unknown"}
    assert outcomes.count("placed") <= 1 and outcomes.count("duplicate") >= threads - 2
    assert len(alpaca.orders("sig-race")) == 1
    assert brokers[0].order_by_client_id("sig-race") is not None
    assert alpaca.count("submit_order") == threads


def test_hung_option_quotes_fail_the_chain_after_bounded_retries(
    alpaca: AlpacaEmulator, broker: AlpacaBroker
) -> None:
    from tests.support.alpaca_env import contract

    listed = contract(500.0)
    alpaca.list_option(listed)
    alpaca.set_option_quote(listed.symbol, bid=1.0, ask=1.1)
    alpaca.inject("option_quotes", Fault.timeout(), times=3)
    with pytest.raises(BrokerUnavailableError, match="option quotes: timed out"):
        broker.option_chain("SPY", listed.expiry)
    assert alpaca.count("option_quotes") == 3  # 1 + read_retries
    assert len(broker.option_chain("SPY", listed.expiry).quotes) == 1


def test_a_cancel_that_timed_out_after_acting_is_seen_on_the_next_read(
    alpaca: AlpacaEmulator, broker: AlpacaBroker
) -> None:
    placed = broker.submit(order())
    alpaca.inject("cancel_order", Fault.timeout_after_accept())
    with pytest.raises(BrokerUnavailableError):
        broker.cancel(placed.broker_order_id)
    assert broker.open_orders() == []  # it was canceled; a second cancel is a certain reject
    with pytest.raises(BrokerError) as again:
        broker.cancel(placed.broker_order_id)
    assert again.value.status == 422 and not again.value.may_have_reached_broker


@pytest.mark.concurrency
def test_signals_delivered_several_times_out_of_order_give_one_order_each(
    alpaca: AlpacaEmulator,
) -> None:
    """The execute handler's protocol at the broker: look up, submit, and on any 'may have
    reached' error look up again; deliveries race on several threads, duplicated, shuffled."""
    signals = [f"sig-{i}" for i in range(6)]
    repeated = [
        s for s, times in zip(signals, [1, 3, 2, 1, 2, 3], strict=True) for _ in range(times)
    ]
    deliveries = repeated[::-1][::2] + repeated[::-1][1::2]  # duplicated and out of order
    for i in range(len(deliveries)):  # some answers come late, after the order was accepted
        if i % 4 == 0:
            alpaca.inject("submit_order", Fault.of_status(504, after_action=True))
    brokers = [make_broker(alpaca, timeout=5.0) for _ in range(4)]
    errors: list[str] = []

    def deliver(b: AlpacaBroker, cid: str) -> None:
        try:
            if b.order_by_client_id(cid) is not None:
                return
            b.submit(order(cid))
        except DuplicateClientOrderIdError:
            pass
        except BrokerError as exc:
            if not exc.may_have_reached_broker or b.order_by_client_id(cid) is None:
                errors.append(f"{cid}: {exc}")

    workers = [
        threading.Thread(target=deliver, args=(brokers[i % len(brokers)], cid))
        for i, cid in enumerate(deliveries)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=30)
    assert errors == []
    assert sorted(o["client_order_id"] for o in alpaca.orders()) == signals
