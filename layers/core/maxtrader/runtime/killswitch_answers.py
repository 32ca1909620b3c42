"""Every error answer of the kill-switch URL, in one place (the handler registers them)."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from maxtrader.domain.errors import StateUnavailableError
from maxtrader.operations.killswitch_requests import RequestRefused
from maxtrader.runtime.observability import logger


def _error(status: int, message: str) -> Response[Any]:
    return Response(status_code=status, content_type="application/json",
                    body={"error": message, "status": status})  # fmt: skip


def register(app: LambdaFunctionUrlResolver, routes: Mapping[str, str]) -> None:
    """Map refusals, unknown paths and methods, an unreadable store and anything unexpected."""

    def refused(exc: RequestRefused) -> Response[Any]:
        logger.warning("request refused", extra={"status": exc.status, "problem": exc.message})
        return _error(exc.status, exc.message)

    def not_found(_: NotFoundError) -> Response[Any]:
        allowed = routes.get(app.current_event.path)
        if allowed is None:
            return _error(HTTPStatus.NOT_FOUND, f"no such path (paths: {', '.join(routes)})")
        answer = _error(HTTPStatus.METHOD_NOT_ALLOWED, f"method not allowed (use {allowed})")
        answer.headers["Allow"] = allowed
        return answer

    def state_unavailable(exc: StateUnavailableError) -> Response[Any]:
        logger.error("state store unavailable", extra={"error": str(exc)})
        message = "state store unavailable: the change may not be made; check /status, retry or"
        return _error(HTTPStatus.SERVICE_UNAVAILABLE, f"{message} see docs/runbook.md")

    def unexpected(exc: Exception) -> Response[Any]:
        logger.exception("unexpected error")
        return _error(HTTPStatus.INTERNAL_SERVER_ERROR, f"internal error ({type(exc).__name__})")

    app.not_found(not_found)
    app.exception_handler(RequestRefused)(refused)
    app.exception_handler(StateUnavailableError)(state_unavailable)
    app.exception_handler(Exception)(unexpected)  # the specific ones above are looked up first
