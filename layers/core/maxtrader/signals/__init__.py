"""The signals path: closed bars (pushed or polled) -> the core's session step -> signal messages.

    process_bars(bars, deps) / handle_bar_message(body, deps)    the bars queue's messages
    poll_closed_minutes(scheduled_time, deps)                    the ``signals-poll`` schedule
    prepare_session_states(session, symbols, deps)               start-of-session states
    SignalQueue (port) / SignalQueueUnavailableError             the hand-off to execute

Vendor-free like the core (tests/unit/test_dependency_rule.py): ports only, no boto3, no
Powertools, no wall clock. The flow, the message schema and the gap/duplicate rules are in
docs/signals.md.
"""

from __future__ import annotations

from maxtrader.signals.advance import NO_REGIME_REASON
from maxtrader.signals.queue import SignalQueue, SignalQueueUnavailableError
from maxtrader.signals.service import (
    POLL_AFTER_CLOSE,
    POLL_GRACE,
    SignalsDependencies,
    SignalsOutcome,
    handle_bar_message,
    poll_closed_minutes,
    process_bars,
)
from maxtrader.signals.session_start import (
    SessionStartDependencies,
    prepare_session_states,
    routable_strategies,
)

__all__ = [
    "NO_REGIME_REASON",
    "POLL_AFTER_CLOSE",
    "POLL_GRACE",
    "SessionStartDependencies",
    "SignalQueue",
    "SignalQueueUnavailableError",
    "SignalsDependencies",
    "SignalsOutcome",
    "handle_bar_message",
    "poll_closed_minutes",
    "prepare_session_states",
    "process_bars",
    "routable_strategies",
]
