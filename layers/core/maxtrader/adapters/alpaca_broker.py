"""The ``Broker`` port on Alpaca, through alpaca-py's own clients. Paper trading by default.

    broker = AlpacaBroker(api_key, secret_key)                          # paper-api.alpaca.markets
    broker = AlpacaBroker(api_key, secret_key, paper=False)             # live: say so explicitly
    broker = AlpacaBroker(key, secret, url_override=emulator.base_url)  # the emulator (no /v2)

HTTP policy. alpaca-py sets no timeout, and re-sends any request answered 429 or 504 up to three
times, three seconds apart, order submissions included; its constructors cannot turn that off
(``retry_attempts=0`` is ignored, TradingClient does not even take it). So each client gets a
session with explicit (connect, read) timeouts and its retry count set to zero after
construction (``_harden``: it fails loudly should alpaca-py rename those attributes). Reads (GET)
are then retried here, ``read_retries`` times with a doubling backoff, on BrokerUnavailableError
only, and with ``read_budget_seconds`` (the functions' broker) only while the retry can still
time out within that budget (a quick failure is retried, a timed-out request is not); writes
(submit, cancel, close) are sent exactly once: the caller looks an order up by its
client_order_id before deciding to send it again.

Keys. ``api_key`` is a string (with ``secret_key``) or a key source, ``source(force_fetch) ->
(key_id, secret_key)`` (the functions pass one over Powertools' cached secret:
``alpaca_keys.secret_key_source``). The source is asked before each request (its cache, so a
rotation shows once ``max_age`` passed) and, forced, after Alpaca refused the key (401, or 403
"forbidden"), at most once per ``key_refresh_interval_seconds``: a pair that changed rebuilds
both clients and the refused request is sent once more (safe for a submit too: a refused key
means no order was accepted). A key that is really wrong fails with ``KeyRefusedError``.

Errors (domain/errors.py; ``alpaca_errors.py`` maps them): timeout, dropped connection, 5xx and
429 are BrokerUnavailableError (may have acted); 422 "client_order_id must be unique" is
DuplicateClientOrderIdError (it exists); a refused key is KeyRefusedError and any other 4xx
BrokerRejectedError (nothing was done); an unreadable body is BrokerResponseError.
order_by_client_id: None only on Alpaca's own 404 (its JSON error body); a bare 404 page is
BrokerResponseError, since "not found" is what makes a resend or a release safe.

Orders are built in ``alpaca_requests.py`` (brackets, limits at the ask, prices on Alpaca's
tick). The secret key is never logged, returned or put in a message: it lives only in the
clients' request headers.

alpaca-py imports pandas (~0.5-0.9 s): import this module only where the broker is talked to.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any, TypeVar

import requests
from alpaca.data.enums import OptionsFeed
from alpaca.data.historical.option import OptionHistoricalDataClient
from alpaca.data.requests import OptionLatestQuoteRequest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.requests import (
    GetOptionContractsRequest,
    GetOrdersRequest,
)

from maxtrader.adapters import alpaca_parsing as parse
from maxtrader.adapters.alpaca_errors import KeyRefusedError, translated
from maxtrader.adapters.alpaca_keys import KEY_REFRESH_INTERVAL_SECONDS, AlpacaKeys, KeySource
from maxtrader.adapters.alpaca_requests import alpaca_order
from maxtrader.domain.broker import (
    BrokerAccount,
    BrokerClock,
    BrokerOrder,
    BrokerPosition,
    OptionChain,
    OrderRequest,
)
from maxtrader.domain.clock import Clock, SystemClock
from maxtrader.domain.errors import (
    BrokerRejectedError,
    BrokerResponseError,
    BrokerUnavailableError,
    InvalidInputError,
)
from maxtrader.domain.options import OptionQuote

T = TypeVar("T")
log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (3.05, 10.0)  # (connect, read) seconds
# The functions' broker (runtime/factory.broker): Alpaca answers in well under a second, so a
# request that stalls longer than this is an outage (a submit it hides is found by lookup); and a
# read is retried only within this much more than one request: a quick failure is retried, a
# timeout is not. Together they keep execute's worst case inside its function's timeout
# (execution/budget.py; tests/infra/test_execute_budget.py holds them to it).
FUNCTION_TIMEOUT = (1.5, 3.0)
FUNCTION_READ_RETRY_ALLOWANCE_SECONDS = 1.0
MAX_OPEN_ORDERS = 500  # Alpaca's page limit for GET /v2/orders
CONTRACT_PAGE = 1000
MAX_CONTRACT_PAGES = 20
QUOTE_BATCH = 100  # Alpaca's limit of symbols per latest-quotes request


class _TimeoutSession(requests.Session):
    """A session whose every request has a timeout unless the caller gave one."""

    def __init__(self, timeout: float | tuple[float, float]) -> None:
        super().__init__()
        self.timeout = timeout

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)


def _harden(client: Any, timeout: float | tuple[float, float]) -> None:
    if not isinstance(getattr(client, "_session", None), requests.Session) or not isinstance(
        getattr(client, "_retry", None), int
    ):
        raise RuntimeError(
            f"alpaca-py's {type(client).__name__} no longer has _session/_retry: "
            "review AlpacaBroker's timeout and retry settings before trading"
        )
    client._session = _TimeoutSession(timeout)
    client._retry = 0  # the library's own 429/504 re-sends: off (reads are retried here)


@dataclass(frozen=True, slots=True)
class _Clients:
    """alpaca-py's two clients over one key pair (swapped whole when the key rotates)."""

    trading: TradingClient
    data: OptionHistoricalDataClient


