"""The longest one execute invocation can spend waiting on the broker (docs/execution.md).

    bounds = CallBounds(request_seconds=5.0, read_seconds=6.0)
    send_worst_case_seconds(rules, bounds)                       # submission.send alone
    execute_worst_case_seconds(rules, bounds, chain_reads=5)     # + the reads before it

Every broker request is assumed to use its whole timeout and every answer to be the least
helpful one: each submit times out, each lookup says nothing (so ``send`` looks up before the
next attempt, finds "not found", sends, times out and looks up again), and the account and the
option chain are read at their slowest. ``request_seconds`` is one request (connect + read
timeout: a write is sent once), ``read_seconds`` a read with its retries (the adapter's read
budget). ``key_resends`` counts the requests sent again after a rotated key was taken up (at
most one per ``KEY_REFRESH_INTERVAL_SECONDS`` per container). The state store's calls are not
counted: it fails closed after its own short timeouts (adapters/dynamodb_store.py).

A pure function of the config values, so a test can hold the function's timeout to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from maxtrader.config.safety import Execution
from maxtrader.execution.submission import backoff


@dataclass(frozen=True, slots=True)
class CallBounds:
    request_seconds: float  # one request at most (a submit: sent once)
    read_seconds: float  # one read at most, its retries included
    key_resends: int = 1


def send_worst_case_seconds(rules: Execution, bounds: CallBounds) -> float:
    """``submission.send``: each attempt a lookup, a submit and a lookup, one lookup more at
    the end (a resumed ticket looks up first; a new one skips that first lookup), and the
    backoffs between attempts."""
    attempts = rules.submit_attempts
    per_attempt = bounds.request_seconds + 2 * bounds.read_seconds
    waits = sum(backoff(rules, retry) for retry in range(1, attempts))
    return attempts * per_attempt + bounds.read_seconds + waits


def execute_worst_case_seconds(rules: Execution, bounds: CallBounds, *, chain_reads: int) -> float:
    """A new entry: the account, ``chain_reads`` reads of the option chain (0 for equities),
    the send, and the requests sent again after a key rotation."""
    reads = (1 + chain_reads) * bounds.read_seconds
    resends = bounds.key_resends * bounds.request_seconds
    return reads + send_worst_case_seconds(rules, bounds) + resends


def last_send_after_decision_seconds(rules: Execution, bounds: CallBounds) -> float:
    """The latest an order can reach the broker, counted from its signal's decision: a submit
    starts only while the signal is fresh (``signal_max_age_seconds``) and lasts one request
    (its key resend included). The monitor may treat an unacknowledged ticket as abandoned
    only after this (its ``ack_timeout_seconds`` exceeds ``in_flight_seconds``, which must)."""
    return rules.signal_max_age_seconds + (1 + bounds.key_resends) * bounds.request_seconds
