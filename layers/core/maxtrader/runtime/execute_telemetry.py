"""The execute function's EMF metrics (namespace ``MaxTrader``; docs/execution.md).

EntriesApproved   Count         entries the safety layer approved and reserved in this run
EntriesRejected   Count         dimension ``check``: each failed safety check of a rejection, or
                                the reason a signal was not sent (stale_signal, no contract...)
OrdersSubmitted   Count         orders the broker acknowledged (ticket CONFIRMED)
OrderErrors       Count         dimension ``kind``: each error counted toward the error-rate
                                breaker (BrokerUnavailableError, BrokerRejectedError, ...)
OrderLatencyMs    Milliseconds  the signal's decision (its bar's close) to the broker's answer

A dimensioned metric goes out as its own EMF document (``single_metric``), so the dimension of
one signal's rejection never labels another's count in the same batch.
"""

from __future__ import annotations

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from maxtrader.execution import ExecutionResult, Outcome
from maxtrader.runtime.observability import METRICS_NAMESPACE


def record_result(metrics: Metrics, result: ExecutionResult) -> None:
    if result.approved:
        metrics.add_metric(name="EntriesApproved", unit=MetricUnit.Count, value=1)
    if result.outcome is Outcome.SUBMITTED:
        metrics.add_metric(name="OrdersSubmitted", unit=MetricUnit.Count, value=1)
        if result.latency_ms is not None:
            metrics.add_metric(
                name="OrderLatencyMs", unit=MetricUnit.Milliseconds, value=result.latency_ms
            )
    if result.outcome is Outcome.REJECTED:
        checks: tuple[str, ...] = result.failed_checks
    elif result.outcome is Outcome.NOT_SENT:
        checks = (result.reason,)
    else:
        checks = ()
    for check in checks:
        _dimensioned(metrics, "EntriesRejected", "check", check)
    for kind in result.order_errors:
        _dimensioned(metrics, "OrderErrors", "kind", kind)


def _dimensioned(metrics: Metrics, name: str, dimension: str, value: str) -> None:
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=1,
        namespace=METRICS_NAMESPACE,
        default_dimensions=metrics.default_dimensions,
    ) as metric:
        metric.add_dimension(name=dimension, value=value)
