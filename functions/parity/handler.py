"""The ``parity`` schedule after the close: today's stored day through the backtester vs today's
audit log (``maxtrader.parity.nightly_parity``); any difference is alerted and the result stored
as an ``AuditKind.PARITY`` record. Contract: docs/parity.md.

Thin: parse the Scheduler event, adapters from ``maxtrader.runtime.factory``, one logic call.
The day is the New York trading date of the event's scheduled time (a retried or late run
checks the day it was due for); a schedule firing on a holiday does nothing and says so.
Errors: a malformed event is logged and answered (a retry cannot fix it); anything else (the
store unreadable, the alert undeliverable) raises, so Scheduler retries and then dead-letters.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from maxtrader.domain.clock import trading_date
from maxtrader.domain.errors import InvalidInputError
from maxtrader.parity import nightly_parity
from maxtrader.runtime import factory
from maxtrader.runtime.observability import logger, metrics, tracer
from maxtrader.runtime.schedule_event import parse_schedule_event

SCHEDULE = "parity"


def _run(event: Any) -> dict[str, Any]:
    parsed = parse_schedule_event(event, SCHEDULE)
    day = date.fromisoformat(trading_date(parsed.scheduled_time))
    outcome = nightly_parity(day, factory.parity_ports(), now=parsed.scheduled_time)
    if outcome.result is not None:
        differences = len(outcome.result.differences)
        metrics.add_metric(name="ParityDifferences", unit=MetricUnit.Count, value=differences)
    return outcome.answer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        answer = _run(event)
    except InvalidInputError as exc:  # the one mapping: a bad event is answered, not retried
        logger.error("parity event refused", extra={"error": str(exc)})
        return {"error": "invalid_event", "message": str(exc)}
    logger.info("parity checked", extra=answer)
    return answer
