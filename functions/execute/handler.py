"""The signal queue (SQS FIFO, one group per symbol) in; at most one broker order per signal out.

Each record is a versioned signal message (trading/signal_message.py). Powertools idempotency,
keyed on the signal id, runs ``maxtrader.execution.execute_signal`` once per signal; a duplicate
delivery gets the stored answer back. When a Lambda times out mid-run its record stays
INPROGRESS and, once expired, the signal runs again (powertools-lambda-python #8049): the reserved
ticket and the broker lookup by client_order_id are then the last guard. A record that fails
(``_failed``, the one place errors are mapped) is retried by SQS; the FIFO processor skips the rest
of that symbol's group so ordering holds, other symbols go on. Contract: docs/execution.md.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import JsonValue

from maxtrader.domain.errors import DataError, MaxTraderError
from maxtrader.execution import ExecutionDeps, RetryLaterError, execute_signal
from maxtrader.runtime import factory
from maxtrader.runtime.execute_telemetry import record_result
from maxtrader.runtime.observability import logger, metrics, tracer
from maxtrader.trading.signal_message import SignalMessage, decode_signal_message

KEY_PREFIX = "maxtrader-execute-signal"  # stable: a rename would forget every stored record
processor = SqsFifoPartialProcessor(skip_group_on_error=True)
idempotency = IdempotencyConfig(event_key_jmespath="signal.id", raise_on_no_idempotency_key=True)
sleep = time.sleep  # between send attempts (tests replace it)


def deps() -> ExecutionDeps:
    return ExecutionDeps(
        broker=factory.broker(), engine=factory.safety_engine(), alerts=factory.alerts(),
        calendar=factory.calendar(), strategies=factory.strategies_config(),
        clock=factory.clock(), sleep=sleep,
    )  # fmt: skip


@idempotent_function(  # type: ignore[untyped-decorator]  # Powertools' decorator is untyped
    data_keyword_argument="message", persistence_store=factory.idempotency_store(),
    config=idempotency, key_prefix=KEY_PREFIX,
)  # fmt: skip
def execute_once(*, message: dict[str, Any], signal: SignalMessage,
                 deps: ExecutionDeps) -> dict[str, JsonValue]:  # fmt: skip
    """``message`` is what the key is taken from (``signal.id``); ``signal`` its decoded form."""
    result = execute_signal(signal, deps)
    record_result(metrics, result)
    logger.info("signal executed", extra=result.answer())
    return result.answer()


@tracer.capture_method(capture_response=False)
def record_handler(record: SQSRecord) -> dict[str, JsonValue]:
    try:
        signal = decode_signal_message(record.body)
        answer: dict[str, JsonValue] = execute_once(
            message=signal.model_dump(mode="json"), signal=signal, deps=deps()
        )
        return answer
    except Exception as exc:
        _failed(exc, record)
        raise


def _failed(exc: Exception, record: SQSRecord) -> None:
    """Log (and count) why a record failed; the batch processor reports it for redelivery."""
    where = {"message_id": record.message_id, "error": type(exc).__name__}
    if isinstance(exc, RetryLaterError):
        record_result(metrics, exc.result)
        logger.warning("signal unfinished: retry", extra={**where, **exc.result.answer()})
    elif isinstance(exc, IdempotencyAlreadyInProgressError):
        logger.info("signal already being executed: retry later", extra=where)
    elif isinstance(exc, DataError):  # never valid: redelivered until the DLQ takes it
        logger.error("signal message refused", extra={**where, "detail": str(exc)[:500]})
    elif isinstance(exc, MaxTraderError):  # state, broker, secret, config: retried
        logger.error("signal failed", extra={**where, "detail": str(exc)[:500]})
    else:
        logger.exception("signal failed unexpectedly", extra=where)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    idempotency.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
