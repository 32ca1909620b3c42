"""A local emulator of the Massive (Polygon) WebSocket stream, for the real ``WebSocketClient``.

    with MassiveStreamEmulator(api_key="k") as emu:              # ws://127.0.0.1:<port>/stocks
        client = massive.WebSocketClient(api_key="k", feed=emu.feed, market="stocks",
                                         secure=False, subscriptions=["AM.SPY"])
        emu.wait_until(lambda s: "AM.SPY" in s.live_topics, timeout=5)
        emu.publish(bars)                                        # the caller feeds every bar

The vendor's wire format: on connect ``[{"ev":"status","status":"connected",...}]``; the client
sends ``{"action":"auth","params":"<key>"}`` and gets ``auth_success`` or ``auth_failed``; then
``{"action":"subscribe","params":"AM.SPY,AM.QQQ"}`` gets one ``success`` status per topic; then
each frame is a JSON array of events (``AM`` minute aggregates: sym v av op vw o c h l a z s e).
Subscribing before authenticating, an unknown action or a frame that is not JSON gets an
``error`` status, as the vendor answers.

No wall clock: nothing is sent unless the caller publishes it. ``publish`` delivers to every open,
authenticated connection subscribed to the event's topic (``AM.SPY`` or ``AM.*``); an event no
connection wants is *held* (the backlog) and delivered, in order, as soon as a connection
subscribes to its topic: a reconnecting client then receives a burst. ``drop()`` aborts every
connection without a close frame (the client sees 1006 and may reconnect); ``close()`` closes
them cleanly (1000: the client's ``connect()`` returns). ``wait_until`` waits on a condition of
``stats()`` (no sleeping): tests synchronise on what the server saw.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.models import Bar

MINUTE_MS = 60_000
MARKETS = ("stocks", "options", "indices", "forex", "crypto", "futures")
T = TypeVar("T")
_TIMEOUT = 10.0  # how long a call from the caller's thread waits for the server's loop


@dataclass(frozen=True, slots=True)
class StreamStats:
    """What the server has seen so far (a snapshot; ``wait_until`` conditions read it)."""

    connections: int  # accepted since start
    auth_successes: int
    auth_failures: int
    subscribe_actions: int  # successful subscribe messages
    live_topics: frozenset[str]  # topics of the open, authenticated connections
    open_connections: int
    delivered: int  # events sent to clients
    held: int  # events in the backlog


@dataclass(eq=False)
class _Session:
    connection: ServerConnection
    authenticated: bool = False
    topics: set[str] = field(default_factory=set)

    def wants(self, event: dict[str, Any]) -> bool:
        ev = event.get("ev")
        if ev == "status":  # the server's notices go to every session, subscribed or not
            return True
        return f"{ev}.{event.get('sym')}" in self.topics or f"{ev}.*" in self.topics


class _DayTotals:
    """The day-level fields of an AM event (av, op, a) from the bars published so far."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], tuple[float, float, float]] = {}

    def message(self, bar: Bar) -> dict[str, Any]:
        key = (bar.symbol, bar.ts.astimezone(NEW_YORK).date().isoformat())
        vwap = bar.vwap if bar.vwap is not None else bar.close
        volume, notional, day_open = self._by_key.get(key, (0.0, 0.0, bar.open))
        volume, notional = volume + bar.volume, notional + vwap * bar.volume
        self._by_key[key] = (volume, notional, day_open)
        start = int(bar.ts.timestamp() * 1000)
        return {
            "ev": "AM",
            "sym": bar.symbol,
            "v": bar.volume,
            "av": volume,
            "op": day_open,
            "vw": vwap,
            "o": bar.open,
            "c": bar.close,
            "h": bar.high,
            "l": bar.low,
            "a": notional / volume if volume else vwap,
            "z": bar.volume,  # one trade per bar, as the REST emulator's n=1
            "s": start,
            "e": start + MINUTE_MS,
        }


def _status(status: str, message: str) -> dict[str, str]:
    return {"ev": "status", "status": status, "message": message}


