"""A local emulator of the Massive (Polygon) REST API the project uses, for the real client.

    with MassiveEmulator(api_key="k") as emu:      # 127.0.0.1, an ephemeral port
        emu.add_bars(bars)                         # or emu.add_aggs("I:VIX", aggs, timespan="day")
        client = massive.RESTClient(api_key="k", base=emu.base_url)

It lives in the package (not under tests/) because ``make demo`` runs it too. The WebSocket
stream is its sibling, ``maxtrader.emulators.massive_stream``.

Serves ``GET /v2/aggs/ticker/{ticker}/range/{multiplier}/{timespan}/{from}/{to}`` from recorded
aggregates (the vendor's JSON shape: t o h l c v vw n). ``from``/``to`` are epoch milliseconds
(inclusive) or YYYY-MM-DD (whole New York days, inclusive). ``limit`` (default 5000, at most
50000) caps a page; the rest is reached through ``next_url`` (``cursor`` in the query, as the
vendor does). ``sort`` is asc or desc.

Serves ``GET /v3/snapshot/indices?ticker.any_of=I:VIX,...`` too: an index's value is the close of
its latest recorded minute aggregate, ``last_updated`` (nanoseconds) that minute's end; a ticker
with no minute aggregate gets the vendor's per-ticker ``NOT_FOUND`` entry. Nothing reads a wall
clock: what is "latest" is whatever the caller has fed so far.

The key must come as ``Authorization: Bearer <key>``
(what the client sends) or ``?apiKey=<key>``; anything else is a 401 like the vendor's.

``inject(status, body)`` queues canned answers for the next requests (throttling, 5xx, garbage);
``stall()`` makes the next request hang until the emulator stops (client timeouts);
``requests`` records every request's path and query.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlparse
from zoneinfo import ZoneInfo

from maxtrader.domain.models import Bar
from maxtrader.emulators.loopback_http import JsonHandler, LoopbackHTTPServer

NEW_YORK = ZoneInfo("America/New_York")
_ROUTE = re.compile(r"^/v2/aggs/ticker/([^/]+)/range/(\d+)/(minute|hour|day)/([^/]+)/([^/]+)$")
INDEX_SNAPSHOT_PATH = "/v3/snapshot/indices"
MINUTE_MS = 60_000
DEFAULT_LIMIT = 5000
MAX_LIMIT = 50_000


def agg_from_bar(bar: Bar) -> dict[str, Any]:
    """A Bar as the vendor would send it (indices have no volume)."""
    agg: dict[str, Any] = {
        "t": int(bar.ts.timestamp() * 1000),
        "o": bar.open,
        "h": bar.high,
        "l": bar.low,
        "c": bar.close,
    }
    if not bar.symbol.startswith("I:"):
        agg["v"] = bar.volume
        agg["n"] = 1
    if bar.vwap is not None:
        agg["vw"] = bar.vwap
    return agg


class MassiveEmulator:
    def __init__(self, api_key: str = "test-key") -> None:
        self.api_key = api_key
        self.requests: list[str] = []
        self._aggs: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
        self._faults: deque[tuple[int, bytes]] = deque()
        self._stalls = 0
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._server: LoopbackHTTPServer | None = None

    # --- recorded data and faults ------------------------------------------------------------
    def add_aggs(
        self,
        ticker: str,
        aggs: Iterable[dict[str, Any]],
        *,
        multiplier: int = 1,
        timespan: str = "minute",
    ) -> None:
        with self._lock:
            series = self._aggs.setdefault((ticker, multiplier, timespan), [])
            added = sorted(aggs, key=lambda a: a["t"])
            in_order = not series or not added or series[-1]["t"] <= added[0]["t"]
            series.extend(added)
            if not in_order:  # a replay appends minute by minute: no re-sort of the history
                series.sort(key=lambda a: a["t"])

    def add_bars(self, bars: Sequence[Bar], *, timespan: str | None = None) -> None:
        groups: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
        for bar in bars:
            span = timespan or ("day" if bar.minutes == 1440 else "minute")
            mult = 1 if span == "day" else bar.minutes
            groups.setdefault((bar.symbol, mult, span), []).append(agg_from_bar(bar))
        for (ticker, mult, span), aggs in groups.items():
            self.add_aggs(ticker, aggs, multiplier=mult, timespan=span)

    def inject(self, status: int, body: bytes | str | dict[str, Any], *, times: int = 1) -> None:
        raw = json.dumps(body).encode() if isinstance(body, dict) else body
        data = raw.encode() if isinstance(raw, str) else raw
        with self._lock:
            self._faults.extend([(status, data)] * times)

    def stall(self, times: int = 1) -> None:
        """The next ``times`` requests hang (until stop()): a server that never answers."""
        with self._lock:
            self._stalls += times

    # --- server --------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        emulator = self

        class Handler(JsonHandler):
            def do_GET(self) -> None:
                self.send_json(*emulator._answer(self.path, dict(self.headers)))

        self._server = LoopbackHTTPServer(Handler)
        self._server.serve_in_background(poll_interval=0.05)
        return self.base_url

    def stop(self) -> None:
        self._release.set()  # let stalled handlers finish so that shutdown does not wait
        if self._server is not None:
            self._server.stop()
        self._server = None

    def __enter__(self) -> MassiveEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the endpoint --------------------------------------------------------------------------
    def _answer(self, raw_path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        url = urlparse(raw_path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        with self._lock:
            self.requests.append(raw_path)
            fault = self._faults.popleft() if self._faults else None
            stall = self._stalls > 0
            self._stalls -= stall
        if stall:
            self._release.wait()
            return 503, _json({"status": "ERROR", "error": "stalled"})
        bearer = headers.get("Authorization", "")
        if bearer != f"Bearer {self.api_key}" and query.get("apiKey") != self.api_key:
            return 401, _json({"status": "ERROR", "request_id": "emu", "error": "Unknown API Key"})
        if fault is not None:
            return fault
        if url.path == INDEX_SNAPSHOT_PATH:
            return self._index_snapshot(query)
        match = _ROUTE.match(url.path)
        if match is None:
            return 404, _json({"status": "NOT_FOUND", "message": f"no route {url.path}"})
        return self._aggregates(url.path, match, query, headers)

    def _aggregates(
        self, path: str, match: re.Match[str], query: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, bytes]:
        ticker, mult, span, raw_from, raw_to = (unquote(g) for g in match.groups())
        try:
            lo = _instant_ms(raw_from, end=False)
            hi = _instant_ms(raw_to, end=True)
            limit = int(query.get("limit", DEFAULT_LIMIT))
            offset = int(query.get("cursor", 0))
        except ValueError as exc:
            return 400, _json({"status": "ERROR", "request_id": "emu", "error": str(exc)})
        limit = max(1, min(limit, MAX_LIMIT))
        with self._lock:
            series = list(self._aggs.get((ticker, int(mult), span), []))
        selected = [a for a in series if lo <= a["t"] <= hi]
        if query.get("sort") == "desc":
            selected.reverse()
        page = selected[offset : offset + limit]
        body: dict[str, Any] = {
            "ticker": ticker,
            "queryCount": len(selected),
            "resultsCount": len(page),
            "adjusted": query.get("adjusted", "true") == "true",
            "status": "OK",
            "request_id": f"emu-{len(self.requests)}",
        }
        if page:
            body["results"] = page
            body["count"] = len(page)
        if offset + limit < len(selected):
            next_query = {k: v for k, v in query.items() if k != "apiKey"}
            next_query.update(cursor=str(offset + limit), limit=str(limit))
            host = headers.get("Host", "127.0.0.1")
            body["next_url"] = f"http://{host}{path}?{urlencode(next_query)}"
        return 200, _json(body)

    def _index_snapshot(self, query: dict[str, str]) -> tuple[int, bytes]:
        tickers = [t for t in query.get("ticker.any_of", "").split(",") if t]
        results: list[dict[str, Any]] = []
        for ticker in tickers:
            with self._lock:
                series = self._aggs.get((ticker, 1, "minute"), [])
                latest = series[-1] if series else None
            if latest is None:
                results.append({"ticker": ticker, "error": "NOT_FOUND",
                                "message": "Ticker not found."})  # fmt: skip
                continue
            results.append(
                {
                    "ticker": ticker,
                    "name": ticker.removeprefix("I:"),
                    "type": "indices",
                    "market_status": "open",
                    "timeframe": "REAL-TIME",
                    "value": latest["c"],
                    "last_updated": (latest["t"] + MINUTE_MS) * 1_000_000,  # nanoseconds
                    "session": {"open": latest["o"], "high": latest["h"], "low": latest["l"],
                                "close": latest["c"]},
                }
            )  # fmt: skip
        return 200, _json({"status": "OK", "request_id": f"emu-{len(self.requests)}",
                           "results": results})  # fmt: skip


def _instant_ms(text: str, *, end: bool) -> int:
    """Epoch ms as given, or a YYYY-MM-DD New York day (its start, or its last millisecond)."""
    if text.isdigit():
        return int(text)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"Could not parse the time parameter: {text!r}") from None
    start = datetime.combine(day + timedelta(days=1) if end else day, datetime.min.time())
    ms = int(start.replace(tzinfo=NEW_YORK).timestamp() * 1000)
    return ms - 1 if end else ms


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()
