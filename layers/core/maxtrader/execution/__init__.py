"""Exactly-once execution of signals (signal queue -> safety reservation -> one broker order).

Vendor-free: ports only (docs/execution.md). The execute Lambda drives ``execute_signal``.
"""

from maxtrader.execution.orders import MAX_CLIENT_ORDER_ID, entry_client_order_id, in_flight_until
from maxtrader.execution.outcome import ExecutionResult, NotSentCause, Outcome, RetryLaterError
from maxtrader.execution.service import ExecutionDeps, execute_signal

__all__ = [
    "MAX_CLIENT_ORDER_ID",
    "ExecutionDeps",
    "ExecutionResult",
    "NotSentCause",
    "Outcome",
    "RetryLaterError",
    "entry_client_order_id",
    "execute_signal",
    "in_flight_until",
]
