"""The state table's requests, for ``DynamoDBStateStore``: one call with its vendor errors
mapped to domain errors, the reads (one item, a batch, a transaction, a query) and the writes
(puts, versioned puts, ADDs, audit puts) a store method combines.

- A write of one item is its own request (PutItem, UpdateItem, DeleteItem): atomic by itself,
  conditioned the same way, half a transaction's write units. Two or more: one transaction.
- A failed condition, or a transaction cancelled by conditions or conflicts only, raises
  ``Cancelled`` (a ``StateConflictError`` with one reason per item); any other botocore error
  ``StateUnavailableError`` (the caller fails closed); an item of unexpected shape too.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from maxtrader import state_schema as schema
from maxtrader.adapters import dynamodb_items as items
from maxtrader.adapters.dynamodb_items import Item, key, n, s
from maxtrader.adapters.dynamodb_values import decoded
from maxtrader.domain.clock import trading_date
from maxtrader.domain.errors import StateUnavailableError
from maxtrader.domain.models import AuditRecord
from maxtrader.domain.safety.state import StateConflictError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["CONFLICT_CODES", "Cancelled", "StateTable"]

CONFLICT_CODES = frozenset({"ConditionalCheckFailed", "TransactionConflict"})
_SEQUENCE = itertools.count()


def _audit_sk(record: AuditRecord) -> str:
    """Sorts by time; the sequence keeps this process's order within one instant, the uuid
    keeps concurrent writers apart."""
    return f"{record.ts.isoformat()}#{next(_SEQUENCE):012d}#{uuid.uuid4().hex[:12]}"


class Cancelled(StateConflictError):
    """A condition failed or a transaction was cancelled; ``codes``: one reason per item (a
    single-item write: its one reason)."""

    def __init__(self, codes: list[str]) -> None:
        super().__init__(f"transaction cancelled: {codes}")
        self.codes = codes


# A transaction of one item buys nothing (and moto, the local stand-in, deep-copies its whole
# table in every transaction).
_SINGLE_WRITES = {"Put": "put_item", "Update": "update_item", "Delete": "delete_item"}
_BATCH_ATTEMPTS = 3  # keys a BatchGetItem left unprocessed (throttling) are asked again


class StateTable:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self.table = table_name

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response: dict[str, Any] = getattr(self._client, operation)(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            if code == "TransactionCanceledException":
                reasons: list[Any] = exc.response.get("CancellationReasons") or []
                codes = [str(r.get("Code", "None")) for r in reasons]
                if any(c in CONFLICT_CODES for c in codes) and all(
                    c in CONFLICT_CODES or c == "None" for c in codes
                ):
                    raise Cancelled(codes) from exc
                raise StateUnavailableError(f"{operation}: transaction cancelled {codes}") from exc
            if code == "ConditionalCheckFailedException":
                raise Cancelled(["ConditionalCheckFailed"]) from exc
            if code == "TransactionConflictException":  # the item is in another's transaction
                raise Cancelled(["TransactionConflict"]) from exc
            raise StateUnavailableError(f"{operation}: {code}: {error.get('Message', '')}") from exc
        except BotoCoreError as exc:  # timeouts, connection errors
            raise StateUnavailableError(f"{operation}: {type(exc).__name__}: {exc}") from exc
        return response

    def _decode(self, fn: Callable[[], Any]) -> Any:
        return decoded(fn)

    def _key(self, k: schema.Key) -> dict[str, dict[str, str]]:
        return key(*k)

    def _get_many(self, keys: Sequence[schema.Key]) -> list[Item | None]:
        gets = [{"Get": {"TableName": self.table, "Key": self._key(k)}} for k in keys]
        response = self._call("transact_get_items", TransactItems=gets)
        out: list[Item | None] = [r.get("Item") for r in response.get("Responses", [])]
        if len(out) != len(keys):
            raise StateUnavailableError(f"transact_get_items answered {len(out)} of {len(keys)}")
        return out

    def _get(self, k: schema.Key) -> Item | None:
        response = self._call(
            "get_item", TableName=self.table, Key=self._key(k), ConsistentRead=True
        )
        item: Item | None = response.get("Item")
        return item

    def _query(self, pk: str, **extra: Any) -> list[Item]:
        out: list[Item] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ConsistentRead": True,
            **extra,
        }
        kwargs.setdefault("ExpressionAttributeValues", {})[":pk"] = s(pk)
        while True:
            response = self._call("query", **kwargs)
            out.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return out
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _transact(self, ops: list[dict[str, Any]]) -> None:
        if len(ops) == 1:
            ((kind, request),) = ops[0].items()
            if kind in _SINGLE_WRITES:
                self._call(_SINGLE_WRITES[kind], **request)
                return
        self._call("transact_write_items", TransactItems=ops)

    def _batch_get(self, keys: Sequence[schema.Key]) -> list[Item | None]:
        """The items of ``keys`` (distinct), strongly consistent, in one BatchGetItem; what it
        leaves unprocessed is asked again, and what is still missing fails closed."""
        pending = [self._key(k) for k in keys]
        found: dict[schema.Key, Item] = {}
        for _ in range(_BATCH_ATTEMPTS):
            request = {self.table: {"Keys": pending, "ConsistentRead": True}}
            response = self._call("batch_get_item", RequestItems=request)
            for item in response.get("Responses", {}).get(self.table, []):
                found[(item[schema.PARTITION_KEY]["S"], item[schema.SORT_KEY]["S"])] = item
            pending = response.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
            if not pending:
                return [found.get(k) for k in keys]
        raise StateUnavailableError(f"batch_get_item left {len(pending)} of {len(keys)} unread")

    def _put(self, k: schema.Key, item: Item, condition: str | None = None, **values: Any) -> Any:
        put: dict[str, Any] = {"TableName": self.table, "Item": {**self._key(k), **item}}
        if condition:
            put["ConditionExpression"] = condition
        if values:
            put["ExpressionAttributeValues"] = values
        return {"Put": put}

    def _versioned_put(self, k: schema.Key, item: Item, expected_version: int) -> Any:
        if expected_version == 0:
            return self._put(k, item, "attribute_not_exists(pk)")
        return self._put(k, item, "version = :v", **{":v": n(expected_version)})

    def _audit_puts(self, records: Sequence[AuditRecord]) -> list[Any]:
        return [
            self._put(
                (schema.audit_pk(trading_date(r.ts)), _audit_sk(r)),
                items.audit_item(r),
            )
            for r in records
        ]

    def _add(self, k: schema.Key, deltas: Mapping[str, float | int]) -> Any:
        names = {f"#a{i}": name for i, name in enumerate(deltas)}
        values = {f":a{i}": n(v) for i, v in enumerate(deltas.values())}
        expr = "ADD " + ", ".join(f"#a{i} :a{i}" for i in range(len(deltas)))
        return {
            "Update": {
                "TableName": self.table,
                "Key": self._key(k),
                "UpdateExpression": expr,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }
