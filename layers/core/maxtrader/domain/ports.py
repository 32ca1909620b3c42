"""Ports: the protocols the core sees; adapters (maxtrader/adapters) implement them.

They live inside ``domain`` so that the core never imports upward; adapters, handlers and the
backtester import them from here. Every error a port raises is a domain error
(``domain/errors.py``), never a vendor's:

- ``StateStore``: the safety layer's durable state. Every method is atomic: all of its effect or
  none. ``StateUnavailableError`` when the store cannot be read or written (throttling, timeout,
  an item of unexpected shape: the caller fails closed); ``StateConflictError`` when a condition
  did not hold (a lost race, a stale version: nothing was written, re-read and decide again).
- ``SessionStore``: what the bar path persists between invocations (strategy states, the regime,
  the minute bars). Same errors as ``StateStore``. (The start-of-day equity is safety state: the
  engine checks a caller's figure against it, so it lives in ``StateStore``.)
- ``Broker``: the account, the clock, orders and positions, option chains. ``BrokerError``
  subclasses say whether a request may have reached the broker.
- ``MarketData``: minute bars and the latest VIX. ``DataError`` when the vendor cannot answer.
- ``Alerts``: a message to the operators, deduplicated over the alert cooldown.
  ``AlertDeliveryError`` when it could not be sent (then it is not recorded as sent).
- ``Clock``: the only source of "now".

Implementations: ``adapters/memory_store.py`` and ``adapters/dynamodb_store.py`` (state),
``adapters/{memory,dynamodb}_session_store.py``, ``adapters/{memory_alerts,sns_alerts}.py``, the
broker and market-data adapters beside them, and the backtester's simulated broker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from maxtrader.domain.broker import (
    BrokerAccount,
    BrokerClock,
    BrokerOrder,
    BrokerPosition,
    OptionChain,
    OrderRequest,
)
from maxtrader.domain.clock import Clock
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import AuditRecord, Bar
from maxtrader.domain.regime import RegimeState
from maxtrader.domain.safety.state import (
    BreakerName,
    BreakerState,
    ControlState,
    FillApplication,
    HealthState,
    HighWaterMark,
    PortfolioState,
    Reservation,
    Snapshot,
    SnapshotKeys,
    SwitchName,
    SwitchState,
    Ticket,
)
from maxtrader.domain.strategy_names import known_strategy

__all__ = [
    "MAX_ALERT_KEY_BYTES",
    "MAX_STRATEGY_STATE_BYTES",
    "Alert",
    "Alerts",
    "BarWriteResult",
    "Broker",
    "Clock",
    "MarketData",
    "SessionSnapshot",
    "SessionStore",
    "StateStore",
    "StoredStrategyState",
    "VixReading",
]


class StateStore(Protocol):
    # --- reads (strongly consistent) -------------------------------------------------------
    def snapshot(self, keys: SnapshotKeys) -> Snapshot:
        """Everything an entry decision needs, in one consistent read."""
        ...

    def control_state(self, day: str) -> ControlState:
        """Switches, breakers, portfolio (with its refused marks), high-water mark, health, and
        the realized P&L and start-of-day equity of New York trading date ``day``: what a
        monitor or health run reads, in one request."""
        ...

    def switch(self, name: SwitchName) -> SwitchState:
        """Kill switch or safe mode (absent = off, version 0)."""
        ...

    def breaker(self, name: BreakerName) -> BreakerState: ...

    def portfolio(self) -> PortfolioState: ...

    def ticket(self, client_order_id: str) -> Ticket | None: ...

    def open_tickets(self) -> list[Ticket]:
        """Tickets holding a slot (reserved, confirmed or open)."""
        ...

    def health(self) -> HealthState: ...

    def realized(self, period_key: str) -> float:
        """Realized P&L of a day (``2024-06-03``), ISO week (``2024-W23``), month (``2024-06``)."""
        ...

    def day_entries(self, day: str, strategy: str | None = None) -> int: ...

    def audit_log(self, day: str) -> list[AuditRecord]:
        """The audit records of a New York trading date, oldest first."""
        ...

    def fill_applied(self, fill_id: str) -> bool:
        """Whether a fill with this id has been applied (its idempotency guard exists)."""
        ...

    def start_of_day_equity(self, day: str) -> float | None:
        """The equity the pre-market run stored for a New York trading date (None: not yet)."""
        ...

    def high_water_mark(self) -> HighWaterMark:
        """The never-re-based equity high-water mark and its drawdown stop (absent: none)."""
        ...

    def refused_marks(self) -> dict[str, str]:
        """Symbols whose latest mark failed its collar, with the reason (health reads them)."""
        ...

    # --- writes (atomic, conditional) ------------------------------------------------------
    def reserve(self, reservation: Reservation) -> None:
        """Write an approved entry if every guard still holds, else raise StateConflictError."""
        ...

    def update_ticket(
        self,
        ticket: Ticket,
        expected_version: int,
        *,
        slot_delta: int = 0,
        exposure_delta: float = 0.0,
        audit: Sequence[AuditRecord] = (),
    ) -> None:
        """Replace a ticket at ``expected_version`` (confirm, release), adjusting the counters."""
        ...

    def apply_fill(self, application: FillApplication) -> bool:
        """Apply a fill; False when this fill id was already applied (nothing written)."""
        ...

    def put_switch(
        self, state: SwitchState, expected_version: int, audit: Sequence[AuditRecord] = ()
    ) -> None: ...

    def put_breaker(
        self, state: BreakerState, expected_version: int, audit: Sequence[AuditRecord] = ()
    ) -> None: ...

    def put_health(self, state: HealthState, expected_version: int) -> None: ...

    def put_start_of_day_equity(
        self, day: str, equity: float, audit: Sequence[AuditRecord] = ()
    ) -> bool:
        """Store a day's start-of-day equity once: False (nothing written) when that very value
        is already stored; StateConflictError when a different one is."""
        ...

    def put_high_water_mark(
        self, state: HighWaterMark, expected_version: int, audit: Sequence[AuditRecord] = ()
    ) -> None: ...

    def update_marks(
        self,
        *,
        unrealized: float,
        marks: Mapping[str, float],
        equity: float,
        peak: float,
        reset_peak: bool = False,
        refused: Mapping[str, str] | None = None,
    ) -> None:
        """Store the marks; ``peak`` only rises (a lower one raises StateConflictError) unless
        ``reset_peak`` (the operator's reset). ``refused`` replaces the refused marks (None:
        leave them as they are)."""
        ...

    def append_audit(self, records: Sequence[AuditRecord]) -> None: ...


# --- the bar path's persisted state -------------------------------------------------------------


# A symbol's strategy states share one DynamoDB item of at most 400 KB (409,600 bytes, names and
# values, UTF-8): every known strategy at this bound, with the keys and names, still fits, and
# both adapters refuse a larger payload alike. (Real states are about 1 KB.)
MAX_STRATEGY_STATE_BYTES = 100_000
_MAX_NAME_CHARS = 200


@dataclass(frozen=True, slots=True)
class StoredStrategyState:
    """A strategy's serialized state for one symbol, as of the last bar it stepped.

    Refuses (``InvalidInputError``) an empty or overlong name, a naive time and a payload over
    ``MAX_STRATEGY_STATE_BYTES`` UTF-8 bytes: such a state could not be stored anywhere.
    """

    strategy: str
    symbol: str
    last_bar_ts: datetime  # the start of the last bar stepped (the save condition's key)
    payload: str  # the strategy's own JSON (``Strategy.load_state`` reads it back)

    def __post_init__(self) -> None:
        for name in ("strategy", "symbol"):
            value = getattr(self, name)
            if not value or len(value) > _MAX_NAME_CHARS:
                raise InvalidInputError(
                    f"strategy state: {name} {value!r} must hold 1 to {_MAX_NAME_CHARS} characters"
                )
        known_strategy(self.strategy)  # both stores key states by it: no free text
        if self.last_bar_ts.tzinfo is None or self.last_bar_ts.utcoffset() is None:
            raise InvalidInputError(
                f"strategy state {self.strategy}/{self.symbol}: last_bar_ts "
                f"{self.last_bar_ts.isoformat()} is naive"
            )
        size = len(self.payload.encode("utf-8"))
        if size > MAX_STRATEGY_STATE_BYTES:
            raise InvalidInputError(
                f"strategy state {self.strategy}/{self.symbol}: payload of {size} bytes exceeds "
                f"{MAX_STRATEGY_STATE_BYTES} (a symbol's states share one 400 KB item)"
            )


@dataclass(frozen=True, slots=True)
class SessionSnapshot:
    """What one step of the bar path reads: the stored strategy states of ``symbols`` and the
    regime of ``day``, as of one read. A state or regime not stored is absent, never guessed."""

    day: date
    symbols: frozenset[str]
    states: Mapping[tuple[str, str], StoredStrategyState]  # (strategy, symbol) -> stored state
    regime: RegimeState | None

    def state(self, strategy: str, symbol: str) -> StoredStrategyState | None:
        if symbol not in self.symbols:  # absent would be a guess: it was never read
            raise InvalidInputError(f"the snapshot of {self.day} did not read {symbol!r:.80}")
        return self.states.get((strategy, symbol))


@dataclass(frozen=True, slots=True)
class BarWriteResult:
    """How many bars a ``put_bars`` stored anew and how many it already held."""

    stored: tuple[Bar, ...] = ()
    duplicates: int = 0


class SessionStore(Protocol):
    def read_session(self, day: date, symbols: Iterable[str]) -> SessionSnapshot:
        """Every stored strategy state of ``symbols`` and the regime of ``day`` in one
        consistent read (DynamoDB: one BatchGetItem; keys it leaves unprocessed are retried a
        bounded number of times, then ``StateUnavailableError``: a partial answer is never read
        as "absent"). A symbol's states are read together, as of one instant."""
        ...

    def strategy_state(self, strategy: str, symbol: str) -> StoredStrategyState | None: ...

    def save_strategy_states(self, states: Sequence[StoredStrategyState]) -> bool:
        """Store the states of ONE symbol (each strategy at most once) together or not at all:
        each only if the stored state of its strategy is older (its ``last_bar_ts`` is earlier)
        or absent; the symbol's other strategies are left as they are. True when all were
        stored; False, with nothing written, when any was a duplicate or stale delivery: of
        concurrent saves at the same ``last_bar_ts`` exactly one returns True. Nothing to save
        is True. Another symbol or a repeated strategy: ``InvalidInputError``, nothing written."""
        ...

    def save_strategy_state(self, state: StoredStrategyState) -> bool:
        """``save_strategy_states([state])``."""
        ...

    def regime(self, day: date) -> RegimeState | None:
        """The regime state of a New York trading date (None before the first reading)."""
        ...

    def save_regime(self, state: RegimeState) -> None:
        """Store the state of ``state.day`` (the last writer wins: the regime function is the
        only writer, every 5 minutes, and an absent VIX must be able to overwrite a valid one)."""
        ...

    def put_bars(self, bars: Sequence[Bar], *, expires_at: datetime) -> BarWriteResult:
        """Store 1-minute bars idempotently by (symbol, start): a bar already held (or given
        twice) is counted as a duplicate and left as it was. ``expires_at`` bounds how long they
        are kept. A bad bar (not 1-minute) or a naive ``expires_at``: ``InvalidInputError``,
        nothing written. Each bar stands alone (a few are written one by one, a larger batch
        atomically per 100); a retry after a fault stores what is missing, so every batch
        converges."""
        ...

    def bars(self, symbol: str, start: datetime, end: datetime) -> list[Bar]:
        """Stored bars of ``symbol`` with ``start <= ts < end``, oldest first."""
        ...

    def newest_bar(self, symbol: str, start: datetime, end: datetime) -> Bar | None:
        """The newest stored bar of ``symbol`` with ``start <= ts < end`` (None: there is none):
        ``bars(...)[-1]`` at the cost of one item, not of the whole range."""
        ...

    def newest_bars(
        self, symbols: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, Bar | None]:
        """``newest_bar`` of each of ``symbols`` over the same range, in as few reads as the
        store can (health reads every traded symbol's every minute)."""
        ...


