"""The relay: Massive's minute aggregates (WebSocket) -> signed POSTs to the ingest URL.

    relay = Relay(RelaySettings(symbols=("SPY", "QQQ"), ingest_url="https://..."),
                  api_key=key_source, ingest_secret=secret_source)
    await relay.run(stop)                      # until ``stop`` (an asyncio.Event) is set

One task holds the stream (``massive.WebSocketClient``, raw frames, ``AM.<symbol>`` topics);
another forwards: up to ``batch_size`` bars per POST, the body a JSON array of the vendor's own
AM events, signed by ``maxtrader.webhook.sign`` in ``X-MaxTrader-Signature``.

Every reconnect is the relay's own, with jittered exponential backoff: the client is told not to
reconnect (``max_reconnects=0``, and a ``reconnect_delays`` that refuses), because a clean close
(1000) makes its ``connect()`` return for good and its own retries sleep on the wall clock. An
auth failure asks the key source for a fresh key (``force_refresh=True``: a rotated secret), as a
401 from ingest does for the webhook secret.

No bar it received is lost: a bar leaves the buffer only when a POST carrying it was answered
2xx; a failed POST (unreachable, timeout, 5xx, 429, 401) is retried with backoff, across any
number of reconnects. Two exceptions, each logged as an error with the count: the buffer is
bounded (``max_buffer``; beyond it the oldest bars go, as the REST poll refills old minutes), and
a 400/413 (the ingest refuses the content itself, so a retry cannot help) drops that batch. A bar
the relay already forwarded (same symbol and start) is skipped, so a replayed frame is not
posted twice. Events that fail the AM model are logged and skipped, never forwarded.

Neither the API key nor the webhook secret is ever logged: the ``websockets`` protocol logger,
which would print the auth frame at DEBUG, is held at INFO while the relay runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Coroutine, Generator
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlparse

import massive
import urllib3
from pydantic import ValidationError
from websockets.exceptions import WebSocketException

from maxtrader.data.push import MinuteAggregate
from maxtrader.domain.errors import InvalidInputError, MaxTraderError
from maxtrader.webhook import SIGNATURE_HEADER, sign

log = logging.getLogger("maxtrader.relay")

SecretSource = Callable[[bool], str]  # force_refresh -> the current value
Sleep = Callable[[float], Coroutine[Any, Any, None]]
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_OK_STATUSES = {"connected", "auth_success", "success"}
_SEEN_KEYS = 20_000  # (symbol, start) pairs remembered to skip replays: days of two symbols


class Poster(Protocol):
    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        """POST ``body``; (status, start of the answer). Raises ``PostFailedError``."""
        ...


class PostFailedError(Exception):
    """The POST got no HTTP answer (refused, reset, timed out)."""


class _ConnectFailedError(Exception):
    """The stream could not be opened; its cause is the client's exception."""


@dataclass(frozen=True, slots=True)
class RelaySettings:
    symbols: tuple[str, ...]
    ingest_url: str
    feed: str = "socket.massive.com"  # host[:port] of the vendor's stream
    market: str = "stocks"
    secure: bool = True  # wss://; False only for the local emulator
    batch_size: int = 100  # bars per POST (an AM event is ~250 bytes: far below 256 KB)
    linger_seconds: float = 0.2  # wait this long for more bars (the minute's other symbols)
    max_buffer: int = 10_000  # unsent bars held before the oldest are dropped
    post_timeout_seconds: float = 10.0
    backoff_base_seconds: float = 1.0
    backoff_cap_seconds: float = 60.0

    def __post_init__(self) -> None:
        if not self.symbols or any(not s or "," in s or "." in s for s in self.symbols):
            raise InvalidInputError(f"symbols must be plain tickers, not {self.symbols!r}")
        url = urlparse(self.ingest_url)
        if url.scheme not in ("https", "http") or not url.hostname:
            raise InvalidInputError(f"ingest URL {self.ingest_url!r} is not an http(s) URL")
        if url.scheme == "http" and url.hostname not in _LOOPBACK:
            raise InvalidInputError("the ingest URL must be https (plain http only to loopback)")
        feed_host = urlparse(f"//{self.feed}").hostname
        if not self.secure and feed_host not in _LOOPBACK:
            raise InvalidInputError("the stream must be wss:// (plain ws:// only to loopback)")
        if self.batch_size < 1 or self.max_buffer < self.batch_size:
            raise InvalidInputError("batch_size must be >= 1 and max_buffer >= batch_size")
        if not 0 < self.backoff_base_seconds <= self.backoff_cap_seconds:
            raise InvalidInputError("backoff must satisfy 0 < base <= cap")


@dataclass(slots=True)
class RelayStats:
    connections: int = 0  # connect() attempts
    sessions: int = 0  # connections that got past auth and subscribed
    auth_failures: int = 0
    received: int = 0  # valid AM events taken into the buffer
    replays_skipped: int = 0
    invalid: int = 0
    posted: int = 0  # bars the ingest acknowledged
    posts: int = 0
    post_failures: int = 0
    rejected: int = 0  # bars in batches refused with 400/413
    dropped: int = 0  # bars dropped because the buffer was full
    reconnect_delays: list[float] = field(default_factory=list)  # stream backoffs, in order
    retry_delays: list[float] = field(default_factory=list)  # POST backoffs, in order


