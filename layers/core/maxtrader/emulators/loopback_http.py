"""The emulators' HTTP server: 127.0.0.1, an ephemeral port, a thread per connection, HTTP/1.1.

    server = LoopbackHTTPServer(Handler)        # Handler: a JsonHandler subclass
    thread = server.serve_in_background()
    ...
    server.stop()                               # and the kept-alive connections with it

Alpaca and Massive answer HTTP/1.1 with persistent connections, and the real clients keep a pool
(requests, urllib3). An HTTP/1.0 emulator made every call a new TCP connection and a new thread:
a broker read went from ~5.6 to ~3.9 ms with keep-alive (measured on the 2-core machine). Nagle
is off: a response is written as headers, then body, and with Nagle on the client's delayed ACK
holds the body ~40 ms. ``stop`` shuts the kept-alive connections down too, so a pooled client
sees a stopped emulator as it would see a dead server, not as one still answering.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["JsonHandler", "LoopbackHTTPServer"]


class JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every answer carries its Content-Length
    disable_nagle_algorithm = True

    def send_json(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: tests read the emulators' own records instead


class LoopbackHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def serve_in_background(self, poll_interval: float = 0.5) -> threading.Thread:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": poll_interval}, daemon=True
        )
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        self.shutdown()
        with self._connections_lock:
            held = list(self._connections)
        for connection in held:
            with contextlib.suppress(OSError):  # closed by its client meanwhile
                connection.shutdown(socket.SHUT_RDWR)
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # --- socketserver hooks --------------------------------------------------------------------
    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout) closes its socket, and writing the late answer then
        # fails: that is the scenario under test, not an emulator error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)
