"""Whole stored items of every kind, and what every decoded state promises the engine."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from maxtrader.adapters import dynamodb_items as items
from maxtrader.adapters.dynamodb_items import Item
from maxtrader.domain.models import Direction, Instrument
from maxtrader.domain.safety.state import (
    BreakerName,
    BreakerState,
    HealthState,
    PortfolioState,
    SwitchName,
    SwitchState,
    Ticket,
    TicketStatus,
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


T = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)
TICKET = Ticket(
    client_order_id="mt-sig-entry",
    signal_id="sig",
    strategy="wave_renko",
    symbol="SPY",
    underlying="SPY",
    instrument=Instrument.EQUITY,
    direction=Direction.LONG,
    status=TicketStatus.OPEN,
    reserved_qty=10,
    max_loss=50.0,
    reserved_at=T,
    qty=10,
    avg_price=500.0,
    stop=495.0,
    target=510.0,
    broker_order_id="b-1",
    opened_at=T,
    version=3,
)
# Each decoder, a whole item of its kind (what the store's writers produce), and the attributes
# every writer of that item always writes: a present item lacking one is corrupt.
DECODERS: dict[str, tuple[Callable[[Any], object], Item, tuple[str, ...]]] = {
    "switch": (
        lambda i: items.switch_state(SwitchName.KILL_SWITCH, i),
        items.switch_item(SwitchState(SwitchName.KILL_SWITCH, True, False, "ops", "drill", T, 2)),
        ("on", "automatic", "actor", "reason", "version"),
    ),
    "breaker": (
        lambda i: items.breaker_state(BreakerName.DRAWDOWN, i),
        items.breaker_item(BreakerState(BreakerName.DRAWDOWN, T, T, "dd", (T,), 2)),
        ("events", "version"),
    ),
    "portfolio": (
        items.portfolio_state,
        {
            "slots": items.n(2),
            "exposure": items.n(100.0),
            "last_entry_at": items.ts_value(T),
            "unrealized": items.n(-5.0),
            "peak": items.n(100_000.0),
            "equity": items.n(99_000.0),
            "marks": {"M": {"SPY": items.n(500.0)}},
        },
        ("slots", "exposure"),
    ),
    "entries": (items.entries, {"entries": items.n(3)}, ("entries",)),
    "realized": (items.realized, {"realized": items.n(-12.5)}, ("realized",)),
    "health": (
        items.health_state,
        items.health_item(HealthState(broker_failures=2, checked_at=T, version=4)),
        ("broker_failures", "version"),
    ),
    "ticket": (
        items.ticket,
        items.ticket_item(TICKET),
        (
            "client_order_id",
            "signal_id",
            "strategy",
            "symbol",
            "underlying",
            "instrument",
            "direction",
            "status",
            "reserved_qty",
            "max_loss",
            "reserved_at",
            "qty",
            "avg_price",
            "realized",
            "version",
        ),
    ),
}
# Every attribute name a stored item of some kind has.
ATTRIBUTES = sorted({name for _, item, _ in DECODERS.values() for name in item})