def backoff_delay(attempt: int, base: float, cap: float, rand: float) -> float:
    """Exponential in ``attempt`` (0, 1, ...), capped, with "equal jitter": half fixed, half
    random, so that many relays restarting together spread out but never retry at once."""
    ceiling = min(cap, base * 2.0 ** min(attempt, 32))
    return ceiling / 2 + rand * ceiling / 2


def urllib3_poster(timeout: float) -> Poster:
    pool = urllib3.PoolManager(timeout=urllib3.Timeout(total=timeout), retries=False)

    def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        try:
            response = pool.request("POST", url, body=body, headers=headers)
        except urllib3.exceptions.HTTPError as exc:
            raise PostFailedError(str(exc)) from exc
        return response.status, response.data[:300].decode("utf-8", "replace")

    return post


def _refuse_client_retries() -> Generator[float]:
    # websockets asks for a delay before its own retry: refusing ends the client's connect()
    # with this error (its context is the failure), and the relay decides when to retry.
    raise _ConnectFailedError("could not open the stream")
    yield 0.0  # pragma: no cover - makes this a generator


class Relay:
    def __init__(
        self,
        settings: RelaySettings,
        *,
        api_key: SecretSource,
        ingest_secret: SecretSource,
        poster: Poster | None = None,
        sleep: Sleep = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        unix_time: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.stats = RelayStats()
        self._api_key = api_key
        self._ingest_secret = ingest_secret
        self._post = poster or urllib3_poster(settings.post_timeout_seconds)
        self._sleep = sleep
        self._rand = rand
        self._unix_time = unix_time
        self._buffer: deque[dict[str, Any]] = deque()
        self._in_flight: list[dict[str, Any]] = []
        self._seen: set[tuple[str, int]] = set()
        self._seen_order: deque[tuple[str, int]] = deque()
        self._arrived = asyncio.Event()
        self._established = False

    @property
    def pending(self) -> int:
        """Bars received and not yet acknowledged by the ingest."""
        return len(self._buffer) + len(self._in_flight)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set, then try once to hand on what is still buffered."""
        websockets_log = logging.getLogger("websockets")
        previous = websockets_log.level
        websockets_log.setLevel(max(previous, logging.INFO))  # DEBUG would print the auth frame
        try:
            tasks = {
                asyncio.create_task(self._stream(stop), name="relay-stream"),
                asyncio.create_task(self._forward(stop), name="relay-forward"),
            }
            # Either ends early only by a bug: stop the other rather than stream into a buffer
            # nobody drains (or drain one nobody fills). The error then ends the run.
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            stop.set()
            self._arrived.set()
            await asyncio.gather(*tasks)
        finally:
            websockets_log.setLevel(previous)
        if self.pending:
            log.error("relay stopped with %d bar(s) not handed on", self.pending)

    # --- the stream ---------------------------------------------------------------------------
    async def _stream(self, stop: asyncio.Event) -> None:
        attempt = 0
        refresh_key = False
        while not stop.is_set():
            outcome, refresh_key = await self._one_connection(stop, refresh_key)
            if stop.is_set():
                return
            if self._established:
                attempt = 0  # it worked for a while: start the backoff again
            delay = self._delay(attempt, self.stats.reconnect_delays)
            attempt += 1
            log.warning("stream %s; reconnecting in %.1f s", outcome, delay)
            await self._wait(delay, stop)

    async def _one_connection(self, stop: asyncio.Event, refresh_key: bool) -> tuple[str, bool]:
        """Run one connection to its end; (what ended it, whether the key must be refetched)."""
        self._established = False
        try:
            api_key = self._api_key(refresh_key)
        except MaxTraderError as exc:  # e.g. Secrets Manager unreachable: try again later
            return f"not started: the API key could not be read ({exc})", refresh_key
        self.stats.connections += 1
        client = massive.WebSocketClient(
            api_key=api_key,
            feed=self.settings.feed,
            market=self.settings.market,
            secure=self.settings.secure,
            raw=True,
            subscriptions=[f"AM.{s}" for s in self.settings.symbols],
            max_reconnects=0,
        )
        connect = asyncio.create_task(
            client.connect(self._on_frame, reconnect_delays=_refuse_client_retries)
        )
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({connect, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not connect.done():
            await _close(client, connect)
        try:
            connect.result()
        except massive.AuthError:
            self.stats.auth_failures += 1
            log.error("the Massive API key was refused; fetching it again before retrying")
            return "authentication failed", True
        except _ConnectFailedError as exc:
            return f"could not connect ({_cause(exc)})", False
        except (WebSocketException, OSError, TimeoutError) as exc:
            return f"dropped ({type(exc).__name__}: {exc})", False
        except asyncio.CancelledError:
            return "cancelled", False
        return "closed by the server", False

    async def _on_frame(self, frame: str | bytes) -> None:
        self.take_frame(frame)

    def take_frame(self, frame: str | bytes) -> None:
        """One raw frame from the stream: its valid AM events go to the buffer; never raises."""
        if not self._established:
            self._established = True  # a frame after auth: the subscriptions were sent
            self.stats.sessions += 1
        try:
            events = json.loads(frame)
        except ValueError:
            self.stats.invalid += 1
            log.warning("stream frame is not JSON; skipped")
            return
        for event in events if isinstance(events, list) else [events]:
            self._take(event)

    def _take(self, event: Any) -> None:
        if not isinstance(event, dict):
            self.stats.invalid += 1
            return
        if event.get("ev") == "status":
            if event.get("status") not in _OK_STATUSES:
                log.warning("stream status %s: %s", event.get("status"), event.get("message"))
            return
        if event.get("ev") != "AM":
            return
        try:
            aggregate = MinuteAggregate.model_validate(event)
        except ValidationError as exc:
            self.stats.invalid += 1
            log.warning("invalid AM event skipped: %s", exc.errors(include_url=False)[0])
            return
        key = (aggregate.sym, aggregate.s)
        if key in self._seen:
            self.stats.replays_skipped += 1
            return
        self._remember(key)
        self._buffer.append(event)
        self.stats.received += 1
        if len(self._buffer) > self.settings.max_buffer:
            lost = self._buffer.popleft()
            self.stats.dropped += 1
            log.error(
                "relay buffer full (%d bars unsent): dropped the oldest, %s at %s (%d so far)",
                self.settings.max_buffer, lost.get("sym"), lost.get("s"), self.stats.dropped,
            )  # fmt: skip
        self._arrived.set()

    def _remember(self, key: tuple[str, int]) -> None:
        self._seen.add(key)
        self._seen_order.append(key)
        if len(self._seen_order) > _SEEN_KEYS:
            self._seen.discard(self._seen_order.popleft())

    # --- forwarding ---------------------------------------------------------------------------
    async def _forward(self, stop: asyncio.Event) -> None:
        attempt = 0
        refresh_secret = False
        while True:
            if not self._in_flight:
                if not self._buffer:
                    if stop.is_set():
                        return
                    self._arrived.clear()
                    await self._arrived.wait()
                    continue
                await self._linger(stop)
                count = min(self.settings.batch_size, len(self._buffer))
                self._in_flight = [self._buffer.popleft() for _ in range(count)]
            ok, refresh_secret = await self._post_batch(refresh_secret)
            if ok:
                self._in_flight = []
                attempt = 0
                continue
            if stop.is_set():
                return  # the run logs what is left
            delay = self._delay(attempt, self.stats.retry_delays)
            attempt += 1
            await self._wait(delay, stop)

    async def _linger(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.linger_seconds
        while len(self._buffer) < self.settings.batch_size and not stop.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    async def _post_batch(self, refresh_secret: bool) -> tuple[bool, bool]:
        """POST the in-flight batch; (acknowledged, whether the secret must be refetched)."""
        batch = self._in_flight
        body = json.dumps(batch, separators=(",", ":")).encode()
        try:
            signature = sign(body, self._ingest_secret(refresh_secret), int(self._unix_time()))
        except MaxTraderError as exc:  # unreadable (Secrets Manager down) or empty
            log.warning("the webhook secret could not be used (%s); will retry", exc)
            return False, True
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature}
        self.stats.posts += 1
        try:
            status, answer = await asyncio.to_thread(
                self._post, self.settings.ingest_url, body, headers
            )
        except PostFailedError as exc:
            self.stats.post_failures += 1
            log.warning("POST of %d bar(s) failed: %s; will retry", len(batch), exc)
            return False, False
        if 200 <= status < 300:
            self.stats.posted += len(batch)
            log.debug("ingest took %d bar(s): %s", len(batch), answer)
            return True, False
        if status in (400, 413):
            self.stats.rejected += len(batch)
            log.error("ingest refused %d bar(s) with %d: %s; dropped", len(batch), status, answer)
            return True, False
        self.stats.post_failures += 1
        log.warning("ingest answered %d to %d bar(s): %s; will retry", status, len(batch), answer)
        return False, status == 401

    # --- shared -------------------------------------------------------------------------------
    def _delay(self, attempt: int, record: list[float]) -> float:
        s = self.settings
        delay = backoff_delay(attempt, s.backoff_base_seconds, s.backoff_cap_seconds, self._rand())
        record.append(delay)
        return delay

    async def _wait(self, delay: float, stop: asyncio.Event) -> None:
        sleeping = asyncio.create_task(self._sleep(delay))
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({sleeping, stopping}, return_when=asyncio.FIRST_COMPLETED)
        for task in (sleeping, stopping):
            task.cancel()


async def _close(client: Any, connect: asyncio.Task[None]) -> None:
    """Stop a running client: a clean close if it is connected, else cancel the attempt."""
    if client.websocket is not None:
        with contextlib.suppress(Exception):
            await client.close()
    try:
        await asyncio.wait_for(asyncio.shield(connect), timeout=5)
    except Exception:
        connect.cancel()
        with contextlib.suppress(BaseException):
            await connect


def _cause(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    return f"{type(cause).__name__}: {cause}" if cause else str(exc)
