"""The one clock every function's adapters are built with.

Lambda runs on the wall clock. ``maxtrader simulate`` and the tests swap in a ``FixedClock``
with ``use_clock``: the adapters built earlier see the swap too, because they were handed this
delegating clock, never the wall clock itself.
"""

from __future__ import annotations

from datetime import datetime

from maxtrader.domain.clock import Clock, SystemClock


class SwitchableClock:
    def __init__(self, delegate: Clock | None = None) -> None:
        self._delegate: Clock = delegate or SystemClock()

    def now(self) -> datetime:
        return self._delegate.now()

    def use(self, delegate: Clock) -> None:
        self._delegate = delegate

    @property
    def delegate(self) -> Clock:
        return self._delegate


RUNTIME_CLOCK = SwitchableClock()


def runtime_clock() -> SwitchableClock:
    return RUNTIME_CLOCK


def use_clock(delegate: Clock) -> None:
    """Every function's "now" from here on (the simulator's and the tests' clock)."""
    RUNTIME_CLOCK.use(delegate)
