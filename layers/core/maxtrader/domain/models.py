"""Domain models: the plain, validated values the core passes around.

Every model is frozen and forbids unknown fields. Invalid values (NaN/inf or non-positive
prices, high < low, negative volume, naive datetimes, zero quantities) are rejected at
construction with pydantic's ``ValidationError``, whose message names the field.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, NamedTuple, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    model_validator,
)

from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.strategy_names import known_strategy

# A price is finite and strictly positive; money amounts (P&L) may be negative but finite.
Price = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Money = Annotated[float, Field(allow_inf_nan=False)]
NonNegativeMoney = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Quantity = Annotated[int, Field(gt=0)]
Symbol = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9:._\-]+$")]
# Per-strategy limits are counted under this name: only the known strategies, never free text.
StrategyName = Annotated[str, AfterValidator(known_strategy)]


class DomainModel(BaseModel):
    """Base of all domain models: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Regime(StrEnum):
    EXTREME_CALM_PAUSE = "EXTREME_CALM_PAUSE"
    ULTRA_LOW_VOL = "ULTRA_LOW_VOL"
    NORMAL_VOL = "NORMAL_VOL"
    HIGH_VOL = "HIGH_VOL"
    UNKNOWN = "UNKNOWN"


class Direction(StrEnum):
    """Long or short. Which thing is long depends on where it stands, and never changes:

    - ``Signal.side`` (and a backtest ``TradeRecord.side``): the direction on the UNDERLYING.
      A short signal traded in option mode buys a put.
    - ``Ticket.direction`` (domain/safety/state.py, the one position model): the side of the
      CONTRACT held. A bought put is LONG (its P&L rises with the put's price).
      ``maxtrader.trading.positions.underlying_direction(ticket)`` maps one to the other.
    """

    LONG = "long"
    SHORT = "short"


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderPurpose(StrEnum):
    """Entry opens or adds to a position; exit only reduces one (reduce-only, checked against
    the stored position; never blocked by the entry checks)."""

    ENTRY = "entry"
    EXIT = "exit"


class Instrument(StrEnum):
    OPTION = "option"
    EQUITY = "equity"


class OptionRight(StrEnum):
    CALL = "call"
    PUT = "put"


class TradingState(StrEnum):
    """ACTIVE: normal. REDUCING: safe mode, exits only. HALTED: kill switch engaged."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


class Bar(DomainModel):
    """An OHLCV bar stamped at its start; usable only once closed (``closed_at``)."""

    symbol: Symbol
    ts: AwareDatetime
    open: Price
    high: Price
    low: Price
    close: Price
    volume: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    minutes: Annotated[int, Field(gt=0, le=1440)] = 1
    vwap: Price | None = None

    @model_validator(mode="after")
    def _ohlc_consistent(self) -> Self:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) is below low ({self.low})")
        if not self.low <= self.open <= self.high:
            raise ValueError(f"open ({self.open}) is outside [low {self.low}, high {self.high}]")
        if not self.low <= self.close <= self.high:
            raise ValueError(f"close ({self.close}) is outside [low {self.low}, high {self.high}]")
        return self

    @property
    def closed_at(self) -> datetime:
        return self.ts + timedelta(minutes=self.minutes)


def signal_id(strategy: str, symbol: str, side: Direction, bar_ts: datetime) -> str:
    """Deterministic id of a signal: the same decision on the same bar always has the same id."""
    if bar_ts.tzinfo is None:
        raise ValueError("bar_ts must be timezone-aware")
    key = f"{strategy}|{symbol}|{side.value}|{bar_ts.timestamp():.0f}"
    return hashlib.sha256(key.encode()).hexdigest()[:24]


class Signal(DomainModel):
    """A strategy's wish to enter, with the levels that define its risk."""

    id: Annotated[str, Field(min_length=8, max_length=64)]
    strategy: StrategyName
    symbol: Symbol
    side: Direction
    entry: Price
    stop: Price
    target: Price
    bar_ts: AwareDatetime
    regime: Regime
    reason: str = ""

    @model_validator(mode="after")
    def _levels_consistent(self) -> Self:
        if self.side is Direction.LONG and not self.stop < self.entry < self.target:
            levels = f"{self.stop}, {self.entry}, {self.target}"
            raise ValueError(f"long signal needs stop < entry < target, got {levels}")
        if self.side is Direction.SHORT and not self.target < self.entry < self.stop:
            levels = f"{self.target}, {self.entry}, {self.stop}"
            raise ValueError(f"short signal needs target < entry < stop, got {levels}")
        return self

    @classmethod
    def create(cls, **fields: Any) -> Signal:
        """Build a signal whose id is derived from (strategy, symbol, side, bar_ts)."""
        side = Direction(fields["side"])
        fields["id"] = signal_id(fields["strategy"], fields["symbol"], side, fields["bar_ts"])
        return cls(**fields)

    @property
    def reward_risk(self) -> float:
        return abs(self.target - self.entry) / abs(self.entry - self.stop)


