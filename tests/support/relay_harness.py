"""Test harness for the relay: a receiver that verifies signatures like the ingest will, the
relay's injectable sleep as a gate the test opens, and a relay running on its own thread.

Every wait is on a condition with a bounded timeout; nothing sleeps on the wall clock.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from maxtrader.domain.models import Bar
from maxtrader.relay import Relay
from maxtrader.webhook import SIGNATURE_HEADER, WebhookSignatureError, verify

NOW = 1_717_423_200.0  # the relay's and the receiver's shared (fixed) clock
WAIT = 10.0
OPEN = datetime(2024, 6, 3, 13, 30, tzinfo=UTC)  # 09:30 New York


def bars_of(symbol: str, first: int, count: int) -> list[Bar]:
    out = []
    for i in range(first, first + count):
        price = 500 + i * 0.1
        out.append(Bar(symbol=symbol, ts=OPEN + timedelta(minutes=i), open=price,
                       high=price + 0.5, low=price - 0.5, close=price + 0.2, volume=1000 + i,
                       vwap=price + 0.1))  # fmt: skip
    return out


class Receiver:
    """The ingest's stand-in: verifies signatures, records (symbol, start), can fail on demand."""

    def __init__(self, secret: str, clock: Callable[[], float] = lambda: NOW) -> None:
        self.secret = secret
        self.clock = clock
        self.received: list[tuple[str, int]] = []  # bars in accepted posts, in arrival order
        self.seen: set[tuple[str, int]] = set()  # bars in any signed post, refused ones too
        self.bad_signatures = 0
        self.posts = 0
        self._faults: list[int] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver.handle(self.headers.get(SIGNATURE_HEADER), body)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/ingest"

    def fail(self, *statuses: int) -> None:
        with self._changed:
            self._faults.extend(statuses)

    def handle(self, header: str | None, body: bytes) -> int:
        with self._changed:
            self.posts += 1
            self._changed.notify_all()
            try:
                verify(header, body, self.secret, now=self.clock())
            except WebhookSignatureError:
                self.bad_signatures += 1
                return 401
            bars = [(e["sym"], e["s"]) for e in json.loads(body)]
            self.seen.update(bars)
            if self._faults:
                return self._faults.pop(0)
            self.received.extend(bars)
            self._changed.notify_all()
            return 200

    def wait_for(self, condition: Callable[[Receiver], bool]) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: condition(self), timeout=WAIT)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Gate:
    """The relay's sleep: returns at once, or blocks (off the loop) until the test opens it."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.open.set()
        self.waiting = threading.Condition()
        self.sleepers = 0

    async def sleep(self, delay: float) -> None:
        with self.waiting:
            self.sleepers += 1
            self.waiting.notify_all()
        await asyncio.to_thread(self.open.wait, WAIT)

    def wait_sleepers(self, count: int) -> bool:
        with self.waiting:
            return self.waiting.wait_for(lambda: self.sleepers >= count, timeout=WAIT)


class RunningRelay:
    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self._runner = asyncio.Runner()  # like asyncio.run: leftover tasks are cancelled at the end
        self._loop = self._runner.get_loop()
        self._stop = asyncio.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._runner.run(self.relay.run(self._stop))
        except BaseException as exc:
            self.error = exc
        finally:
            self._runner.close()

    def ended(self, timeout: float = WAIT) -> bool:
        """Whether the run ended by itself within ``timeout``."""
        self._thread.join(timeout=timeout)
        return not self._thread.is_alive()

    def stop(self) -> None:
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=WAIT)
        assert not self._thread.is_alive(), "the relay did not stop"
        assert self.error is None, self.error
