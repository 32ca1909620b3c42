"""The signals function: bars-queue batches (SQS FIFO) and the ``signals-poll`` schedule.

Both events end in one call of ``maxtrader.signals`` over adapters from the factory: a bars
queue record -> ``handle_bar_message``; a Scheduler event -> ``poll_closed_minutes`` at its
scheduled time. Records are processed with Powertools' ``SqsFifoPartialProcessor``
(``skip_group_on_error``): a record that fails fails the rest of its symbol's group, which SQS
redelivers in order, while the other symbols' records go on. ``_failed`` is the one place
errors are mapped. Contract: docs/signals.md.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from maxtrader.domain.clock import Clock
from maxtrader.domain.errors import InvalidInputError
from maxtrader.runtime import factory
from maxtrader.runtime.observability import logger, metrics, tracer
from maxtrader.runtime.schedule_event import parse_schedule_event
from maxtrader.runtime.signals_metrics import record_failure, record_outcome, set_trigger
from maxtrader.signals import (
    SignalsDependencies,
    SignalsOutcome,
    handle_bar_message,
    poll_closed_minutes,
)

POLL = "signals-poll"
processor = SqsFifoPartialProcessor(skip_group_on_error=True)
clock: Clock = factory.clock()  # the runtime clock; tests replace it with a FixedClock


def _deps() -> SignalsDependencies:
    return SignalsDependencies.of(
        sessions=factory.session_store(), audit=factory.state_store(),
        queue=factory.signal_queue(), market_data=factory.market_data,
        calendar=factory.calendar(), strategies=factory.strategies_config(),
        symbols=factory.stage_config().symbols, clock=clock,
    )  # fmt: skip


def _failed(exc: Exception, trigger: str) -> None:
    """Count and log a failure by kind; the caller re-raises (SQS / Scheduler redeliver)."""
    record_failure(metrics)
    if isinstance(exc, InvalidInputError):  # refused on every delivery: ends in the DLQ
        logger.error("signals refused", extra={"trigger": trigger, "detail": str(exc)})
    else:  # a store, queue or vendor outage: the retry converges (docs/signals.md)
        logger.error("signals unavailable", extra={"trigger": trigger,
                     "error": type(exc).__name__, "detail": str(exc)})  # fmt: skip


def _done(outcome: SignalsOutcome, trigger: str) -> dict[str, Any]:
    record_outcome(metrics, outcome)
    logger.info("signals stepped", extra={"trigger": trigger, **outcome.answer()})
    return outcome.answer()


@tracer.capture_method(capture_response=False)
def _poll(event: dict[str, Any]) -> dict[str, Any]:
    set_trigger(metrics, "poll")
    try:
        tick = parse_schedule_event(event, POLL)
        return _done(poll_closed_minutes(tick.scheduled_time, _deps()), "poll")
    except Exception as exc:
        _failed(exc, "poll")
        raise


def _bars(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    set_trigger(metrics, "bars")
    deps = _deps().for_batch(event["Records"])  # the records' first reads are one

    @tracer.capture_method(capture_response=False)
    def one_bar(record: SQSRecord) -> None:  # Powertools passes it as ``record=``
        try:
            _done(handle_bar_message(record.body, deps), "bars")
        except Exception as exc:
            _failed(exc, "bars")
            raise

    response = process_partial_response(
        event=event, record_handler=one_bar, processor=processor, context=context
    )
    return dict(response)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if isinstance(event, dict) and "Records" in event:
        return _bars(event, context)
    return _poll(event)