def client_order_id(signal_id_: str, purpose: OrderPurpose, attempt: int = 1) -> str:
    """The broker-side idempotency key: one order per signal and purpose.

    An entry has exactly one order (``mt-<signal>-entry``). An exit may be retried (its first order
    was rejected or canceled): attempt 1 is ``mt-<signal>-exit``, attempt n >= 2 is
    ``mt-<signal>-exit-<n>``, so every retry is a new broker order that still names its signal.
    """
    if attempt < 1 or (attempt > 1 and purpose is not OrderPurpose.EXIT):
        raise InvalidInputError(f"attempt {attempt} is not valid for an {purpose.value} order")
    base = f"mt-{signal_id_}-{purpose.value}"
    return base if attempt == 1 else f"{base}-{attempt}"


class OrderRef(NamedTuple):
    """What one of our client order ids names."""

    signal_id: str
    purpose: OrderPurpose
    attempt: int


_PURPOSES = {p.value: p for p in OrderPurpose}


def parse_client_order_id(value: str) -> OrderRef | None:
    """Inverse of ``client_order_id``; None for an id we did not make (a broker-side leg, a
    foreign or hand-typed order). Only the canonical spelling parses (no ``-exit-1``, no
    leading zeros), so one order has exactly one id."""
    if not value.startswith("mt-"):
        return None
    rest, attempt = value[3:], 1
    head, _, tail = rest.rpartition("-")
    if tail.isdigit() and tail.isascii():
        if tail.startswith("0") or int(tail) < 2:
            return None
        rest, attempt = head, int(tail)
    signal, _, purpose = rest.rpartition("-")
    kind = _PURPOSES.get(purpose)
    if not signal or kind is None or (attempt > 1 and kind is not OrderPurpose.EXIT):
        return None
    return OrderRef(signal, kind, attempt)


class OrderIntent(DomainModel):
    """An order the system wants to send, before the safety layer and the broker see it."""

    client_order_id: Annotated[str, Field(min_length=1, max_length=128)]
    signal_id: Annotated[str, Field(min_length=1)]
    strategy: StrategyName
    symbol: Symbol  # what is traded: the underlying (equity) or an OCC option symbol
    underlying: Symbol
    side: OrderSide
    purpose: OrderPurpose
    instrument: Instrument
    qty: Quantity
    est_price: Price  # per unit (per share, or per option share: x100 per contract)
    limit_price: Price | None = None
    stop: Price | None = None  # underlying levels, for equity brackets and for exits
    target: Price | None = None
    # The underlying's price the levels are measured from (options: the safety layer computes
    # reward/risk from it; an equity order's own price is its entry).
    underlying_price: Price | None = None
    max_loss: NonNegativeMoney = 0.0
    fees: NonNegativeMoney = 0.0

    @property
    def multiplier(self) -> int:
        return 100 if self.instrument is Instrument.OPTION else 1

    @property
    def notional(self) -> float:
        return self.qty * self.est_price * self.multiplier


class Fill(DomainModel):
    """One execution. Positions and realized P&L are the sum of fills."""

    fill_id: Annotated[str, Field(min_length=1)]
    client_order_id: Annotated[str, Field(min_length=1, max_length=128)]
    symbol: Symbol
    side: OrderSide
    qty: Quantity
    price: Price
    fee: NonNegativeMoney = 0.0
    ts: AwareDatetime


class CheckResult(DomainModel):
    """One check's typed verdict, with the figures it compared."""

    name: Annotated[str, Field(min_length=1)]
    passed: bool
    reason: str = ""
    observed: float | None = None
    limit: float | None = None


class Verdict(DomainModel):
    """The safety layer's decision on one order intent: every check, approved only if all passed."""

    signal_id: Annotated[str, Field(min_length=1)]
    client_order_id: Annotated[str, Field(min_length=1)]
    purpose: OrderPurpose
    approved: bool
    checks: tuple[CheckResult, ...]
    decided_at: AwareDatetime

    @model_validator(mode="after")
    def _approved_iff_all_passed(self) -> Self:
        if self.approved != all(c.passed for c in self.checks):
            raise ValueError("approved must be true exactly when every check passed")
        return self

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.passed)


class AuditKind(StrEnum):
    VERDICT = "verdict"
    RESERVATION = "reservation"
    KILL_SWITCH = "kill_switch"
    SAFE_MODE = "safe_mode"
    BREAKER_TRIP = "breaker_trip"
    BREAKER_RESET = "breaker_reset"
    BROKER_RESPONSE = "broker_response"
    FILL = "fill"
    RECONCILIATION = "reconciliation"
    HEALTH = "health"
    REGIME = "regime"
    RISK_BREACH = "risk_breach"  # a fill beyond its reservation (quantity or max loss)
    MARK_REFUSED = "mark_refused"  # a mark outside its collar: not booked
    START_OF_DAY = "start_of_day"  # the pre-market run's start-of-day equity
    SIGNAL = "signal"  # a strategy's signal handed on to execute (trading/signal_message.py)
    NOT_SENT = "not_sent"  # a signal execute did not size into an order (trading/entries.py)
    PARITY = "parity"  # the nightly live-vs-backtest comparison of a day (maxtrader/parity)
    DAILY_REPORT = "daily_report"  # the end-of-day run's report (operations/eod.py)


class AuditRecord(DomainModel):
    """An append-only record of something decided; a day can be replayed from these."""

    ts: AwareDatetime
    kind: AuditKind
    subject: Annotated[str, Field(min_length=1)]
    actor: Annotated[str, Field(min_length=1)] = "system"
    detail: dict[str, JsonValue] = Field(default_factory=dict)
