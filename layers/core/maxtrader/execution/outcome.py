"""What one execution of a signal came to: the answer the handler returns, audits and counts.

    Outcome.SUBMITTED          the broker holds the order; the ticket is CONFIRMED
    Outcome.ALREADY_DONE       a redelivery: the ticket was already confirmed, open, closed or
                               released (nothing sent, nothing written)
    Outcome.NOT_SENT           refused before the safety layer (stale, sizing, bad id): NOT_SENT
    Outcome.REJECTED           the safety layer rejected it (the verdict names every check)
    Outcome.BROKER_REJECTED    the broker certainly refused it; the reservation was released
    Outcome.IN_FLIGHT          the ticket stays RESERVED: the broker's answer is unknown, or the
                               signal went stale before its order could be sent; a redelivery or
                               the monitor resolves it (docs/execution.md)
    Outcome.RETRY              a dependency failed before anything was reserved (or while the
                               reservation's fate is unknown): deliver the signal again

``RetryLaterError`` carries a result whose work is not finished (RETRY, or IN_FLIGHT while the
signal is still fresh): the queue should deliver the signal again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import JsonValue

from maxtrader.domain.errors import MaxTraderError


class Outcome(StrEnum):
    SUBMITTED = "submitted"
    ALREADY_DONE = "already_done"
    NOT_SENT = "not_sent"
    REJECTED = "rejected"
    BROKER_REJECTED = "broker_rejected"
    IN_FLIGHT = "in_flight"
    RETRY = "retry"


class NotSentCause(StrEnum):
    """Why execute refused a signal before the safety layer (beside trading.NotSentReason)."""

    STALE = "stale_signal"
    FROM_THE_FUTURE = "signal_from_the_future"
    CLIENT_ORDER_ID_TOO_LONG = "client_order_id_too_long"
    ACCOUNT_INACTIVE = "account_inactive"
    STALE_QUOTES = "stale_quotes"


@dataclass(slots=True)
class ExecutionResult:
    """One signal's outcome. ``order_errors`` are the error kinds counted toward the error-rate
    breaker in this run (``BrokerUnavailableError``...), ``failed_checks`` the safety checks a
    rejection named, ``latency_ms`` the time from the signal's decision to the broker's answer
    (on the injected clock), for a submitted order only."""

    outcome: Outcome
    signal_id: str
    client_order_id: str
    reason: str = ""
    broker_order_id: str | None = None
    broker_status: str | None = None
    failed_checks: tuple[str, ...] = ()
    order_errors: list[str] = field(default_factory=list)
    submits: int = 0  # requests sent to the broker's order endpoint in this run
    approved: bool = False  # the safety layer approved and reserved it in this run
    latency_ms: float | None = None
    breaker_tripped: bool = False

    def answer(self) -> dict[str, JsonValue]:
        """What the handler returns and the idempotency record stores (no account figure, no
        broker message text: a replay hands this back as is)."""
        return {
            "outcome": self.outcome.value,
            "signal_id": self.signal_id,
            "client_order_id": self.client_order_id,
            "reason": self.reason,
            "broker_order_id": self.broker_order_id,
            "broker_status": self.broker_status,
            "failed_checks": list(self.failed_checks),
        }


class RetryLaterError(MaxTraderError):
    """The signal's work is unfinished: deliver it again (the result says how far it got)."""

    def __init__(self, result: ExecutionResult, message: str) -> None:
        super().__init__(message)
        self.result = result
