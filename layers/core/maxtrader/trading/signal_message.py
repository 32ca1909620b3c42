"""The message a signal becomes on the signal queue (signals -> execute): versioned JSON.

    {"version": 1, "kind": "signal",
     "signal": {"id": "...", "strategy": "vwap_reversion", "symbol": "SPY", "side": "long",
                "entry": ..., "stop": ..., "target": ..., "bar_ts": "2024-06-03T14:05:00Z",
                "regime": "NORMAL_VOL", "reason": "..."},
     "regime": {"day": "2024-06-03", "regime": "NORMAL_VOL", "anchor": ..., "vix": 17.2,
                "observed_at": "...", "reason": "..."},
     "last_price": 528.41,
     "decided_at": "2024-06-03T14:06:00Z"}

``signal`` is the strategy's signal as the backtester sees it; ``regime`` the regime state in
force at the bar (the safety layer's limits are the regime's); ``last_price`` the bar's close,
the underlying's last trade when the signal was decided; ``decided_at`` the bar's close (not
the wall clock of the signals function: a late bar keeps its own time, and execute refuses a
signal older than its freshness bound). The FIFO group is the symbol and the deduplication id
the signal id: a signal sent twice within five minutes is delivered once, and execute is
idempotent on the signal id beyond that.

A consumer refuses a version it does not know (``DataError``) rather than guess; a message
whose signal's regime differs from the regime state's is refused too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from maxtrader.domain.errors import DataError
from maxtrader.domain.message_version import VersionOne
from maxtrader.domain.models import AuditKind, AuditRecord, Regime, Signal
from maxtrader.domain.regime import RegimeState

SIGNAL_MESSAGE_VERSION: Literal[1] = 1

__all__ = [
    "SIGNAL_MESSAGE_VERSION",
    "SignalMessage",
    "decode_signal_message",
    "encode_signal_message",
    "signal_audit_record",
    "signal_record",
]


class SignalMessage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: VersionOne = SIGNAL_MESSAGE_VERSION
    kind: Literal["signal"] = "signal"
    signal: Signal
    regime: RegimeState
    last_price: float = Field(gt=0, allow_inf_nan=False)
    decided_at: AwareDatetime

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.signal.regime is not self.regime.regime:
            raise ValueError(
                f"signal.regime {self.signal.regime} differs from regime.regime "
                f"{self.regime.regime}"
            )
        if self.decided_at < self.signal.bar_ts:
            raise ValueError("decided_at is before the signal's bar started")
        return self

    @property
    def group_id(self) -> str:
        return self.signal.symbol

    @property
    def deduplication_id(self) -> str:
        return self.signal.id


def encode_signal_message(message: SignalMessage) -> str:
    return message.model_dump_json()


def decode_signal_message(body: str | bytes) -> SignalMessage:
    try:
        return SignalMessage.model_validate_json(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise DataError(f"signal message: {problems}") from None


def signal_audit_record(message: SignalMessage, actor: str = "signals") -> AuditRecord:
    """The audit record of a signal handed on (the nightly parity compares these with the
    backtester's signals): stamped with the decision time, subject = the signal id."""
    return signal_record(
        message.signal,
        regime=message.regime.regime,
        last_price=message.last_price,
        decided_at=message.decided_at,
        actor=actor,
    )


def signal_record(
    signal: Signal, *, regime: Regime, last_price: float, decided_at: datetime, actor: str
) -> AuditRecord:
    """``signal_audit_record``'s shape from its parts: the backtester's replay (parity) has the
    regime in force but no message to hand on."""
    return AuditRecord(
        ts=decided_at,
        kind=AuditKind.SIGNAL,
        subject=signal.id,
        actor=actor,
        detail={
            "strategy": signal.strategy,
            "symbol": signal.symbol,
            "side": signal.side.value,
            "entry": signal.entry,
            "stop": signal.stop,
            "target": signal.target,
            "bar_ts": signal.bar_ts.isoformat(),
            "regime": regime.value,
            "last_price": last_price,
        },
    )
