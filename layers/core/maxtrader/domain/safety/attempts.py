"""Attempting a read-decide-write again after a conflict (the state moved underneath).

retrying(attempts, action)      action() again after each StateConflictError
first_then(known, read)         what the caller already read, then fresh reads
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from maxtrader.domain.errors import StateUnavailableError
from maxtrader.domain.safety.state import StateConflictError

T = TypeVar("T")

__all__ = ["first_then", "retrying"]


def retrying(attempts: int, action: Callable[[], T]) -> T:
    """Run ``action`` again after a StateConflictError (it re-reads); give up as unavailable."""
    for _ in range(attempts):
        try:
            return action()
        except StateConflictError:
            continue
    raise StateUnavailableError(f"state kept changing underneath ({attempts} attempts)")


def first_then(known: T | None, read: Callable[[], T]) -> Callable[[], T]:
    """``known`` (what the caller already read) for the first attempt, a fresh ``read`` for
    every attempt after a conflict (the state moved: what was known is stale)."""
    pending = [known] if known is not None else []

    def get() -> T:
        return pending.pop() if pending else read()

    return get
