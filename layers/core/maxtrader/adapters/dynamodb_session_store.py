"""DynamoDB ``SessionStore`` (live): the bar path's state in the state table.

- A symbol's strategy states are one item (a map per strategy), saved by one UpdateItem that
  sets the states that moved, each conditioned on its stored ``last_bar_ts`` being earlier: a
  duplicate or out-of-order delivery (a retried queue message, the relay and the REST poll
  delivering the same bar) fails the condition and writes nothing; of equal-timestamp racers
  DynamoDB lets exactly one through. (Not a transaction: one item needs none, at half the cost.)
- The regime state is one item per New York trading date (last writer wins: see the port).
- A step's read (``read_session``: the symbols' state items and the day's regime) is one
  consistent BatchGetItem; the keys it leaves unprocessed (throttling) are asked again, with a
  short backoff, at most ``UNPROCESSED_RETRIES`` times, then ``StateUnavailableError``: a key
  left unanswered is never read as an absent item.
- Bars are items keyed (``BAR#<symbol>``, fixed-width UTC start) written with
  ``attribute_not_exists``: a push's few bars (one per traded symbol) as one conditional PutItem
  each, half a transaction's write cost and no atomicity lost that anyone relies on (each bar
  stands alone, and ingest hands on held bars too); a larger batch (a REST gap fill) in
  transactions of up to 100 whose cancellation reasons say which bars were already held. A
  range read is one consistent Query on the key, never a scan; the newest bar of a range is
  the same Query read backwards with ``Limit=1``. The newest bars of several symbols (health,
  every minute) are one BatchGetItem of each symbol's last ``NEWEST_PROBE_MINUTES`` minute keys
  of the range (a stored bar starts on a whole minute, so its key is known), and the Query only
  for a symbol none of whose recent minutes is held: one request for every symbol while data
  flows, rather than a Query each.
- Every botocore error becomes ``StateUnavailableError``; an item of unexpected shape too.

The item layout is in ``maxtrader.state_schema`` and docs/safety-layer.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from maxtrader import state_schema as schema
from maxtrader.adapters import dynamodb_session_items as items
from maxtrader.adapters.dynamodb_calls import (
    ConditionFailed,
    TransactionCancelled,
    call,
    new_client,
)
from maxtrader.adapters.dynamodb_items import Item, key, s
from maxtrader.adapters.dynamodb_values import decoded
from maxtrader.adapters.session_input import (
    minute_starts,
    one_symbols_states,
    require_range,
    session_symbols,
    unique_minute_bars,
)
from maxtrader.domain.errors import StateUnavailableError
from maxtrader.domain.models import Bar
from maxtrader.domain.ports import BarWriteResult, SessionSnapshot, StoredStrategyState
from maxtrader.domain.regime import RegimeState

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TRANSACTION_LIMIT = 100  # items in one TransactWriteItems
SINGLE_PUTS_UP_TO = 4  # bars written one conditional PutItem each (a push: one per symbol)
_CONFLICT_RETRIES = 3  # a concurrent writer of the same bars: its bars then read as held
BATCH_GET_LIMIT = 100  # keys in one BatchGetItem
NEWEST_PROBE_MINUTES = 3  # newest_bars: minute keys asked per symbol (now, and the two before)
UNPROCESSED_RETRIES = 3  # asks again for unprocessed keys, after 50, 100, 200 ms
_UNPROCESSED_BACKOFF = 0.05  # seconds, doubled per retry


class DynamoDBSessionStore:
    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self.table = table_name
        self._sleep = sleep  # the backoff before asking again for unprocessed keys

    @classmethod
    def create(cls, table_name: str, *, region: str | None = None) -> DynamoDBSessionStore:
        return cls(new_client("dynamodb", region), table_name)

    def _get(self, k: schema.Key) -> Item | None:
        response = call(
            self._client, "get_item", TableName=self.table, Key=key(*k), ConsistentRead=True
        )
        item: Item | None = response.get("Item")
        return item

    def _batch_get(self, keys: Sequence[schema.Key]) -> dict[schema.Key, Item]:
        """The items held under ``keys`` (absent ones missing), every key answered."""
        found: dict[schema.Key, Item] = {}
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            pending = [key(*k) for k in keys[start : start + BATCH_GET_LIMIT]]
            for retry in range(UNPROCESSED_RETRIES + 1):
                if retry:
                    self._sleep(_UNPROCESSED_BACKOFF * 2 ** (retry - 1))
                response = call(
                    self._client,
                    "batch_get_item",
                    RequestItems={self.table: {"Keys": pending, "ConsistentRead": True}},
                )
                for item in response.get("Responses", {}).get(self.table, []):
                    found[(item["pk"]["S"], item["sk"]["S"])] = item
                pending = response.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
                if not pending:
                    break
            else:
                raise StateUnavailableError(
                    f"batch_get_item: {len(pending)} key(s) still unprocessed after "
                    f"{UNPROCESSED_RETRIES} retries (throttled)"
                )
        return found

    # --- a step's read -------------------------------------------------------------------------
    def read_session(self, day: date, symbols: Iterable[str]) -> SessionSnapshot:
        wanted = session_symbols(symbols)
        regime_key = schema.regime_key(day.isoformat())
        state_keys = {schema.strategy_states_key(symbol): symbol for symbol in sorted(wanted)}
        found = self._batch_get([regime_key, *state_keys])

        def decode() -> SessionSnapshot:
            states = {
                (name, symbol): state
                for k, symbol in state_keys.items()
                if k in found
                for name, state in items.strategy_states(found[k], symbol).items()
            }
            regime = found.get(regime_key)
            stored = None if regime is None else items.regime_state(regime, day)
            return SessionSnapshot(day, wanted, states, stored)

        return decoded(decode)

    # --- strategy states -----------------------------------------------------------------------
    def strategy_state(self, strategy: str, symbol: str) -> StoredStrategyState | None:
        schema.strategy_state_attribute(strategy)  # a known strategy, or InvalidInputError
        item = self._get(schema.strategy_states_key(symbol))
        if item is None:
            return None
        return decoded(lambda: items.strategy_states(item, symbol).get(strategy))

    def save_strategy_states(self, states: Sequence[StoredStrategyState]) -> bool:
        symbol = one_symbols_states(states)
        if symbol is None:
            return True  # nothing to save
        update = items.strategy_states_update(symbol, states)
        try:
            call(self._client, "update_item", TableName=self.table, **update)
        except ConditionFailed:
            return False  # a stored state is as new or newer: this delivery changes nothing
        return True

    def save_strategy_state(self, state: StoredStrategyState) -> bool:
        return self.save_strategy_states([state])

    # --- regime --------------------------------------------------------------------------------
    def regime(self, day: date) -> RegimeState | None:
        item = self._get(schema.regime_key(day.isoformat()))
        if item is None:
            return None
        return decoded(lambda: items.regime_state(item, day))

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
        return decoded(lambda: [items.bar(item, symbol) for item in found])

    def newest_bar(self, symbol: str, start: datetime, end: datetime) -> Bar | None:
        """One Query read newest first, one item: its cost is one bar, not the range."""
        require_range(start, end)
        if end <= start:
            return None
        query = self._range_query(symbol, start, end)
        response = call(self._client, "query", **query, ScanIndexForward=False, Limit=1)
        found: list[Item] = response.get("Items", [])
        return decoded(lambda: items.bar(found[0], symbol)) if found else None

    def newest_bars(
        self, symbols: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, Bar | None]:
        require_range(start, end)
        minutes = minute_starts(start, end, NEWEST_PROBE_MINUTES)
        keys = {sym: [(schema.bar_pk(sym), schema.bar_sk(m)) for m in minutes] for sym in symbols}
        found = self._batch_get([k for ks in keys.values() for k in ks]) if minutes else {}
        out: dict[str, Bar | None] = {}
        for symbol, probed in keys.items():
            held = [found[k] for k in probed if k in found]  # newest first
            if held:
                out[symbol] = decoded(partial(items.bar, held[0], symbol))
            elif len(minutes) == NEWEST_PROBE_MINUTES:  # the range goes back further
                out[symbol] = self.newest_bar(symbol, start, minutes[-1])
            else:  # the range holds no other whole minute, so no other bar
                out[symbol] = None
        return out


__all__ = ["DynamoDBSessionStore"]