class MassiveStreamEmulator:
    def __init__(self, api_key: str = "test-key") -> None:
        self.api_key = api_key
        self._sessions: list[_Session] = []
        self._backlog: deque[dict[str, Any]] = deque()
        self._totals = _DayTotals()
        self._counts = {"connections": 0, "auth_ok": 0, "auth_failed": 0, "subscribes": 0}
        self._delivered = 0
        self._changed = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0

    # --- lifecycle ------------------------------------------------------------------------------
    @property
    def feed(self) -> str:
        """``host:port``: the client's ``feed`` argument (with ``secure=False``)."""
        if self._server is None:
            raise RuntimeError("the stream emulator is not started")
        return f"127.0.0.1:{self._port}"

    def start(self) -> str:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def open_server() -> Server:
            return await serve(self._serve, "127.0.0.1", 0)

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                self._server = loop.run_until_complete(open_server())
                self._port = int(self._server.sockets[0].getsockname()[1])
            finally:
                ready.set()
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="massive-stream-emulator", daemon=True)
        self._thread.start()
        if not ready.wait(_TIMEOUT) or self._server is None:
            raise RuntimeError("the stream emulator did not start")
        return self.feed

    def stop(self) -> None:
        if self._loop is None:
            return
        loop = self._loop
        if self._server is not None:
            self._call(self._shutdown())
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=_TIMEOUT)
        loop.close()
        self._loop = self._server = self._thread = None

    def __enter__(self) -> MassiveStreamEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what the caller does -------------------------------------------------------------------
    def publish(self, items: Iterable[Bar | dict[str, Any]], *, one_frame: bool = False) -> int:
        """Send bars (as AM events) or raw events; returns how many went to a connection now
        (the rest are held for the next subscriber). ``one_frame`` packs them in one array."""
        events = [self._totals.message(i) if isinstance(i, Bar) else i for i in items]
        return self._call(self._publish(events, one_frame))

    def drop(self) -> int:
        """Abort every connection (no close frame); returns how many there were."""
        return self._call(self._end_all(None))

    def close(self, code: int = 1000, reason: str = "") -> int:
        """Close every connection with ``code`` (1000: a clean close)."""
        return self._call(self._end_all((code, reason)))

    def stats(self) -> StreamStats:
        with self._changed:
            return self._stats()

    def wait_until(self, condition: Callable[[StreamStats], bool], timeout: float) -> bool:
        """Block until ``condition(stats())`` holds (True) or ``timeout`` seconds pass (False)."""
        with self._changed:
            return self._changed.wait_for(lambda: condition(self._stats()), timeout=timeout)

    # --- the server's side (on its own loop) ------------------------------------------------------
    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            coroutine.close()
            raise RuntimeError("the stream emulator is not started")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(_TIMEOUT)

    def _stats(self) -> StreamStats:
        live = [s for s in self._sessions if s.authenticated]
        return StreamStats(
            connections=self._counts["connections"],
            auth_successes=self._counts["auth_ok"],
            auth_failures=self._counts["auth_failed"],
            subscribe_actions=self._counts["subscribes"],
            live_topics=frozenset(t for s in live for t in s.topics),
            open_connections=len(self._sessions),
            delivered=self._delivered,
            held=len(self._backlog),
        )

    def _bump(self, counter: str) -> None:
        with self._changed:
            self._counts[counter] += 1
            self._changed.notify_all()

    async def _serve(self, connection: ServerConnection) -> None:
        market = (connection.request.path if connection.request else "").strip("/")
        if market not in MARKETS:
            await connection.close(1008, f"unknown market {market!r}")
            return
        session = _Session(connection)
        with self._changed:
            self._sessions.append(session)
            self._counts["connections"] += 1
            self._changed.notify_all()
        try:
            await self._send(session, [_status("connected", "Connected Successfully")])
            async for frame in connection:
                await self._on_message(session, frame)
        except ConnectionClosed:
            pass  # the client left or was dropped: nothing to answer
        finally:
            self._forget(session)

    async def _on_message(self, session: _Session, frame: str | bytes) -> None:
        try:
            message = json.loads(frame)
            action, params = message["action"], str(message.get("params", ""))
        except (ValueError, TypeError, KeyError):
            await self._send(session, [_status("error", "Invalid message format")])
            return
        if action == "auth":
            if params == self.api_key:
                session.authenticated = True
                self._bump("auth_ok")
                await self._send(session, [_status("auth_success", "authenticated")])
            else:
                self._bump("auth_failed")
                await self._send(session, [_status("auth_failed", "authentication failed")])
        elif action in ("subscribe", "unsubscribe"):
            if not session.authenticated:
                await self._send(session, [_status("error", "not authorized")])
                return
            topics = [t.strip() for t in params.split(",") if t.strip()]
            await self._subscription(session, action, topics)
        else:
            await self._send(session, [_status("error", f"unknown action {action!r}")])

    async def _subscription(self, session: _Session, action: str, topics: list[str]) -> None:
        verb = "subscribed to" if action == "subscribe" else "unsubscribed from"
        with self._changed:
            if action == "subscribe":
                session.topics.update(topics)
                self._counts["subscribes"] += 1
            else:
                session.topics.difference_update(topics)
            self._changed.notify_all()
        await self._send(session, [_status("success", f"{verb}: {t}") for t in topics])
        if action == "subscribe":
            await self._release_backlog(session)

    async def _release_backlog(self, session: _Session) -> None:
        with self._changed:
            wanted = [e for e in self._backlog if session.wants(e)]
            self._backlog = deque(e for e in self._backlog if not session.wants(e))
            self._changed.notify_all()
        if wanted:
            await self._deliver(session, wanted)

    async def _publish(self, events: list[dict[str, Any]], one_frame: bool) -> int:
        live = [s for s in self._sessions if s.authenticated]
        sent = 0
        for chunk in [events] if one_frame else [[e] for e in events]:
            takers = [s for s in live if any(s.wants(e) for e in chunk)]
            for session in takers:
                await self._deliver(session, [e for e in chunk if session.wants(e)])
            with self._changed:
                unwanted = [e for e in chunk if not any(s.wants(e) for s in live)]
                self._backlog.extend(unwanted)
                self._changed.notify_all()
            sent += len(chunk) - len(unwanted)
        return sent

    async def _deliver(self, session: _Session, events: list[dict[str, Any]]) -> None:
        try:
            await self._send(session, events)
        except ConnectionClosed:
            with self._changed:  # it left while we sent: keep the events for the next one
                self._backlog.extend(events)
                self._changed.notify_all()
            return
        with self._changed:
            self._delivered += len(events)
            self._changed.notify_all()

    async def _send(self, session: _Session, events: list[dict[str, Any]]) -> None:
        await session.connection.send(json.dumps(events))

    async def _end_all(self, close: tuple[int, str] | None) -> int:
        with self._changed:
            sessions, self._sessions = self._sessions, []
            self._changed.notify_all()
        for session in sessions:
            if close is None:
                session.connection.transport.abort()
            else:
                await session.connection.close(*close)
        return len(sessions)

    def _forget(self, session: _Session) -> None:
        with self._changed:
            if session in self._sessions:
                self._sessions.remove(session)
            self._changed.notify_all()

    async def _shutdown(self) -> None:
        await self._end_all((1001, "emulator stopping"))
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
