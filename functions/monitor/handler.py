"""The monitor (EventBridge Scheduler ``monitor``: every minute of the session; safe at any time).

Fills -> positions and P&L, marks -> equity, peak and drawdown, breaker resets, exits of
unprotected positions, in-flight reservations, and reconciliation with the broker: all in
``maxtrader.operations.monitor`` (docs/monitor.md). This handler only adapts: it checks the
Scheduler event, takes the service from ``maxtrader.runtime.factory``, runs it once, emits a
metric per concern, and maps errors in ``_failed``, the one place they are decided on.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from maxtrader.domain.errors import InvalidInputError, MaxTraderError
from maxtrader.operations.monitor_report import MonitorReport
from maxtrader.runtime import factory
from maxtrader.runtime.observability import METRICS_NAMESPACE, logger, metrics, tracer
from maxtrader.runtime.schedule_event import parse_schedule_event

SCHEDULE = "monitor"


def _record(report: MonitorReport) -> None:
    for name, unit, value in report.metrics():
        metrics.add_metric(name=name, unit=MetricUnit(unit), value=value)
    # The safety state as gauges, each with its own dimensions (the alarms watch them).
    for gauge in report.gauges:
        with single_metric(name=gauge.name, unit=MetricUnit(gauge.unit), value=gauge.value,
                           namespace=METRICS_NAMESPACE) as one:  # fmt: skip
            for key, label in gauge.dimensions.items():
                one.add_dimension(name=key, value=label)
    answer = report.to_dict()
    if report.drifts or report.errors:
        logger.warning("monitor run found problems", extra={"report": answer})
    else:
        logger.info("monitor run", extra={"report": answer})


def _failed(exc: Exception) -> dict[str, Any]:
    """A malformed event is refused (a retry would not mend it); anything else is raised, so
    the Lambda's Errors alarm sees it (the next minute's run starts afresh either way)."""
    if isinstance(exc, InvalidInputError):
        logger.warning("monitor event refused", extra={"problem": str(exc)})
        metrics.add_metric(name="MonitorEventRefused", unit=MetricUnit.Count, value=1)
        return {"ok": False, "error": str(exc)}
    metrics.add_metric(name="MonitorFailed", unit=MetricUnit.Count, value=1)
    kind = "domain" if isinstance(exc, MaxTraderError) else "unexpected"
    logger.exception("monitor run failed", extra={"error": type(exc).__name__, "kind": kind})
    raise exc


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        scheduled = parse_schedule_event(event, SCHEDULE)
        logger.append_keys(scheduled_time=scheduled.scheduled_time.isoformat())
        report = factory.monitor_service().run()
    except Exception as exc:  # mapped (or re-raised) in one place: _failed
        return _failed(exc)
    _record(report)
    return report.to_dict()
