"""The health function (Scheduler, every minute in the session): the safety spec's checks.

Thin: the event is parsed, counted and its errors mapped by ``runtime.scheduled``; a metric per
check by ``runtime.health_metrics``; the adapters come from ``runtime.factory``; the logic is
``maxtrader.operations.health.run_health`` (automatic safe mode on a failure, cleared when
healthy: docs/operations.md).
"""

from __future__ import annotations

from datetime import datetime

from maxtrader.operations.health import HealthDependencies, run_health
from maxtrader.operations.run_result import RunResult
from maxtrader.runtime import factory
from maxtrader.runtime.health_metrics import record_health_checks
from maxtrader.runtime.scheduled import scheduled_handler


def run(scheduled_time: datetime) -> RunResult:
    deps = HealthDependencies(
        engine=factory.safety_engine(),
        sessions=factory.session_store(),
        market=factory.market_data,
        broker=factory.broker,  # built on first use: a secret that fails counts as the broker's
        alerts=factory.alerts(),
        calendar=factory.calendar(),
        symbols=factory.stage_config().symbols,
    )
    return run_health(deps, scheduled_time)


lambda_handler = scheduled_handler("health", run, record_health_checks)
