"""The pre-market function (Scheduler, 09:00 New York): equity, regime, readiness alert.

Thin: the event is parsed, counted and its errors mapped by ``runtime.scheduled``; the adapters
come from ``runtime.factory``; the logic is ``maxtrader.operations.premarket.run_premarket``
(docs/operations.md). On a day with no session it does nothing and says so.
"""

from __future__ import annotations

from datetime import datetime

from maxtrader.domain.calendar import Session
from maxtrader.domain.regime import RegimeDetector
from maxtrader.operations.premarket import PremarketDependencies, run_premarket
from maxtrader.operations.run_result import RunResult
from maxtrader.runtime import factory
from maxtrader.runtime.scheduled import scheduled_handler
from maxtrader.signals.session_start import (
    SessionStartDependencies,
    prepare_session_states,
    routable_strategies,
)


def run(scheduled_time: datetime) -> RunResult:
    deps = PremarketDependencies(
        engine=factory.safety_engine(),
        broker=factory.broker,
        market=factory.market_data,
        sessions=factory.session_store(),
        alerts=factory.alerts(),
        calendar=factory.calendar(),
        detector=RegimeDetector(factory.strategies_config().regime),
        prepare_sessions=_prepare_sessions,
    )
    return run_premarket(deps, scheduled_time)


def _prepare_sessions(session: Session) -> int:
    """Every routable strategy's state for today, from prior sessions' bars (the signals
    function would otherwise start them on the first bar, with the REST calls in its path)."""
    deps = SessionStartDependencies(
        sessions=factory.session_store(),
        market_data=factory.market_data(),
        calendar=factory.calendar(),
        strategies=routable_strategies(factory.strategies_config()),
    )
    return len(prepare_session_states(session, factory.stage_config().symbols, deps))


lambda_handler = scheduled_handler("premarket", run)
