"""Every AWS request the process makes, as it goes on the wire (botocore's one choke point).

    with aws_calls() as calls:
        handler.lambda_handler(event, context)
    assert calls == ["dynamodb.BatchGetItem", "dynamodb.UpdateItem"]

Whatever client or adapter makes a request, it is listed (``service.Operation``, in order); a
retry botocore makes inside one call is one entry, as it is one call of the code under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from botocore.client import BaseClient


@contextmanager
def aws_calls() -> Iterator[list[str]]:
    calls: list[str] = []
    # The one method every client's every operation goes through (not public, but stable
    # since botocore 1.0): whichever adapter built its client, and whenever, it is counted.
    original = BaseClient._make_api_call  # type: ignore[attr-defined]

    def recorded(client: BaseClient, operation: str, params: Any) -> Any:
        calls.append(f"{client.meta.service_model.service_name}.{operation}")
        return original(client, operation, params)

    with mock.patch.object(BaseClient, "_make_api_call", recorded):
        yield calls