# --- the broker ---------------------------------------------------------------------------------


class Broker(Protocol):
    def account(self) -> BrokerAccount: ...

    def clock(self) -> BrokerClock: ...

    def submit(self, order: OrderRequest) -> BrokerOrder:
        """Submit one order. ``DuplicateClientOrderIdError`` when the broker already holds an
        order under this ``client_order_id``; ``BrokerUnavailableError`` when it may have
        reached the broker (never retried here: the caller looks the order up first)."""
        ...

    def order_by_client_id(self, client_order_id: str) -> BrokerOrder | None:
        """The order submitted under ``client_order_id``; None when the broker has none."""
        ...

    def open_orders(self) -> list[BrokerOrder]: ...

    def positions(self) -> list[BrokerPosition]: ...

    def cancel(self, broker_order_id: str) -> None: ...

    def cancel_all(self) -> None: ...

    def close_position(self, symbol: str) -> BrokerOrder:
        """Send the market order that flattens ``symbol``. The broker refuses it
        (``BrokerRejectedError``) while open orders hold the quantity (a bracket's legs):
        cancel those first, or use ``close_all_positions``."""
        ...

    def close_all_positions(self, *, cancel_orders: bool = True) -> list[BrokerOrder]:
        """Cancel every open order (when ``cancel_orders``), then send one market order per
        position. ``BrokerError`` when any position could not be closed; the orders that were
        sent are visible through ``open_orders``."""
        ...

    def option_chain(self, underlying: str, expiry: date) -> OptionChain:
        """The contracts of ``underlying`` expiring on ``expiry`` with their latest quotes."""
        ...


