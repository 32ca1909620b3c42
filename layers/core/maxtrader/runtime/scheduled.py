"""What every scheduled function's handler shares: parse, run, count, and map errors, once.

    lambda_handler = scheduled_handler("regime", run)   # run(scheduled_time) -> RunResult

The handler parses the Scheduler event (``parse_schedule_event``), calls ``run`` with the
event's scheduled time (a late or retried invocation acts for the minute it was due), logs the
result and emits its EMF metrics, namespace ``MaxTrader``, dimension ``service`` (the function):

    Runs (Count)            every run that got as far as the logic
    Acted (Count, 0 | 1)    0: nothing to do (a holiday, outside the session, not the time)
    AlertFailures (Count)   alerts that could not be delivered (alarm on > 0)
    RunFailures (Count)     the run raised (with the Lambda Errors metric: alarm on > 0)
    EventRefused (Count)    a malformed event (a stack or hand-made invocation bug)

Errors map here alone: a malformed event is answered ``{"ok": false, ...}`` and not raised (a
retry cannot fix it); anything else is counted, logged and re-raised, so that Lambda's
asynchronous retries run the step again (every step is idempotent) and the Errors alarm fires.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from maxtrader.domain.errors import InvalidInputError
from maxtrader.operations.run_result import RunResult
from maxtrader.runtime.observability import logger, metrics, tracer
from maxtrader.runtime.schedule_event import parse_schedule_event

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]
Telemetry = Callable[[RunResult], None]


def _count(name: str, value: float = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def scheduled_handler(
    schedule: str, run: Callable[[datetime], RunResult], telemetry: Telemetry | None = None
) -> Handler:
    @logger.inject_lambda_context
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        try:
            parsed = parse_schedule_event(event, schedule)
        except InvalidInputError as exc:
            _count("EventRefused")
            logger.error("schedule event refused", extra={"error": str(exc)})
            return {"ok": False, "error": "invalid_event", "message": str(exc)}
        try:
            result = run(parsed.scheduled_time)
        except Exception as exc:
            _count("RunFailures")
            logger.exception(f"{schedule} run failed", extra={"error": type(exc).__name__})
            raise
        _count("Runs")
        _count("Acted", 1 if result.acted else 0)
        _count("AlertFailures", result.alert_failures)
        if telemetry is not None:
            telemetry(result)
        answer = {"ok": True, **result.to_dict()}
        log = logger.warning if result.warnings else logger.info
        log(result.summary, extra={"result": answer})
        return answer

    return cast(Handler, lambda_handler)


__all__ = ["Handler", "scheduled_handler"]
