"""The regime function (Scheduler, every 5 minutes in the session): VIX -> regime -> state.

Thin: the event is parsed, counted and its errors mapped by ``runtime.scheduled``; the adapters
come from ``runtime.factory``; the logic is ``maxtrader.operations.regime.run_regime``
(docs/operations.md). Outside the session it does nothing and says so.
"""

from __future__ import annotations

from datetime import datetime

from maxtrader.domain.regime import RegimeDetector
from maxtrader.operations.regime import RegimeDependencies, run_regime
from maxtrader.operations.run_result import RunResult
from maxtrader.runtime import factory
from maxtrader.runtime.scheduled import scheduled_handler


def run(scheduled_time: datetime) -> RunResult:
    deps = RegimeDependencies(
        market=factory.market_data,
        sessions=factory.session_store(),
        state=factory.state_store(),
        alerts=factory.alerts(),
        calendar=factory.calendar(),
        detector=RegimeDetector(factory.strategies_config().regime),
    )
    return run_regime(deps, scheduled_time)


lambda_handler = scheduled_handler("regime", run)
