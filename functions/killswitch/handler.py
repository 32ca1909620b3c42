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

from typing import Any

from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from maxtrader.operations import killswitch_requests as req
from maxtrader.operations.killswitch import Outcome
from maxtrader.runtime import killswitch_answers, operator_factory
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


killswitch_answers.register(app, ROUTES)  # every error answer, in one place


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
