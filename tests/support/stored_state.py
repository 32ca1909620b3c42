"""What every decoded safety state promises the engine: nothing that loosens a limit."""

from __future__ import annotations

import math

from maxtrader.domain.safety.state import (
    BreakerState,
    HealthState,
    PortfolioState,
    SwitchState,
    Ticket,
)
from maxtrader.domain.strategy_names import KNOWN_STRATEGIES


def assert_in_range(state: object) -> None:
    """What every decoded state promises the engine (nothing that loosens a limit)."""
    if isinstance(state, PortfolioState):
        assert state.slots >= 0 and state.exposure >= 0 and math.isfinite(state.exposure)
        assert math.isfinite(state.unrealized)
        for value in (state.peak_equity, state.equity, *state.marks.values()):
            assert value is None or (math.isfinite(value) and value > 0)
    elif isinstance(state, Ticket):
        assert state.strategy in KNOWN_STRATEGIES
        assert state.reserved_qty >= 1 and state.qty >= 0 and state.version >= 1
        assert state.max_loss >= 0 and state.avg_price >= 0 and math.isfinite(state.realized)
        assert all(v is None or v > 0 for v in (state.stop, state.target))
    elif isinstance(state, SwitchState | BreakerState | HealthState):
        assert state.version >= 1
        if isinstance(state, HealthState):
            assert state.broker_failures >= 0
    elif isinstance(state, int):
        assert state >= 0  # an entry counter
    elif isinstance(state, float):
        assert math.isfinite(state)  # realized P&L
