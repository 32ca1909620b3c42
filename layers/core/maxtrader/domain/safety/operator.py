"""Checks on what an operator call carries: who (the caller's IAM ARN), why, and an equity.

The killswitch URL authenticates the caller (AWS_IAM); these checks keep what it passes on usable
in the audit log and harmless to the limits: a plain, bounded actor and reason (a newline in an
actor would forge a line in a log reader; a megabyte would not fit a DynamoDB item), and a
finite, positive equity (a NaN peak would silence the drawdown breaker for good).
"""

from __future__ import annotations

import math
from typing import Final

from maxtrader.domain.errors import InvalidInputError

MAX_ACTOR_LENGTH: Final = 2048  # the longest IAM ARN
MAX_REASON_LENGTH: Final = 1024


def checked_actor(actor: str) -> str:
    if not isinstance(actor, str) or not actor.strip():
        raise InvalidInputError("an actor is required to change the kill switch or safe mode")
    if len(actor) > MAX_ACTOR_LENGTH:
        raise InvalidInputError(f"actor is {len(actor)} characters, at most {MAX_ACTOR_LENGTH}")
    if not actor.isprintable():
        raise InvalidInputError(f"actor {actor!r:.80} holds control or separator characters")
    return actor


def checked_reason(reason: str) -> str:
    if not isinstance(reason, str):
        raise InvalidInputError(f"reason must be text, got {type(reason).__name__}")
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInputError(f"reason is {len(reason)} characters, at most {MAX_REASON_LENGTH}")
    if not all(c.isprintable() or c in "\n\t" for c in reason):
        raise InvalidInputError(f"reason {reason!r:.80} holds control characters")
    return reason


def checked_equity(equity: float) -> float:
    if isinstance(equity, bool) or not isinstance(equity, int | float):
        raise InvalidInputError(f"equity must be a number, got {type(equity).__name__}")
    if not (math.isfinite(equity) and equity > 0):
        raise InvalidInputError(f"equity must be finite and positive, got {equity!r}")
    return float(equity)
