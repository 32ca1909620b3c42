"""The kill-switch Function URL (AWS_IAM auth): the operator's way to stop trading.

    GET  /status                              switches, trading state, breakers
    POST /engage    {"reason", "flatten"?}    entries stop at once; flatten optional
    POST /release   {"reason"}
    POST /safe-mode {"on", "reason"}          exits only
    POST /flatten   {"reason"}                cancel every order, close every position

The caller's IAM ARN (``requestContext.authorizer.iam.userArn``) is the actor of every change.
Thin on purpose: parse, act through ``maxtrader.operations.killswitch``, map errors here alone.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from maxtrader.domain.errors import StateUnavailableError
from maxtrader.operations import killswitch_requests as req
from maxtrader.operations.killswitch import Outcome
from maxtrader.runtime import operator_factory
from maxtrader.runtime.observability import logger, metrics, tracer

app = LambdaFunctionUrlResolver()
ROUTES = {"/status": "GET", "/engage": "POST", "/release": "POST", "/safe-mode": "POST",
          "/flatten": "POST"}  # fmt: skip


def _actor() -> str:
    return req.caller_arn(app.current_event.get("requestContext"))


def _body(model: type[req.M]) -> req.M:
    try:
        raw = app.current_event.decoded_body
    except (ValueError, UnicodeDecodeError):  # a base64 body that is not base64 or not UTF-8
        raise req.RequestRefused(400, "body: not valid JSON") from None
    return req.parse_body(raw, model)


def _changed(outcome: Outcome) -> dict[str, Any]:
    if outcome.changed:
        metrics.add_dimension(name="action", value=outcome.action)
        metrics.add_metric(name="KillSwitchChanges", unit=MetricUnit.Count, value=1)
    logger.info("kill switch request", extra={"outcome": outcome.to_dict()})
    return outcome.to_dict()


@app.get("/status")
def status() -> dict[str, Any]:
    _actor()
    return operator_factory.killswitch_operations().status()


@app.post("/engage")
def engage() -> dict[str, Any]:
    actor, body = _actor(), _body(req.EngageRequest)
    return _changed(operator_factory.killswitch_operations().engage(actor, body))


@app.post("/release")
def release() -> dict[str, Any]:
    actor, body = _actor(), _body(req.ReleaseRequest)
    return _changed(operator_factory.killswitch_operations().release(actor, body))


@app.post("/safe-mode")
def safe_mode() -> dict[str, Any]:
    actor, body = _actor(), _body(req.SafeModeRequest)
    return _changed(operator_factory.killswitch_operations().safe_mode(actor, body))


@app.post("/flatten")
def flatten() -> dict[str, Any]:
    actor, body = _actor(), _body(req.FlattenRequest)
    return _changed(operator_factory.killswitch_operations().flatten(actor, body))


# --- every error answer, in one place ------------------------------------------------------------
def _error(status: int, message: str) -> Response[Any]:
    return Response(status_code=status, content_type="application/json",
                    body={"error": message, "status": status})  # fmt: skip


def refused(exc: req.RequestRefused) -> Response[Any]:
    logger.warning("request refused", extra={"status": exc.status, "problem": exc.message})
    return _error(exc.status, exc.message)


@app.not_found
def not_found(_: NotFoundError) -> Response[Any]:
    allowed = ROUTES.get(app.current_event.path)
    if allowed is None:
        return _error(HTTPStatus.NOT_FOUND, f"no such path (paths: {', '.join(ROUTES)})")
    answer = _error(HTTPStatus.METHOD_NOT_ALLOWED, f"method not allowed (use {allowed})")
    answer.headers["Allow"] = allowed
    return answer


def state_unavailable(exc: StateUnavailableError) -> Response[Any]:
    logger.error("state store unavailable", extra={"error": str(exc)})
    message = "state store unavailable: the change may not be made; check /status, retry or see"
    return _error(HTTPStatus.SERVICE_UNAVAILABLE, f"{message} docs/runbook.md")


def unexpected(exc: Exception) -> Response[Any]:
    logger.exception("unexpected error")
    return _error(HTTPStatus.INTERNAL_SERVER_ERROR, f"internal error ({type(exc).__name__})")


app.exception_handler(req.RequestRefused)(refused)
app.exception_handler(StateUnavailableError)(state_unavailable)
app.exception_handler(Exception)(unexpected)  # the specific ones above are looked up first


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
