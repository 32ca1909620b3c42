"""The emulators' HTTP server: keep-alive as the vendors answer, and a stop that really stops."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from maxtrader.emulators.loopback_http import JsonHandler, LoopbackHTTPServer


class Echo(JsonHandler):
    def do_GET(self) -> None:
        port = self.client_address[1]
        self.send_json(200, f'{{"client_port": {port}}}'.encode())


@pytest.fixture
def server() -> Iterator[LoopbackHTTPServer]:
    served = LoopbackHTTPServer(Echo)
    served.serve_in_background(poll_interval=0.05)
    yield served
    served.stop()


def url(server: LoopbackHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}/"


def test_a_pooled_client_reuses_one_connection(server: LoopbackHTTPServer) -> None:
    with requests.Session() as session:
        answers = [session.get(url(server), timeout=5) for _ in range(3)]
    assert {a.raw.version for a in answers} == {11}  # HTTP/1.1
    assert all(a.headers["Content-Length"] == str(len(a.content)) for a in answers)
    assert len({a.json()["client_port"] for a in answers}) == 1  # one TCP connection


def test_a_stopped_server_does_not_answer_on_a_kept_alive_connection() -> None:
    server = LoopbackHTTPServer(Echo)
    server.serve_in_background(poll_interval=0.05)
    with requests.Session() as session:
        assert session.get(url(server), timeout=5).status_code == 200
        address = url(server)
        server.stop()
        with pytest.raises(requests.ConnectionError):
            session.get(address, timeout=5)
