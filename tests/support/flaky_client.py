"""A boto3 client wrapper that fails chosen operations: throttling and timeouts on demand."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from botocore.exceptions import ClientError, ReadTimeoutError


def throttled(operation: str = "TransactWriteItems") -> ClientError:
    return ClientError(
        {
            "Error": {
                "Code": "ProvisionedThroughputExceededException",
                "Message": "The level of configured provisioned throughput was exceeded",
            }
        },
        operation,
    )


def timed_out() -> ReadTimeoutError:
    return ReadTimeoutError(endpoint_url="http://127.0.0.1/")


class FlakyClient:
    """Delegates to ``client``; ``fail(op, error, times)`` makes the next calls of ``op`` raise
    (``after=N``: once N calls of ``op`` have gone through).

    ``calls`` counts the requests that reached the real client, per operation.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self._failures: dict[str, list[Exception | None]] = defaultdict(list)
        self.calls: dict[str, int] = defaultdict(int)

    def fail(self, operation: str, error: Exception, times: int = 1, *, after: int = 0) -> None:
        self._failures[operation].extend([None] * after + [error] * times)

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._client, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            if self._failures.get(name):
                error = self._failures[name].pop(0)
                if error is not None:
                    raise error
            self.calls[name] += 1
            return target(*args, **kwargs)

        return call
