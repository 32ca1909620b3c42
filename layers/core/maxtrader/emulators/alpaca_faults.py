"""Faults the Alpaca emulator injects on demand, and the record of the requests it saw."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_STATUS_BODIES = {
    429: {"code": 42910000, "message": "rate limit exceeded"},
    500: {"code": 50010000, "message": "internal server error occurred"},
    503: {"code": 50310000, "message": "service unavailable"},
    504: {"code": 50410000, "message": "gateway timeout"},
}


@dataclass(frozen=True, slots=True)
class Fault:
    status: int | None = None  # answer with this status (None: the real one)
    raw: bytes | None = None  # answer this body (None: an Alpaca-like one for the status)
    hang: bool = False  # never answer
    after_action: bool = False  # do the work first
    transform: Callable[[Any], Any] | None = None

    @classmethod
    def of_status(cls, status: int, *, after_action: bool = False) -> Fault:
        return cls(status=status, after_action=after_action)

    @classmethod
    def timeout_after_accept(cls) -> Fault:
        return cls(hang=True, after_action=True)

    @classmethod
    def timeout(cls) -> Fault:
        return cls(hang=True)

    @classmethod
    def malformed(cls, raw: bytes = b"<html><body>502 Bad Gateway</body></html>") -> Fault:
        return cls(status=200, raw=raw, after_action=True)

    @classmethod
    def body(cls, status: int, raw: bytes | str, *, after_action: bool = False) -> Fault:
        data = raw.encode() if isinstance(raw, str) else raw
        return cls(status=status, raw=data, after_action=after_action)

    @classmethod
    def rewrite(cls, transform: Callable[[Any], Any]) -> Fault:
        return cls(after_action=True, transform=transform)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    route: str
    path: str
    query: dict[str, str]
    body: Any


def faulted(fault: Fault) -> tuple[int, bytes]:
    status = fault.status or 500
    if fault.raw is not None:
        return status, fault.raw
    body = _STATUS_BODIES.get(status, {"code": status * 100_000, "message": "emulated fault"})
    return status, json.dumps(body).encode()
