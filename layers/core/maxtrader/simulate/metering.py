"""What the deployed functions ask of AWS in a simulated session, in the units AWS bills.

    meter = UsageMeter()
    hooks = meter.hooks()             # botocore hooks for the handlers' (default) session
    with meter.charging("signals"):   # every request made meanwhile is the signals function's
        ...
    meter.usage()                     # {function: FunctionUsage}

A request is charged to the function running when it is made (the runner names it around each
invocation and queue delivery); the simulator's own requests (its session, not the default one)
are not seen. DynamoDB request units follow the on-demand rules on the sizes on the wire: a
read unit per 4 KB read strongly consistently (the handlers' reads are), a write unit per 1 KB
of each item written (DynamoDB's item size: attribute names and values), twice that inside a
transaction, and at least one per item. A read is sized by the JSON response body, a little
more than the items DynamoDB counts; an update by its key and new values: the estimate errs
high on reads and may err low on an update of a large item (the handlers' are small).
``infra/maxtrader_infra/cost_model.py`` prices a month from these figures
(``session_usage.json``, written by ``maxtrader simulate --usage``).
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024
_READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
_ITEM_LISTS = {"TransactWriteItems": "TransactItems", "TransactGetItems": "TransactItems"}


class FunctionUsage(BaseModel):
    """One function's requests over the session (totals, not per invocation)."""

    model_config = ConfigDict(extra="forbid")
    invocations: int = 0
    dynamodb_read_units: float = 0.0
    dynamodb_write_units: float = 0.0
    dynamodb_requests: int = 0
    sqs_requests: int = 0
    sns_publishes: int = 0
    secrets_requests: int = 0


def _items(operation: str, request: dict[str, Any]) -> int:
    """How many items a batch or transaction names (1 for a single-item call)."""
    if operation in _ITEM_LISTS:
        return len(request.get(_ITEM_LISTS[operation], [])) or 1
    if operation == "BatchGetItem":
        return sum(len(t.get("Keys", [])) for t in request.get("RequestItems", {}).values()) or 1
    if operation == "BatchWriteItem":
        return sum(len(v) for v in request.get("RequestItems", {}).values()) or 1
    return 1


def attribute_size(value: dict[str, Any]) -> int:
    """DynamoDB's size of one attribute value in wire form ({"S": ...}, {"M": {...}} ...)."""
    (kind, v), *_ = value.items()
    if kind in ("S", "B"):
        return len(v.encode() if isinstance(v, str) else v)
    if kind == "N":
        return len(str(v).lstrip("-").replace(".", "")) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "BS", "NS"):
        return sum(attribute_size({kind[0]: x}) for x in v)
    if kind == "L":
        return 3 + sum(1 + attribute_size(x) for x in v)
    if kind == "M":
        return 3 + item_size(v)
    return len(json.dumps(v))


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def _written_sizes(operation: str, request: dict[str, Any]) -> list[int]:
    """The size of each item a write request writes (an update: its key and new values)."""

    def one(op: dict[str, Any]) -> int:
        if "Item" in op:
            return item_size(op["Item"])
        return item_size(op.get("Key", {})) + item_size(op.get("ExpressionAttributeValues", {}))

    if operation == "TransactWriteItems":
        return [one(next(iter(t.values()))) for t in request.get("TransactItems", [])]
    if operation == "BatchWriteItem":
        return [
            one(next(iter(r.values())))
            for requests in request.get("RequestItems", {}).values()
            for r in requests
        ]
    return [one(request)]


def read_units(operation: str, request: dict[str, Any], response_bytes: int) -> float:
    items = _items(operation, request)
    units = max(items, math.ceil(response_bytes / READ_UNIT_BYTES))
    return float(2 * units if operation == "TransactGetItems" else units)


def write_units(operation: str, request: dict[str, Any]) -> float:
    units = sum(
        max(1, math.ceil(size / WRITE_UNIT_BYTES)) for size in _written_sizes(operation, request)
    )
    return float(2 * units if operation == "TransactWriteItems" else units)


@dataclass
class UsageMeter:
    current: str = ""  # the function being invoked ("" between invocations: not charged)
    _usage: dict[str, FunctionUsage] = field(default_factory=dict)
    _pending: dict[int, dict[str, Any]] = field(default_factory=dict)

    @contextlib.contextmanager
    def charging(self, function: str, *, invocations: int = 1) -> Iterator[None]:
        previous, self.current = self.current, function
        self._of(function).invocations += invocations
        try:
            yield
        finally:
            self.current = previous

    def usage(self) -> dict[str, FunctionUsage]:
        return {name: u.model_copy() for name, u in sorted(self._usage.items())}

    def hooks(self) -> list[tuple[str, Callable[..., Any]]]:
        return [("before-call", self._before), ("after-call", self._after)]

    def _of(self, function: str) -> FunctionUsage:
        return self._usage.setdefault(function, FunctionUsage())

    def _before(self, model: Any, params: dict[str, Any], context: Any = None, **_: Any) -> None:
        if not self.current or model.service_model.service_name != "dynamodb":
            return
        body = params.get("body") or b""
        raw = body if isinstance(body, bytes) else str(body).encode()
        try:
            request = json.loads(raw) if raw else {}
        except ValueError:
            request = {}
        # botocore hands the same context dict to before-call and after-call of one request.
        self._pending[id(context)] = request

    def _after(self, model: Any, http_response: Any = None, context: Any = None, **_: Any) -> None:
        service, operation = model.service_model.service_name, model.name
        pending = self._pending.pop(id(context), None)
        if not self.current:
            return
        usage = self._of(self.current)
        if service == "dynamodb":
            request = pending or {}
            usage.dynamodb_requests += 1
            received = len(getattr(http_response, "content", b"") or b"")
            if operation in _READS:
                usage.dynamodb_read_units += read_units(operation, request, received)
            elif operation in _WRITES:
                usage.dynamodb_write_units += write_units(operation, request)
        elif service == "sqs":
            usage.sqs_requests += 1
        elif service == "sns" and operation == "Publish":
            usage.sns_publishes += 1
        elif service == "secretsmanager":
            usage.secrets_requests += 1
