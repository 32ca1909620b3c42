"""One DynamoDB request with its vendor errors turned into domain errors (session store, alerts).

A failed condition and a cancelled transaction are raised as their own ``StateConflictError``
subclasses, because these callers decide on them (a stale save returns False, a cancelled bar
batch drops the bars already held); everything else, throttling and timeouts included, is
``StateUnavailableError``: the caller fails closed.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from maxtrader.adapters.dynamodb_store import CLIENT_CONFIG
from maxtrader.domain.errors import StateUnavailableError
from maxtrader.domain.safety.state import StateConflictError


def new_client(service: str, region: str | None = None) -> Any:
    """A client of ``service`` that fails fast like the state store's (one retry, short
    timeouts); AWS_ENDPOINT_URL, if set, points it at an emulator."""
    return boto3.client(service, region_name=region, config=CLIENT_CONFIG)  # type: ignore[call-overload]


class ConditionFailed(StateConflictError):
    """A single write's condition did not hold: nothing was written."""


class TransactionCancelled(StateConflictError):
    """A transaction was cancelled; ``codes`` holds one reason per item, in request order."""

    def __init__(self, operation: str, codes: list[str]) -> None:
        super().__init__(f"{operation}: transaction cancelled {codes}")
        self.codes = codes


def call(client: Any, operation: str, **kwargs: Any) -> dict[str, Any]:
    try:
        response: dict[str, Any] = getattr(client, operation)(**kwargs)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code == "ConditionalCheckFailedException":
            raise ConditionFailed(f"{operation}: condition failed") from exc
        if code == "TransactionCanceledException":
            reasons: list[Any] = exc.response.get("CancellationReasons") or []
            raise TransactionCancelled(
                operation, [str(r.get("Code", "None")) for r in reasons]
            ) from exc
        raise StateUnavailableError(f"{operation}: {code}: {error.get('Message', '')}") from exc
    except BotoCoreError as exc:  # timeouts, connection errors
        raise StateUnavailableError(f"{operation}: {type(exc).__name__}: {exc}") from exc
    return response
