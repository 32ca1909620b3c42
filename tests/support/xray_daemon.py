"""A UDP "X-Ray daemon" on 127.0.0.1: the segments a traced child process sends, as text."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest


@pytest.fixture
def daemon() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)  # the child has exited: only what is already buffered is read
    yield sock
    sock.close()


def received(sock: socket.socket) -> str:
    out = []
    while True:
        try:
            out.append(sock.recv(1 << 16).decode())
        except TimeoutError:
            return "".join(out)
