"""A local emulator of the Alpaca Trading and Market Data APIs, for the real alpaca-py client.

    clock = FixedClock(datetime(2024, 6, 3, 14, 0, tzinfo=UTC))
    with AlpacaEmulator(clock=clock) as emu:                 # 127.0.0.1, a free port
        trading = TradingClient("key", "secret", url_override=emu.base_url)   # no /v2
        data = OptionHistoricalDataClient("key", "secret", url_override=emu.base_url)
        emu.feed_bar(bar)                                    # fills what the bar fills
        emu.list_option(contract); emu.set_option_quote(symbol, bid=1.00, ask=1.10)
        emu.inject("submit_order", Fault.timeout_after_accept())
        emu.count("submit_order")                            # requests seen on a route

Time comes from the injected clock only, so runs are deterministic. The account, the fill rules
and the refusals are in ``alpaca_book.py``; the JSON shapes in ``alpaca_wire.py``.

Routes (name: method path):
    account             GET    /v2/account
    clock               GET    /v2/clock
    calendar            GET    /v2/calendar?start&end
    submit_order        POST   /v2/orders                     422 on a reused client_order_id
    list_orders         GET    /v2/orders?status=open|closed|all&limit&direction&nested&symbols
    get_order           GET    /v2/orders/{order_id}
    order_by_client_id  GET    /v2/orders:by_client_order_id?client_order_id=
    cancel_order        DELETE /v2/orders/{order_id}          204; 422 once no longer open
    cancel_all          DELETE /v2/orders                     207 [{id, status}]
    positions           GET    /v2/positions
    get_position        GET    /v2/positions/{symbol}
    close_position      DELETE /v2/positions/{symbol}         the closing market order
    close_all           DELETE /v2/positions?cancel_orders    207 [{symbol, status, body}]
    option_contracts    GET    /v2/options/contracts?underlying_symbols&expiration_date...
    option_quotes       GET    /v1beta1/options/quotes/latest?symbols=   (at most 100)
Both API keys must come in ``APCA-API-KEY-ID`` / ``APCA-API-SECRET-KEY``, else 401.

Faults (``inject(route, fault, times=1)``: one queue per route, consumed in order):
    Fault.of_status(500 | 429 | 504, after_action=False)   that status, an Alpaca-like body
    Fault.timeout_after_accept()    do the work (an order is accepted), then never answer
    Fault.timeout()                 never answer, do nothing
    Fault.malformed()               do the work, answer 200 with a non-JSON body
    Fault.body(status, raw, after_action=False)          a canned raw answer
    Fault.rewrite(fn)               do the work, answer fn(the real JSON) with the real status
A request left unanswered is released when the emulator stops; the client's timeout fires first.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections import deque
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import Clock
from maxtrader.domain.models import Bar
from maxtrader.domain.options import OptionContract
from maxtrader.emulators import alpaca_wire as wire
from maxtrader.emulators.alpaca_book import AlpacaBook, EmulatedOrder
from maxtrader.emulators.alpaca_faults import Fault, RecordedRequest, faulted
from maxtrader.emulators.alpaca_orders import INVALID, NOT_FOUND, UNAUTHORIZED, AlpacaRefusal
from maxtrader.emulators.loopback_http import JsonHandler, LoopbackHTTPServer

__all__ = ["ROUTE_NAMES", "AlpacaEmulator", "Fault", "RecordedRequest"]

HANG_LIMIT_S = 30.0  # a hung request never outlives this, even if stop() is never called
MAX_QUOTE_SYMBOLS = 100
_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (method, re.compile(pattern), name)
    for method, pattern, name in (
        ("GET", r"/v2/account", "account"),
        ("GET", r"/v2/clock", "clock"),
        ("GET", r"/v2/calendar", "calendar"),
        ("POST", r"/v2/orders", "submit_order"),
        ("GET", r"/v2/orders", "list_orders"),
        ("DELETE", r"/v2/orders", "cancel_all"),
        ("GET", r"/v2/orders:by_client_order_id", "order_by_client_id"),
        ("GET", r"/v2/orders/(?P<id>[^/]+)", "get_order"),
        ("DELETE", r"/v2/orders/(?P<id>[^/]+)", "cancel_order"),
        ("GET", r"/v2/positions", "positions"),
        ("DELETE", r"/v2/positions", "close_all"),
        ("GET", r"/v2/positions/(?P<symbol>[^/]+)", "get_position"),
        ("DELETE", r"/v2/positions/(?P<symbol>[^/]+)", "close_position"),
        ("GET", r"/v2/options/contracts", "option_contracts"),
        ("GET", r"/v1beta1/options/quotes/latest", "option_quotes"),
    )
)
ROUTE_NAMES = frozenset(name for _, _, name in _ROUTES)


class AlpacaEmulator:
    def __init__(
        self,
        *,
        clock: Clock,
        calendar: MarketCalendar | None = None,
        api_key: str = "emulator-key",
        secret_key: str = "emulator-secret",  # noqa: S107 - a local stand-in, not a secret
        cash: float = 100_000.0,
        multiplier: int = 2,
        shorting_enabled: bool = True,
        max_fill_per_bar: int | None = None,
        async_cancels: bool = False,
        option_pricer: Callable[[OptionContract, Bar], tuple[float, float]] | None = None,
    ) -> None:
        self.clock = clock
        self.calendar = calendar or MarketCalendar.xnys()
        self.api_key = api_key
        self.secret_key = secret_key
        self.book = AlpacaBook(
            clock,
            cash=cash,
            multiplier=multiplier,
            shorting_enabled=shorting_enabled,
            market_open=self.calendar.is_open,
        )
        self.book.max_fill_per_bar = max_fill_per_bar
        self.book.async_cancels = async_cancels
        self.option_pricer = option_pricer  # (contract, underlying bar) -> (bid, ask)
        self.requests: list[RecordedRequest] = []
        self._created_at = clock.now()
        self._last_equity = cash
        self._faults: dict[str, deque[Fault]] = {}
        self._lock = threading.RLock()
        self._release = threading.Event()
        self._server: LoopbackHTTPServer | None = None

    # --- what tests and the demo drive -------------------------------------------------------
    def feed_bar(self, bar: Bar) -> list[dict[str, Any]]:
        """Let time pass over one bar; the orders it filled, as Alpaca would show them.

        With an ``option_pricer``, the contracts listed on ``bar.symbol`` are quoted anew from
        the bar first (the demo prices them with the backtester's model)."""
        with self._lock:
            if self.option_pricer is not None:
                for contract in self.book.contracts.values():
                    if contract.underlying == bar.symbol:
                        bid, ask = self.option_pricer(contract, bar)
                        self.book.quotes[contract.symbol] = (bid, ask, self.clock.now())
            return [wire.order(o) for o in self.book.feed_bar(bar)]

    def list_option(self, contract: OptionContract) -> None:
        with self._lock:
            self.book.contracts[contract.symbol] = contract

    def set_option_quote(
        self, symbol: str, *, bid: float, ask: float, at: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Quote a listed contract; the option orders the new quote filled."""
        with self._lock:
            if symbol not in self.book.contracts:
                raise KeyError(f"{symbol} is not a listed contract (list_option it first)")
            self.book.quotes[symbol] = (bid, ask, at or self.clock.now())
            return [wire.order(o) for o in self.book.fill_options()]

    def inject(self, route: str, fault: Fault, *, times: int = 1) -> None:
        if route not in ROUTE_NAMES:
            raise KeyError(f"unknown route {route!r}; routes: {sorted(ROUTE_NAMES)}")
        with self._lock:
            self._faults.setdefault(route, deque()).extend([fault] * times)

    def count(self, route: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.route == route)

    def orders(self, client_order_id: str | None = None) -> list[dict[str, Any]]:
        """Every top-level order held (optionally only those under ``client_order_id``)."""
        with self._lock:
            return [
                wire.order(o)
                for o in self.book.top_level()
                if client_order_id is None or o.client_order_id == client_order_id
            ]

    def positions(self) -> dict[str, int]:
        with self._lock:
            return {s: p.qty for s, p in self.book.positions.items()}

    # --- server ------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        emulator = self

        class Handler(JsonHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                answer = emulator.handle(self.command, self.path, dict(self.headers), raw)
                if answer is None:  # a hung request: the client gives up first
                    emulator._release.wait(HANG_LIMIT_S)
                    self.close_connection = True
                    return
                try:
                    self.send_json(*answer)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_GET = do_POST = do_DELETE = _serve

        self._release.clear()
        self._server = LoopbackHTTPServer(Handler)
        self._server.serve_in_background()
        return self.base_url

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> AlpacaEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- one request -------------------------------------------------------------------------
    def handle(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, bytes] | None:
        """The (status, body) to answer, or None to leave the request hanging."""
        url = urlparse(target)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        route, params = _match(method, url.path)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        with self._lock:
            self.requests.append(RecordedRequest(method, route, url.path, query, body))
            if not self._authorized(headers):  # before any fault: a 401 consumes none
                return 401, _json(wire.error(UNAUTHORIZED, "request is not authorized"))
            queue = self._faults.get(route)
            fault = queue.popleft() if queue else None
        if fault is not None and not fault.after_action:
            if fault.hang:
                return None
            return faulted(fault)
        status, payload = self._dispatch(route, params, query, body)
        if fault is None:
            return status, _json(payload)
        if fault.hang:
            return None
        if fault.transform is not None:
            return status, _json(fault.transform(payload))
        return faulted(fault)

    def _authorized(self, headers: dict[str, str]) -> bool:
        lowered = {k.lower(): v for k, v in headers.items()}
        return (
            lowered.get("apca-api-key-id") == self.api_key
            and lowered.get("apca-api-secret-key") == self.secret_key
        )

    def _dispatch(
        self, route: str, params: dict[str, str], query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        handler = getattr(self, f"_route_{route}", None)
        if handler is None:
            return 404, wire.error(NOT_FOUND, "endpoint not found")
        try:
            with self._lock:
                result: tuple[int, Any] = handler(params=params, query=query, body=body)
                return result
        except AlpacaRefusal as refusal:
            return refusal.status, wire.error(refusal.code, refusal.message)

    # --- routes (each runs under the lock) -----------------------------------------------------
    def _route_account(self, **_: Any) -> tuple[int, Any]:
        return 200, wire.account(
            self.book, created_at=self._created_at, last_equity=self._last_equity
        )

    def _route_clock(self, **_: Any) -> tuple[int, Any]:
        return 200, wire.clock(self.clock.now(), self.calendar)

    def _route_calendar(self, *, query: dict[str, str], **_: Any) -> tuple[int, Any]:
        start = _day(query.get("start")) or self.calendar.first_day
        end = _day(query.get("end")) or self.calendar.last_day
        return 200, [wire.calendar_day(s) for s in self.calendar.sessions_between(start, end)]

    def _route_submit_order(self, *, body: Any, **_: Any) -> tuple[int, Any]:
        return 200, wire.order(self.book.submit(body))

    def _route_list_orders(self, *, query: dict[str, str], **_: Any) -> tuple[int, Any]:
        status = query.get("status", "open")
        if status not in ("open", "closed", "all"):
            raise AlpacaRefusal(422, INVALID, f"invalid status: {status}")
        nested = query.get("nested", "false").lower() == "true"
        symbols = set(filter(None, query.get("symbols", "").split(",")))
        limit = min(int(query.get("limit", "50")), 500)

        def is_open(o: EmulatedOrder) -> bool:  # nested: a bracket with a working leg is open
            return o.is_open or (nested and any(leg.is_open for leg in o.legs))

        chosen = [
            o
            for o in self.book.orders.values()
            if (o.parent_id is None or not nested)
            and (status == "all" or is_open(o) == (status == "open"))
            and (not symbols or o.symbol in symbols)
        ]
        newest_first = query.get("direction") != "asc"  # ties: the later submission is newer
        ranked = sorted(enumerate(chosen), key=lambda io: (io[1].submitted_at, io[0]))
        ordered = [o for _, o in (reversed(ranked) if newest_first else ranked)]
        return 200, [wire.order(o, nested=nested) for o in ordered[:limit]]

    def _route_get_order(self, *, params: dict[str, str], query: dict[str, str], **_: Any) -> Any:
        nested = query.get("nested", "true").lower() == "true"
        return 200, wire.order(self.book.order(params["id"]), nested=nested)

    def _route_order_by_client_id(self, *, query: dict[str, str], **_: Any) -> tuple[int, Any]:
        return 200, wire.order(self.book.order_by_client_id(query.get("client_order_id", "")))

    def _route_cancel_order(self, *, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        self.book.cancel(params["id"])
        return 204, None

    def _route_cancel_all(self, **_: Any) -> tuple[int, Any]:
        return 207, [{"id": order_id, "status": 200} for order_id in self.book.cancel_all()]

    def _route_positions(self, **_: Any) -> tuple[int, Any]:
        return 200, [wire.position(self.book, p) for p in self.book.positions.values()]

    def _route_get_position(self, *, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        return 200, wire.position(self.book, self.book.position(params["symbol"]))

    def _route_close_position(self, *, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        return 200, wire.order(self.book.close_position(params["symbol"]))

    def _route_close_all(self, *, query: dict[str, str], **_: Any) -> tuple[int, Any]:
        if query.get("cancel_orders", "false").lower() == "true":
            self.book.cancel_all(at_once=True)
        answers = []
        for symbol in list(self.book.positions):
            try:
                order = self.book.close_position(symbol)
                answers.append({"symbol": symbol, "status": 200, "body": wire.order(order)})
            except AlpacaRefusal as refusal:
                body = {**wire.error(refusal.code, refusal.message), "symbol": symbol}
                answers.append({"symbol": symbol, "status": refusal.status, "body": body})
        return 207, answers

    def _route_option_contracts(self, *, query: dict[str, str], **_: Any) -> tuple[int, Any]:
        underlyings = set(filter(None, query.get("underlying_symbols", "").split(",")))
        expiry = _day(query.get("expiration_date"))
        chosen = sorted(
            (
                c
                for c in self.book.contracts.values()
                if (not underlyings or c.underlying in underlyings)
                and (expiry is None or c.expiry == expiry)
                and query.get("type") in (None, c.right.value)
            ),
            key=lambda c: (c.expiry, c.symbol),
        )
        limit = min(int(query.get("limit", "100")), 10_000)
        offset = int(base64.b64decode(query["page_token"])) if "page_token" in query else 0
        page = chosen[offset : offset + limit]
        more = offset + limit < len(chosen)
        token = base64.b64encode(str(offset + limit).encode()).decode() if more else None
        return 200, {
            "option_contracts": [wire.option_contract(c) for c in page],
            "next_page_token": token,
        }

    def _route_option_quotes(self, *, query: dict[str, str], **_: Any) -> tuple[int, Any]:
        symbols = [s for s in query.get("symbols", "").split(",") if s]
        if not symbols:
            raise AlpacaRefusal(400, INVALID, "missing symbols")
        if len(symbols) > MAX_QUOTE_SYMBOLS:
            raise AlpacaRefusal(400, INVALID, f"too many symbols (max {MAX_QUOTE_SYMBOLS})")
        quotes = {
            s: wire.option_quote(*self.book.quotes[s]) for s in symbols if s in self.book.quotes
        }
        return 200, {"quotes": quotes}


def _match(method: str, path: str) -> tuple[str, dict[str, str]]:
    for route_method, pattern, name in _ROUTES:
        found = pattern.fullmatch(path)
        if found and route_method == method:
            return name, found.groupdict()
    return "unknown", {}


def _json(payload: Any) -> bytes:
    return b"" if payload is None else json.dumps(payload).encode()


def _day(raw: str | None) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise AlpacaRefusal(422, INVALID, f"invalid date: {raw}") from None
