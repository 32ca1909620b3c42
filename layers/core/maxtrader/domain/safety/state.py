"""The safety layer's state, as plain immutable values the engine and every store share.

These are slotted dataclasses rather than pydantic models: the backtester builds and reads them on
every bar, and they never cross a trust boundary (stores build them from their own items and
reject items of unexpected shape with ``StateUnavailableError``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from maxtrader.domain.errors import MaxTraderError
from maxtrader.domain.models import AuditRecord, Direction, Instrument, OrderIntent, OrderSide


class StateConflictError(MaxTraderError):
    """A conditional write found the state changed under it (a lost race, a stale version).

    Expected under concurrency: the engine re-reads and re-decides. ``reasons`` names the
    conditions that failed when the store can tell (empty when it cannot).
    """

    def __init__(self, message: str, reasons: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.reasons = reasons


class BreakerName(StrEnum):
    RAPID_LOSS = "rapid_loss"
    ERROR_RATE = "error_rate"
    DRAWDOWN = "drawdown"


class SwitchName(StrEnum):
    KILL_SWITCH = "kill_switch"
    SAFE_MODE = "safe_mode"


class TicketStatus(StrEnum):
    """The life of one entry: a slot is held from RESERVED until CLOSED or RELEASED."""

    RESERVED = "reserved"  # approved, written, not yet acknowledged by the broker
    CONFIRMED = "confirmed"  # the broker acknowledged the order
    OPEN = "open"  # at least one entry fill: a position exists
    CLOSED = "closed"  # the position is flat again
    RELEASED = "released"  # the order never filled; its slot and exposure were given back

    @property
    def holds_slot(self) -> bool:
        return self in _HOLDING


_HOLDING = frozenset({TicketStatus.RESERVED, TicketStatus.CONFIRMED, TicketStatus.OPEN})


@dataclass(frozen=True, slots=True)
class SwitchState:
    """Kill switch or safe mode. ``automatic`` marks a safe mode set by a failed health check."""

    name: SwitchName
    on: bool = False
    automatic: bool = False
    actor: str = "system"
    reason: str = ""
    changed_at: datetime | None = None
    version: int = 0


@dataclass(frozen=True, slots=True)
class BreakerState:
    """One circuit breaker: paused while ``now < until``; ``events`` feed the trip rule."""

    name: BreakerName
    until: datetime | None = None
    tripped_at: datetime | None = None
    reason: str = ""
    events: tuple[datetime, ...] = ()
    version: int = 0

    def paused(self, now: datetime) -> bool:
        return self.until is not None and now < self.until

    def expired(self, now: datetime) -> bool:
        """Tripped, pause over, reset not yet recorded."""
        return self.until is not None and now >= self.until


def exposure_cents(amount: float) -> float:
    """An exposure amount as the stores count it: whole cents, rounded up (the counter never
    under-states the risk held). The stores add deltas; a float's binary crumbs
    (403.95000000000005 - 102.00000000000006 - 301.95) would otherwise leave a residue such as
    -1E-14 that DynamoDB's decimal counter keeps for good."""
    cents = math.ceil(round(amount * 100, 6))  # round first: 403.95000000000005 is 40395 cents
    return cents / 100 + 0.0  # + 0.0: no negative zero