class AlpacaBroker:
    def __init__(
        self,
        api_key: str | KeySource,
        secret_key: str = "",
        *,
        paper: bool = True,
        url_override: str | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        read_retries: int = 2,
        retry_backoff_s: float = 0.25,
        read_budget_seconds: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Clock | None = None,
        quote_feed: str | None = None,  # "opra" or "indicative"; None: Alpaca's default
        key_refresh_interval_seconds: float = KEY_REFRESH_INTERVAL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if read_retries < 0:
            raise InvalidInputError(f"read_retries must be >= 0, not {read_retries}")
        if read_budget_seconds is not None and read_budget_seconds < request_seconds(timeout):
            raise InvalidInputError(
                f"read_budget_seconds ({read_budget_seconds}) is shorter than one request "
                f"({request_seconds(timeout)} s)"
            )
        try:
            self._feed = OptionsFeed(quote_feed) if quote_feed else None
        except ValueError:
            feeds = [f.value for f in OptionsFeed]
            raise InvalidInputError(
                f"quote_feed must be one of {feeds}, not {quote_feed!r}"
            ) from None
        source: KeySource = api_key if callable(api_key) else (lambda _force: (api_key, secret_key))
        self._keys = AlpacaKeys(
            source, refresh_interval_seconds=key_refresh_interval_seconds, monotonic=monotonic
        )
        self.paper = paper
        self._url_override = url_override
        self._timeout = timeout
        self._clients = self._build_clients()
        base = self._clients.trading._base_url
        self._base_url = str(getattr(base, "value", base))  # BaseURL is a str Enum
        self._read_retries = read_retries
        self._backoff = retry_backoff_s
        self._read_budget = read_budget_seconds
        self._monotonic = monotonic
        self._sleep = sleep
        self._clock = clock or SystemClock()

    def _build_clients(self) -> _Clients:
        key_id, secret_key = self._keys.current
        trading = TradingClient(
            key_id, secret_key, paper=self.paper, raw_data=True, url_override=self._url_override
        )
        data = OptionHistoricalDataClient(
            key_id, secret_key, raw_data=True, url_override=self._url_override
        )
        for client in (trading, data):
            _harden(client, self._timeout)
        return _Clients(trading, data)

    def __repr__(self) -> str:
        return f"AlpacaBroker(paper={self.paper}, base_url={self._base_url!r})"

    # --- reads --------------------------------------------------------------------------------
    def account(self) -> BrokerAccount:
        raw = self._read("account", lambda c: c.trading.get_account())
        return parse.parse_account(raw, paper=self.paper)

    def clock(self) -> BrokerClock:
        return parse.parse_clock(self._read("clock", lambda c: c.trading.get_clock()))

    def order_by_client_id(self, client_order_id: str) -> BrokerOrder | None:
        what = f"order {client_order_id!r}"
        try:
            raw = self._read(what, lambda c: c.trading.get_order_by_client_id(client_order_id))
        except BrokerRejectedError as exc:
            if exc.status != 404:
                raise
            if exc.code is None:  # not Alpaca's answer (a proxy's page): it may exist
                raise BrokerResponseError(
                    f"{what}: HTTP 404 without Alpaca's error body: not a certain 'not found'",
                    status=404,
                ) from exc
            return None
        found = parse.parse_order(raw, what)
        if found.client_order_id != client_order_id:
            raise BrokerResponseError(
                f"{what}: unexpected answer: client_order_id: {found.client_order_id!r}"
            )
        return found

    def open_orders(self) -> list[BrokerOrder]:
        query = GetOrdersRequest(status=QueryOrderStatus.OPEN, nested=True, limit=MAX_OPEN_ORDERS)
        raw = self._read("open orders", lambda c: c.trading.get_orders(query))
        items = parse.validated("open orders", lambda: parse.objects(raw))
        if len(items) >= MAX_OPEN_ORDERS:
            raise BrokerResponseError(f"open orders: {len(items)} or more: the list may be cut")
        return [parse.parse_order(item, f"open orders[{i}]") for i, item in enumerate(items)]

    def positions(self) -> list[BrokerPosition]:
        raw = self._read("positions", lambda c: c.trading.get_all_positions())
        items = parse.validated("positions", lambda: parse.objects(raw))
        return [parse.parse_position(item, f"positions[{i}]") for i, item in enumerate(items)]

    def option_chain(self, underlying: str, expiry: date) -> OptionChain:
        contracts = self._contracts(underlying, expiry)
        symbols = [c.symbol for c in contracts]
        quotes: dict[str, tuple[float, float, Any]] = {}
        for start in range(0, len(symbols), QUOTE_BATCH):
            batch = symbols[start : start + QUOTE_BATCH]
            query = OptionLatestQuoteRequest(symbol_or_symbols=batch, feed=self._feed)
            raw = self._read("option quotes", partial(_latest_quotes, query))
            quotes.update(parse.parse_quotes(raw, batch))
        chain = []
        for contract in contracts:
            if contract.symbol not in quotes:
                continue  # no quote: not tradeable now
            bid, ask, _ = quotes[contract.symbol]
            if ask and ask < bid:
                continue  # a crossed quote cannot be traded on
            chain.append(OptionQuote(contract=contract, bid=bid, ask=ask))
        stamps = [quotes[q.contract.symbol][2] for q in chain]
        as_of = min(stamps) if stamps else self._clock.now()  # the stalest quote dates the chain
        return OptionChain(underlying=underlying, expiry=expiry, as_of=as_of, quotes=tuple(chain))

    def _contracts(self, underlying: str, expiry: date) -> list[Any]:

        found: list[Any] = []
        token: str | None = None
        for _ in range(MAX_CONTRACT_PAGES):
            query = GetOptionContractsRequest(
                underlying_symbols=[underlying],
                expiration_date=expiry,
                limit=CONTRACT_PAGE,
                page_token=token,
            )
            raw = self._read("option contracts", partial(_contracts_page, query))
            page, token = parse.parse_contracts_page(raw, underlying=underlying, expiry=expiry)
            found += page
            if token is None:
                return found
        raise BrokerResponseError(f"option contracts: more than {MAX_CONTRACT_PAGES} pages")

    # --- writes (sent once) ----------------------------------------------------------------
    def submit(self, order: OrderRequest) -> BrokerOrder:
        request = alpaca_order(order)
        what = f"submit {order.client_order_id!r}"
        raw = self._write(what, lambda c: c.trading.submit_order(request))
        placed = parse.parse_order(raw, what)
        if placed.client_order_id != order.client_order_id:
            raise BrokerResponseError(
                f"{what}: unexpected answer: client_order_id: {placed.client_order_id!r}"
            )
        return placed

    def cancel(self, broker_order_id: str) -> None:
        try:
            order_id = uuid.UUID(broker_order_id)
        except (ValueError, TypeError, AttributeError):
            raise InvalidInputError(f"not an Alpaca order id: {broker_order_id!r}") from None
        self._write(f"cancel {broker_order_id}", lambda c: c.trading.cancel_order_by_id(order_id))

    def cancel_all(self) -> None:
        raw = self._write("cancel all orders", lambda c: c.trading.cancel_orders())
        answers = parse.validated("cancel all orders", lambda: parse.objects(raw or []))
        failed = [a for a in answers if a.get("status") not in (200, 204)]
        if failed:
            ids = ", ".join(str(a.get("id")) for a in failed)
            raise BrokerUnavailableError(f"cancel all orders: {len(failed)} not canceled: {ids}")

    def close_position(self, symbol: str) -> BrokerOrder:
        what = f"close {symbol}"
        raw = self._write(what, lambda c: c.trading.close_position(symbol))
        return parse.parse_order(raw, what)

    def close_all_positions(self, *, cancel_orders: bool = True) -> list[BrokerOrder]:
        what = "close all positions"
        raw = self._write(what, lambda c: c.trading.close_all_positions(cancel_orders))
        answers = parse.validated(what, lambda: parse.objects(raw or []))
        orders, failures = [], []
        for i, answer in enumerate(answers):
            status = answer.get("status")
            if status == 200:
                orders.append(parse.parse_order(answer.get("body"), f"{what}[{i}]"))
            else:
                failures.append((answer.get("symbol"), status, answer.get("body")))
        if failures:
            text = "; ".join(f"{s}: HTTP {st} {body}" for s, st, body in failures)
            retryable = any(
                isinstance(st, int) and (st >= 500 or st == 429) for _, st, _ in failures
            )
            kind = BrokerUnavailableError if retryable else BrokerRejectedError
            raise kind(f"{what}: {len(failures)} not closed: {text}")
        return orders

    # --- the HTTP calls ------------------------------------------------------------------
    def _read(self, what: str, call: Callable[[_Clients], T]) -> T:
        started = self._monotonic()
        for attempt in range(self._read_retries + 1):
            try:
                return self._signed(what, call)
            except BrokerUnavailableError as exc:
                delay = self._backoff * 2**attempt
                if attempt == self._read_retries or not self._retry_fits(started, delay):
                    raise
                log.warning("alpaca %s: %s; retry %d in %.2fs", what, exc, attempt + 1, delay)
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _retry_fits(self, started: float, delay: float) -> bool:
        """With a read budget, a retry only if it can still time out within it: a quick failure
        (a dropped connection, a 503) is retried, a request that used its whole timeout is not
        (the caller's own loop decides; execute's worst case stays inside its function's)."""
        if self._read_budget is None:
            return True
        spent = self._monotonic() - started
        return spent + delay + request_seconds(self._timeout) <= self._read_budget

    def _write(self, what: str, call: Callable[[_Clients], T]) -> T:
        return self._signed(what, call)

    def _signed(self, what: str, call: Callable[[_Clients], T]) -> T:
        """One request with the current keys; after Alpaca refused the key, once more if the
        secret now holds another pair (a rotation), else the refusal.

        Resending is safe for every call, an order submission included, because of what the
        refusal means: Alpaca answers 401 (or 403 "forbidden") before it authenticates the
        caller, so it has accepted no order and changed nothing. Any other failure of a write
        is not resent here: a submit that timed out or got a 5xx goes back to the caller, whose
        rule is a lookup by client_order_id before anything is sent again."""
        if self._keys.refreshed():  # the cache's max_age passed and the value changed
            self._use_new_keys("the secret's cached value changed")
        try:
            return translated(what, lambda: call(self._clients))
        except KeyRefusedError:
            if not self._keys.rotated_after_refusal():
                raise
        self._use_new_keys(f"{what}: the key was refused and the secret holds a new one")
        return translated(what, lambda: call(self._clients))

    def _use_new_keys(self, why: str) -> None:
        self._clients = self._build_clients()  # one assignment: a concurrent call sees either
        log.warning("alpaca: new API keys in use (%s)", why)


def request_seconds(timeout: float | tuple[float, float]) -> float:
    """The longest one request may take: its connect plus its read timeout."""
    connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    return connect + read


def _latest_quotes(query: OptionLatestQuoteRequest, clients: _Clients) -> Any:
    return clients.data.get_option_latest_quote(query)


def _contracts_page(query: GetOptionContractsRequest, clients: _Clients) -> Any:
    return clients.trading.get_option_contracts(query)
