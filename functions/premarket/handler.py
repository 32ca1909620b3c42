"""The pre-market function (Scheduler, 09:00 New York): equity, regime, readiness alert.

Thin: the event is parsed, counted and its errors mapped by ``runtime.scheduled``; the adapters
come from ``runtime.factory``; the logic is ``maxtrader.operations.premarket.run_premarket``
(docs/operations.md). On a day with no session it does nothing and says so.
"""

from __future__ import annotations

from datetime import datetime

from maxtrader.domain.regime import RegimeDetector
from maxtrader.operations.premarket import PremarketDependencies, run_premarket
from maxtrader.operations.run_result import RunResult
from maxtrader.runtime import factory
from maxtrader.runtime.scheduled import scheduled_handler


def run(scheduled_time: datetime) -> RunResult:
    deps = PremarketDependencies(
        engine=factory.safety_engine(),
        broker=factory.broker,
        market=factory.market_data,
        sessions=factory.session_store(),
        alerts=factory.alerts(),
        calendar=factory.calendar(),
        detector=RegimeDetector(factory.strategies_config().regime),
        # LEAD: wire the strategies' session preparation from REST history here, e.g.
        # prepare_sessions=lambda session: prepare_session_states(session, ...) from
        # maxtrader.signals (returns how many states it prepared). Until then readiness says
        # "NOT armed: strategy sessions not prepared (not wired)".
        prepare_sessions=None,
    )
    return run_premarket(deps, scheduled_time)


lambda_handler = scheduled_handler("premarket", run)