@dataclass(frozen=True, slots=True)
class PortfolioState:
    """Counted limits that span days, plus the marks that feed the loss checks and drawdown."""

    slots: int = 0  # open positions + reserved entries
    exposure: float = 0.0  # max loss of open positions + reserved entries
    last_entry_at: datetime | None = None
    unrealized: float = 0.0
    peak_equity: float | None = None
    equity: float | None = None
    marks: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HighWaterMark:
    """The highest marked equity ever seen and the drawdown stop it drives.

    ``halted``: the drawdown from ``value`` reached the limit; entries stay halted until an
    operator re-arms the stop (which re-bases ``value``). Nothing re-bases it automatically.
    """

    value: float | None = None
    halted: bool = False
    reason: str = ""
    actor: str = "system"
    changed_at: datetime | None = None
    version: int = 0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything an entry decision reads, taken in one consistent read."""

    kill_switch: SwitchState
    safe_mode: SwitchState
    breakers: tuple[BreakerState, ...]
    portfolio: PortfolioState
    day_entries: int = 0
    strategy_entries: int = 0
    day_realized: float = 0.0
    week_realized: float = 0.0
    month_realized: float = 0.0
    signal_seen: bool = False
    start_of_day_equity: float | None = None  # what the pre-market run stored for the day
    high_water: HighWaterMark = HighWaterMark()


@dataclass(frozen=True, slots=True)
class SnapshotKeys:
    """Which period counters and which signal a snapshot covers (New York keys)."""

    day: str
    week: str
    month: str
    strategy: str
    signal_id: str


@dataclass(frozen=True, slots=True)
class Ticket:
    """One entry's lifecycle and, once filled, its position: the one position model of the
    system (live and backtest). ``direction`` is the side of the CONTRACT held (LONG = bought:
    a bought put is LONG), not the direction on the underlying; see trading/positions.py."""

    client_order_id: str
    signal_id: str
    strategy: str
    symbol: str
    underlying: str
    instrument: Instrument
    direction: Direction
    status: TicketStatus
    reserved_qty: int
    max_loss: float
    reserved_at: datetime
    qty: int = 0  # open quantity
    avg_price: float = 0.0
    realized: float = 0.0  # this trade's realized P&L, fees included
    stop: float | None = None
    target: float | None = None
    broker_order_id: str | None = None
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    version: int = 1

    @classmethod
    def reserved(cls, intent: OrderIntent, max_loss: float, now: datetime) -> Ticket:
        """The ticket of a newly reserved entry."""
        return cls(
            client_order_id=intent.client_order_id,
            signal_id=intent.signal_id,
            strategy=intent.strategy,
            symbol=intent.symbol,
            underlying=intent.underlying,
            instrument=intent.instrument,
            direction=Direction.LONG if intent.side is OrderSide.BUY else Direction.SHORT,
            status=TicketStatus.RESERVED,
            reserved_qty=intent.qty,
            max_loss=max_loss,
            reserved_at=now,
            stop=intent.stop,
            target=intent.target,
        )

    @property
    def multiplier(self) -> int:
        return 100 if self.instrument is Instrument.OPTION else 1

    def unrealized(self, mark: float | None) -> float:
        """Mark-to-market P&L of the open quantity; zero without a mark (no phantom profit)."""
        if mark is None or self.qty == 0:
            return 0.0
        sign = 1.0 if self.direction is Direction.LONG else -1.0
        return sign * (mark - self.avg_price) * self.qty * self.multiplier


@dataclass(frozen=True, slots=True)
class ReservationGuards:
    """The limits the store re-checks atomically while writing a reservation.

    Kill switch, safe mode and every breaker's pause are re-checked too (against ``now``).
    """

    now: datetime
    max_slots: int  # check 5: slots < max_slots
    exposure_cap: float  # check 11: exposure <= cap (cap = limit - this order's max loss)
    last_entry_cutoff: datetime  # check 8: last_entry_at <= cutoff
    max_day_entries: int  # check 6: day entries < limit
    max_strategy_entries: int  # check 7


@dataclass(frozen=True, slots=True)
class Reservation:
    """An approved entry: the ticket, the counters it bumps and the audit it leaves, all or none."""

    ticket: Ticket
    keys: SnapshotKeys
    guards: ReservationGuards
    audit: tuple[AuditRecord, ...]


@dataclass(frozen=True, slots=True)
class FillApplication:
    """A fill's effect, computed by the core and written by the store atomically.

    ``expected_version`` guards the ticket (a concurrent fill makes this one re-read); the fill id
    guard makes a replayed fill a no-op. A losing close's event is stored in the same write.
    """

    fill_id: str
    ticket: Ticket
    expected_version: int
    realized: float
    day: str
    week: str
    month: str
    slot_delta: int
    exposure_delta: float
    unrealized_delta: float
    loss_at: datetime | None  # a losing close: appended to the rapid-loss breaker's events
    audit: tuple[AuditRecord, ...]


@dataclass(frozen=True, slots=True)
class HealthState:
    """Persisted between health runs: the broker's consecutive failures."""

    broker_failures: int = 0
    checked_at: datetime | None = None
    version: int = 0


@dataclass(frozen=True, slots=True)
class ControlState:
    """The control items the every-minute runs read (the monitor's breakers, marks and gauges;
    health), in one strongly consistent read of ``day`` (a New York trading date).

    Unlike a ``Snapshot`` the items are not one serializable transaction: nothing needs that,
    since every write decided from them is conditioned on what was read (a version, the peak)
    and a concurrent change makes it fail, re-read and decide again.
    """

    day: str
    kill_switch: SwitchState
    safe_mode: SwitchState
    breakers: tuple[BreakerState, ...]  # in ``BreakerName`` order
    portfolio: PortfolioState
    refused_marks: dict[str, str]  # symbol -> why its latest mark was refused
    high_water: HighWaterMark
    health: HealthState
    day_realized: float = 0.0
    start_of_day_equity: float | None = None

    def breaker(self, name: BreakerName) -> BreakerState:
        return self.breakers[_BREAKER_ORDER[name]]


_BREAKER_ORDER = {name: i for i, name in enumerate(BreakerName)}
