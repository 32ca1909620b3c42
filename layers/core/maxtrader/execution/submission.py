"""Send one order at most once in effect, whatever the broker answers.

    send(broker, order, rules, *, sleep, fresh) -> Sent

The rule (docs/execution.md): after any answer that may mean the broker acted (a timeout, a
5xx, a 429, a body we cannot read) the order is looked up by its client_order_id BEFORE
anything is sent again; only "the broker has no such order" makes a resend safe, and a resend
is still refused by the broker (422) should the first one land late, which resolves by lookup
too. A refusal (4xx) ends it, once certain: a refusal of a resend is checked by a lookup
first (the earlier send may have landed and taken the buying power the resend is refused
for). Between attempts the backoff doubles, bounded; every attempt first asks ``fresh()`` so
that nothing is sent for a signal gone stale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import JsonValue

from maxtrader.config.safety import Execution
from maxtrader.domain.broker import BrokerOrder, OrderRequest
from maxtrader.domain.errors import (
    BrokerError,
    BrokerRejectedError,
    DuplicateClientOrderIdError,
)
from maxtrader.domain.ports import Broker

_MESSAGE_CHARS = 200


class SendStatus(StrEnum):
    ACCEPTED = "accepted"  # the broker holds the order (``order``)
    REJECTED = "rejected"  # the broker certainly refused it (``rejection``)
    UNKNOWN = "unknown"  # attempts spent without knowing, or the signal went stale


@dataclass(slots=True)
class Sent:
    status: SendStatus
    order: BrokerOrder | None = None
    rejection: BrokerRejectedError | None = None
    # The broker's answers in order, for the audit record: {"call", "answer", ...}.
    answers: list[dict[str, JsonValue]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # counted toward the error-rate breaker
    submits: int = 0
    stale: bool = False


def backoff(rules: Execution, retry: int) -> float:
    """Seconds to wait before retry ``retry`` (1, 2, ...): doubling, at most the bound."""
    return float(min(rules.backoff_seconds * 2 ** (retry - 1), rules.backoff_max_seconds))


def error_answer(call: str, exc: BrokerError) -> dict[str, JsonValue]:
    """A broker error as the audit keeps it: its kind, HTTP status, broker code, message."""
    return {
        "call": call,
        "answer": type(exc).__name__,
        "http_status": exc.status,
        "code": exc.code,
        "message": str(exc)[:_MESSAGE_CHARS],
    }


def order_answer(call: str, order: BrokerOrder) -> dict[str, JsonValue]:
    return {
        "call": call,
        "answer": "order",
        "broker_order_id": order.broker_order_id,
        "status": order.status.value,
        "filled_qty": order.filled_qty,
    }


def send(
    broker: Broker,
    order: OrderRequest,
    rules: Execution,
    *,
    sleep: Callable[[float], None],
    fresh: Callable[[], bool],
    look_up_first: bool = False,
) -> Sent:
    """``look_up_first``: a rerun of a reserved ticket, whose order may already exist."""
    sent = Sent(SendStatus.UNKNOWN)
    must_look_up = look_up_first
    # Whether an earlier send of this order may have landed: then a refusal of a resend is not
    # certain (the first order may hold the buying power it is refused for) until a lookup says.
    maybe_placed = look_up_first
    for attempt in range(1, rules.submit_attempts + 1):
        if attempt > 1:
            sleep(backoff(rules, attempt - 1))
        if must_look_up:
            found = _look_up(broker, order.client_order_id, sent)
            if found is None:
                continue  # still unknown: never send without a "not found"
            if found:
                return sent
        if not fresh():
            sent.stale = True
            return sent
        sent.submits += 1
        try:
            placed = broker.submit(order)
        except BrokerRejectedError as exc:
            sent.answers.append(error_answer("submit", exc))
            sent.errors.append(type(exc).__name__)
            found = _look_up(broker, order.client_order_id, sent) if maybe_placed else False
            if found is False:
                sent.status, sent.rejection = SendStatus.REJECTED, exc
                return sent
            if found:
                return sent
            must_look_up = True
            continue
        except BrokerError as exc:
            # May have reached the broker. A 422 duplicate is not an error: an earlier send
            # landed. Either way the lookup says, at once (no backoff: it may be there now).
            sent.answers.append(error_answer("submit", exc))
            if not isinstance(exc, DuplicateClientOrderIdError):
                sent.errors.append(type(exc).__name__)
            maybe_placed = True
            found = _look_up(broker, order.client_order_id, sent)
            if found:
                return sent
            must_look_up = found is None
            continue
        sent.answers.append(order_answer("submit", placed))
        sent.status, sent.order = SendStatus.ACCEPTED, placed
        return sent
    if must_look_up:  # the last answer left it unknown: one more look before giving up
        _look_up(broker, order.client_order_id, sent)
    return sent


def _look_up(broker: Broker, coid: str, sent: Sent) -> bool | None:
    """True: the broker holds it (``sent`` is ACCEPTED); False: it has none; None: unknown."""
    try:
        found = broker.order_by_client_id(coid)
    except BrokerError as exc:
        sent.answers.append(error_answer("lookup", exc))
        return None
    if found is None:
        sent.answers.append({"call": "lookup", "answer": "not_found"})
        return False
    sent.answers.append(order_answer("lookup", found))
    sent.status, sent.order = SendStatus.ACCEPTED, found
    return True
