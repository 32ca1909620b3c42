"""A boto3 client wrapper that records what DynamoDB answered and fails a chosen later call.

``RecordingClient.requests[op]`` / ``responses[op]`` list the arguments and the answers per
operation (so a test can sum the ``ScannedCount`` a read cost, or read what was published);
``fail_call(op, n, error)`` makes the n-th call (1-based, from now) of ``op`` raise before it
reaches the server.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any


class RecordingClient:
    def __init__(self, client: Any) -> None:
        self._client = client
        self.requests: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.responses: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._failures: dict[str, dict[int, Exception]] = defaultdict(dict)
        self._counts: dict[str, int] = defaultdict(int)

    def fail_call(self, operation: str, nth: int, error: Exception) -> None:
        self._failures[operation][self._counts[operation] + nth] = error

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._client, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self._counts[name] += 1
            self.requests[name].append(kwargs)
            error = self._failures[name].pop(self._counts[name], None)
            if error is not None:
                raise error
            response = target(*args, **kwargs)
            self.responses[name].append(response)
            return response

        return call
