"""POST / on the ingest Function URL (auth NONE): signed minute bars in, stored and handed on.

The handler only adapts: it reads the Function URL v2 event, builds the adapters once per
container (``maxtrader.runtime.factory``), calls ``maxtrader.ingest.ingest_bars`` with the wall
clock, and turns the result or the error into a response in ``_error_response``, the one place
errors become statuses. Contract: docs/ingest.md.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from maxtrader.domain.clock import Clock
from maxtrader.domain.errors import SecretUnavailableError, StateUnavailableError
from maxtrader.ingest import (
    BarQueueUnavailableError,
    IngestDependencies,
    IngestRejectedError,
    IngestRequest,
    ingest_bars,
)
from maxtrader.ingest.telemetry import record_rejection, record_result
from maxtrader.runtime import factory
from maxtrader.runtime.observability import logger, metrics, tracer
from maxtrader.webhook import SIGNATURE_HEADER

app = LambdaFunctionUrlResolver()
_RETRYABLE = (StateUnavailableError, BarQueueUnavailableError, SecretUnavailableError)
clock: Clock = factory.clock()  # the runtime clock; tests replace it with a FixedClock


def _json(status: int, body: dict[str, Any]) -> Response[str]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON,
                    body=json.dumps(body))  # fmt: skip


@app.post("/")
@tracer.capture_method(capture_response=False)
def ingest() -> Response[str]:
    event = app.current_event
    request = IngestRequest(
        body=event.body,
        is_base64_encoded=bool(event.is_base64_encoded),
        signature=event.headers.get(SIGNATURE_HEADER),
    )
    deps = IngestDependencies.of(
        store=factory.session_store(),
        queue=factory.bar_queue(),
        keys=factory.webhook_secrets(),
        symbols=factory.stage_config().symbols,
    )
    result = ingest_bars(request, deps, clock)
    record_result(metrics, result)
    logger.info("bars ingested", extra=result.answer())
    return _json(HTTPStatus.OK, result.answer())


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]  # Powertools: untyped
def _error_response(exc: Exception) -> Response[str]:
    if isinstance(exc, IngestRejectedError):
        record_rejection(metrics, exc)
        logger.warning("ingest refused", extra={"reason": exc.reason, "status": exc.status})
        return _json(exc.status, {"error": exc.reason, "message": str(exc)})
    if isinstance(exc, _RETRYABLE):
        # Nothing acknowledged: the sender retries and the idempotent path converges.
        logger.error("ingest unavailable", extra={"error": type(exc).__name__, "detail": str(exc)})
        return _json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": "unavailable", "retry": True})
    if isinstance(exc, ServiceError):  # the resolver's own: no such route (404), ...
        return _json(exc.status_code, {"error": HTTPStatus(exc.status_code).phrase.lower()})
    logger.error("ingest failed", exc_info=exc)
    return _json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal", "retry": True})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.LAMBDA_FUNCTION_URL)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
