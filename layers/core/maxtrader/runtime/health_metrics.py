"""The health function's metric per check: ``HealthCheckFailed`` (0 | 1), dimension ``check``,
and ``VixAgeSeconds`` (the reading's age, when there is one).

One EMF document per check (Powertools ``single_metric``), so each check has its own series
(``check=data_freshness:SPY``, ``check=broker_connectivity`` ...) to graph and to alarm on,
beside the run's own metrics (runtime/scheduled.py).
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from maxtrader.operations.health import check_outcomes
from maxtrader.operations.run_result import RunResult
from maxtrader.runtime.observability import METRICS_NAMESPACE

METRIC = "HealthCheckFailed"
VIX_AGE = "VixAgeSeconds"  # how old the VIX reading health judged was (alarmed in the session)


def record_health_checks(result: RunResult) -> None:
    age = result.detail.get("vix_age_seconds")
    if isinstance(age, int | float):
        with single_metric(name=VIX_AGE, unit=MetricUnit.Seconds, value=age,
                           namespace=METRICS_NAMESPACE):  # fmt: skip
            pass
    for name, passed in sorted(check_outcomes(result).items()):
        with single_metric(
            name=METRIC,
            unit=MetricUnit.Count,
            value=0 if passed else 1,
            namespace=METRICS_NAMESPACE,
        ) as metric:
            metric.add_dimension(name="check", value=name)


__all__ = ["METRIC", "VIX_AGE", "record_health_checks"]