# --- market data and alerts ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VixReading:
    value: float
    observed_at: datetime  # when the value was true (the bar's or print's time), not fetched


class MarketData(Protocol):
    def minute_bars(self, symbol: str, start: datetime, end: datetime) -> list[Bar]:
        """Closed 1-minute bars of ``symbol`` with ``start <= ts < end``, oldest first."""
        ...

    def latest_vix(self) -> VixReading | None:
        """The latest VIX value with its time; None when the vendor has none."""
        ...


MAX_ALERT_KEY_BYTES = 1024  # the dedup key is part of a DynamoDB partition key (2 KB at most)


@dataclass(frozen=True, slots=True)
class Alert:
    """A message to the operators: ``line`` fits an SMS, ``details`` an email.

    Alerts with the same ``key()`` within the alert cooldown are sent once. An empty subject or
    line, or an overlong key, is refused (``InvalidInputError``).
    """

    subject: str
    line: str
    details: Mapping[str, object] = field(default_factory=dict)
    dedup_key: str = ""

    def __post_init__(self) -> None:
        if not self.subject.strip() or not self.line.strip():
            raise InvalidInputError(f"an alert needs a subject and a line (got {self!r})")
        if len(self.key().encode("utf-8")) > MAX_ALERT_KEY_BYTES:
            raise InvalidInputError(f"alert dedup key over {MAX_ALERT_KEY_BYTES} bytes")

    def key(self) -> str:
        return self.dedup_key or self.subject


class Alerts(Protocol):
    def publish(self, alert: Alert) -> bool:
        """Send ``alert``; False when an alert of the same key went out within the cooldown
        (across every process sharing the adapter's dedup state). ``AlertDeliveryError`` when
        it could not be sent: then nothing is recorded as sent, and a retry may send it."""
        ...
