"""DynamoDB ``SessionStore`` (live): the bar path's state in the state table.

- A strategy state is one item per (strategy, symbol), written by a PutItem conditioned on the
  stored ``last_bar_ts`` being earlier: a duplicate or out-of-order delivery (a retried queue
  message, the relay and the REST poll delivering the same bar) fails the condition and writes
  nothing; of equal-timestamp racers DynamoDB lets exactly one through.
- The regime state is one item per New York trading date (last writer wins: see the port).
- Bars are items keyed (``BAR#<symbol>``, fixed-width UTC start) written with
  ``attribute_not_exists``: a push's few bars (one per traded symbol) as one conditional PutItem
  each, half a transaction's write cost and no atomicity lost that anyone relies on (each bar
  stands alone, and ingest hands on held bars too); a larger batch (a REST gap fill) in
  transactions of up to 100 whose cancellation reasons say which bars were already held. A
  range read is one consistent Query on the key, never a scan; the newest bar of a range is
  the same Query read backwards with ``Limit=1``.
- Every botocore error becomes ``StateUnavailableError``; an item of unexpected shape too.

The item layout is in ``maxtrader.state_schema`` and docs/safety-layer.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from maxtrader import state_schema as schema
from maxtrader.adapters import dynamodb_session_items as items
from maxtrader.adapters.dynamodb_calls import (
    ConditionFailed,
    TransactionCancelled,
    call,
    new_client,
)
from maxtrader.adapters.dynamodb_items import Item, ItemShapeError, key, s, ts_value
from maxtrader.adapters.session_input import require_range, unique_minute_bars
from maxtrader.domain.errors import StateUnavailableError
from maxtrader.domain.models import Bar
from maxtrader.domain.ports import BarWriteResult, StoredStrategyState
from maxtrader.domain.regime import RegimeState

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

T = TypeVar("T")
TRANSACTION_LIMIT = 100  # items in one TransactWriteItems
SINGLE_PUTS_UP_TO = 4  # bars written one conditional PutItem each (a push: one per symbol)
_CONFLICT_RETRIES = 3  # a concurrent writer of the same bars: its bars then read as held


def _decode(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except ItemShapeError as exc:
        raise StateUnavailableError(str(exc)) from exc
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        # A shape the decoders did not foresee: still a bad item, still fail closed.
        raise StateUnavailableError(f"item of unexpected shape: {exc!r}") from exc


class DynamoDBSessionStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self.table = table_name

    @classmethod
    def create(cls, table_name: str, *, region: str | None = None) -> DynamoDBSessionStore:
        return cls(new_client("dynamodb", region), table_name)

    def _get(self, k: schema.Key) -> Item | None:
        response = call(
            self._client, "get_item", TableName=self.table, Key=key(*k), ConsistentRead=True
        )
        item: Item | None = response.get("Item")
        return item

    # --- strategy states -----------------------------------------------------------------------
    def strategy_state(self, strategy: str, symbol: str) -> StoredStrategyState | None:
        item = self._get(schema.strategy_state_key(strategy, symbol))
        if item is None:
            return None
        return _decode(lambda: items.strategy_state(item, strategy, symbol))

    def save_strategy_state(self, state: StoredStrategyState) -> bool:
        k = schema.strategy_state_key(state.strategy, state.symbol)
        try:
            call(
                self._client,
                "put_item",
                TableName=self.table,
                Item={**key(*k), **items.strategy_state_item(state)},
                ConditionExpression="attribute_not_exists(pk) OR last_bar_ts < :ts",
                ExpressionAttributeValues={":ts": ts_value(state.last_bar_ts)},
            )
        except ConditionFailed:
            return False  # the stored state is as new or newer: this delivery changes nothing
        return True

    # --- regime --------------------------------------------------------------------------------
    def regime(self, day: date) -> RegimeState | None:
        item = self._get(schema.regime_key(day.isoformat()))
        if item is None:
            return None
        return _decode(lambda: items.regime_state(item, day))

    def save_regime(self, state: RegimeState) -> None:
        k = schema.regime_key(state.day.isoformat())
        call(
            self._client,
            "put_item",
            TableName=self.table,
            Item={**key(*k), **items.regime_item(state)},
        )

    # --- bars ----------------------------------------------------------------------------------
    def put_bars(self, bars: Sequence[Bar], *, expires_at: datetime) -> BarWriteResult:
        unique, duplicates = unique_minute_bars(bars, expires_at)
        if len(unique) <= SINGLE_PUTS_UP_TO:
            written = [bar for bar in unique if self._put_new_bar(bar, expires_at)]
            return BarWriteResult(
                stored=tuple(written), duplicates=duplicates + len(unique) - len(written)
            )
        stored: list[Bar] = []
        for start in range(0, len(unique), TRANSACTION_LIMIT):
            chunk = unique[start : start + TRANSACTION_LIMIT]
            new = self._put_new_bars(chunk, expires_at)
            stored += new
            duplicates += len(chunk) - len(new)
        return BarWriteResult(stored=tuple(stored), duplicates=duplicates)

    def _new_bar_put(self, bar: Bar, expires_at: datetime) -> dict[str, Any]:
        return {
            "TableName": self.table,
            "Item": items.bar_item(bar, expires_at),
            "ConditionExpression": "attribute_not_exists(pk)",
        }

    def _put_new_bar(self, bar: Bar, expires_at: datetime) -> bool:
        """Write ``bar`` unless it is held; True when written."""
        try:
            call(self._client, "put_item", **self._new_bar_put(bar, expires_at))
        except ConditionFailed:
            return False
        return True

    def _put_new_bars(self, chunk: list[Bar], expires_at: datetime) -> list[Bar]:
        """Write the bars of ``chunk`` not held yet, atomically; return them."""
        pending = chunk
        conflicts = 0
        while pending:
            puts = [self._new_bar_put(bar, expires_at) for bar in pending]
            try:
                call(self._client, "transact_write_items", TransactItems=[{"Put": p} for p in puts])
                return pending
            except TransactionCancelled as exc:
                held = {i for i, code in enumerate(exc.codes) if code == "ConditionalCheckFailed"}
                others = {c for c in exc.codes if c not in ("ConditionalCheckFailed", "None")}
                if others - {"TransactionConflict"} or len(exc.codes) != len(pending):
                    raise StateUnavailableError(str(exc)) from exc
                if not held:
                    conflicts += 1
                    if conflicts > _CONFLICT_RETRIES:
                        raise StateUnavailableError(str(exc)) from exc
                pending = [bar for i, bar in enumerate(pending) if i not in held]
        return []

    def _range_query(self, symbol: str, start: datetime, end: datetime) -> dict[str, Any]:
        return {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :a AND :b",
            "ExpressionAttributeValues": {
                ":pk": s(schema.bar_pk(symbol)),
                ":a": s(schema.bar_sk(start)),
                ":b": s(items.bar_range_end(end)),
            },
            "ConsistentRead": True,
        }

    def bars(self, symbol: str, start: datetime, end: datetime) -> list[Bar]:
        require_range(start, end)
        if end <= start:
            return []
        kwargs = self._range_query(symbol, start, end)
        found: list[Item] = []
        while True:
            response = call(self._client, "query", **kwargs)
            found.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return _decode(lambda: [items.bar(item, symbol) for item in found])

    def newest_bar(self, symbol: str, start: datetime, end: datetime) -> Bar | None:
        """One Query read newest first, one item: its cost is one bar, not the range."""
        require_range(start, end)
        if end <= start:
            return None
        query = self._range_query(symbol, start, end)
        response = call(self._client, "query", **query, ScanIndexForward=False, Limit=1)
        found: list[Item] = response.get("Items", [])
        return _decode(lambda: items.bar(found[0], symbol)) if found else None


__all__ = ["DynamoDBSessionStore"]
