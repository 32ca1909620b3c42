"""The DynamoDB session store's step read beyond the contract: one BatchGetItem, its
UnprocessedKeys asked again (bounded, with a backoff) and never read as absent."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from maxtrader.adapters.dynamodb_session_store import UNPROCESSED_RETRIES, DynamoDBSessionStore
from maxtrader.adapters.dynamodb_store import CLIENT_CONFIG
from maxtrader.domain.errors import StateUnavailableError
from tests.support.recording_client import RecordingClient
from tests.support.session import DAY, regime_state, strategy_state

pytestmark = pytest.mark.faults
SYMBOLS = ["QQQ", "SPY"]


class Unprocessing:
    """A client whose BatchGetItem answers leave keys unprocessed, as DynamoDB does under
    throttling: the first ``rounds`` answers carry only the first requested key, or none of a
    lone one (the rest back as UnprocessedKeys); ``rounds=None``: every answer."""

    def __init__(self, client: Any, rounds: int | None) -> None:
        self._client, self.rounds = client, rounds
        self.requested: list[list[Any]] = []

    def batch_get_item(self, **kwargs: Any) -> dict[str, Any]:
        ((table, request),) = kwargs["RequestItems"].items()
        self.requested.append(request["Keys"])
        if self.rounds is not None:
            if self.rounds <= 0:
                return dict(self._client.batch_get_item(**kwargs))
            self.rounds -= 1
        keys = request["Keys"]
        first, rest = (keys[:1], keys[1:]) if len(keys) > 1 else ([], keys)
        answer: dict[str, Any] = {"Responses": {table: []}}
        if first:
            answer = self._client.batch_get_item(RequestItems={table: {**request, "Keys": first}})
        answer["UnprocessedKeys"] = {table: {**request, "Keys": rest}}
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def stored(table: str) -> DynamoDBSessionStore:
    store = DynamoDBSessionStore(boto3.client("dynamodb", config=CLIENT_CONFIG), table)
    store.save_regime(regime_state())
    for symbol in SYMBOLS:
        store.save_strategy_states(
            [strategy_state(2, strategy=n, symbol=symbol) for n in ("pause", "wave_renko")]
        )
    return store


def test_a_read_of_states_and_regime_is_one_consistent_batch_get(state_table: str) -> None:
    expected = stored(state_table).read_session(DAY, SYMBOLS)
    client = RecordingClient(boto3.client("dynamodb", config=CLIENT_CONFIG))
    store = DynamoDBSessionStore(client, state_table)  # type: ignore[arg-type]
    assert store.read_session(DAY, [*SYMBOLS, "SPY"]) == expected
    assert list(client.requests) == ["batch_get_item"]
    ((request,),) = (r["RequestItems"].values() for r in client.requests["batch_get_item"])
    assert request["ConsistentRead"] is True
    assert len(request["Keys"]) == 3  # the regime and one item per symbol, each asked once


@pytest.mark.parametrize("rounds", [1, UNPROCESSED_RETRIES])
def test_unprocessed_keys_are_asked_again_after_a_backoff(state_table: str, rounds: int) -> None:
    expected = stored(state_table).read_session(DAY, SYMBOLS)
    client = Unprocessing(boto3.client("dynamodb", config=CLIENT_CONFIG), rounds)
    slept: list[float] = []
    store = DynamoDBSessionStore(client, state_table, sleep=slept.append)  # type: ignore[arg-type]
    assert store.read_session(DAY, SYMBOLS) == expected
    assert [len(keys) for keys in client.requested] == [max(3 - k, 1) for k in range(rounds + 1)]
    assert slept == [0.05 * 2**k for k in range(rounds)]  # exponential, bounded


def test_keys_left_unprocessed_after_every_retry_fail_closed_never_read_as_absent(
    state_table: str,
) -> None:
    stored(state_table)
    client = Unprocessing(boto3.client("dynamodb", config=CLIENT_CONFIG), None)
    slept: list[float] = []
    store = DynamoDBSessionStore(client, state_table, sleep=slept.append)  # type: ignore[arg-type]
    with pytest.raises(StateUnavailableError, match="still unprocessed after 3 retries"):
        store.read_session(DAY, SYMBOLS)
    assert len(client.requested) == 1 + UNPROCESSED_RETRIES and len(slept) == UNPROCESSED_RETRIES


def test_more_keys_than_one_batch_holds_are_read_in_several(state_table: str) -> None:
    store = stored(state_table)
    many = [f"S{i:03d}" for i in range(150)] + SYMBOLS
    client = RecordingClient(boto3.client("dynamodb", config=CLIENT_CONFIG))
    reader = DynamoDBSessionStore(client, state_table)  # type: ignore[arg-type]
    assert reader.read_session(DAY, many).states == store.read_session(DAY, SYMBOLS).states
    sizes = [len(next(iter(r["RequestItems"].values()))["Keys"]) for r in client.requests[
        "batch_get_item"]]  # fmt: skip
    assert sizes == [100, 53]
