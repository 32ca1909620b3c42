"""The DynamoDB session store beyond the contract: its item layout, its reads, bad items, faults.

Faults (throttling, timeouts, cancelled transactions) become ``StateUnavailableError`` and leave
nothing partial; an item of unexpected shape is refused naming the item and the field.
"""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from maxtrader import state_schema as schema
from maxtrader.adapters.dynamodb_session_store import (
    NEWEST_PROBE_MINUTES,
    SINGLE_PUTS_UP_TO,
    DynamoDBSessionStore,
)
from maxtrader.adapters.dynamodb_store import CLIENT_CONFIG
from maxtrader.domain.errors import InvalidInputError, StateUnavailableError
from maxtrader.domain.regime import RegimeState
from tests.support.flaky_client import throttled, timed_out
from tests.support.recording_client import RecordingClient
from tests.support.session import (
    DAY,
    EXPIRES,
    minute,
    minute_bar,
    regime_state,
    strategy_state,
)


@pytest.fixture
def client(state_table: str) -> RecordingClient:
    return RecordingClient(boto3.client("dynamodb", config=CLIENT_CONFIG))


@pytest.fixture
def store(client: RecordingClient, state_table: str) -> DynamoDBSessionStore:
    return DynamoDBSessionStore(client, state_table)  # type: ignore[arg-type]


def items(table: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = boto3.client("dynamodb").scan(
        TableName=table, ConsistentRead=True
    )["Items"]
    return sorted(found, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


def cancelled(*codes: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": c} for c in codes],
        },
        "TransactWriteItems",
    )


# --- layout -------------------------------------------------------------------------------------
def test_items_follow_the_schema_layout(store: DynamoDBSessionStore, state_table: str) -> None:
    store.save_strategy_states(
        [strategy_state(2, '{"k": 1}'), strategy_state(1, '{"k": 2}', strategy="pause")]
    )
    store.save_regime(regime_state())
    store.put_bars([minute_bar(0)], expires_at=EXPIRES)
    keys = [(i["pk"]["S"], i["sk"]["S"]) for i in items(state_table)]
    assert keys == [
        ("BAR#SPY", "2024-06-03T13:30:00.000000Z"),
        ("REGIME", "2024-06-03"),
        ("STRATEGIES", "SPY"),  # one item holds every strategy's state of the symbol
    ]
    bar, regime, state = items(state_table)
    assert bar[schema.TTL_ATTRIBUTE] == {"N": str(int(EXPIRES.timestamp()))}
    assert regime[schema.TTL_ATTRIBUTE]["N"].isdigit()
    assert state["symbol"] == {"S": "SPY"}
    assert state["state#vwap_reversion"] == {
        "M": {"last_bar_ts": {"N": "1717421520000000"}, "payload": {"S": '{"k": 1}'}}
    }  # epoch microseconds
    assert state["state#pause"]["M"]["last_bar_ts"] == {"N": "1717421460000000"}
    assert schema.TTL_ATTRIBUTE not in state  # a strategy's state lives as long as it runs


def test_a_bar_range_is_one_key_query_never_a_scan(
    store: DynamoDBSessionStore, client: RecordingClient
) -> None:
    store.put_bars([minute_bar(i) for i in range(20)], expires_at=EXPIRES)
    store.put_bars([minute_bar(i, "QQQ") for i in range(20)], expires_at=EXPIRES)
    assert len(store.bars("SPY", minute(5), minute(8))) == 3
    assert "scan" not in client.responses
    (answer,) = client.responses["query"]
    assert answer["ScannedCount"] == 3  # only the range was read


def test_a_pushs_few_bars_are_conditional_puts_a_larger_batch_one_transaction(
    store: DynamoDBSessionStore, client: RecordingClient
) -> None:
    store.put_bars([minute_bar(0)], expires_at=EXPIRES)
    store.put_bars([minute_bar(1, "SPY"), minute_bar(1, "QQQ")], expires_at=EXPIRES)
    assert len(client.responses["put_item"]) == 3 and "transact_write_items" not in client.responses
    store.put_bars([minute_bar(i) for i in range(2, 2 + SINGLE_PUTS_UP_TO + 1)], expires_at=EXPIRES)
    assert len(client.responses["transact_write_items"]) == 1


# --- items of unexpected shape ------------------------------------------------------------------
def _put_raw(table: str, item: dict[str, Any]) -> None:
    boto3.client("dynamodb").put_item(TableName=table, Item=item)


STATE_KEY = {"pk": {"S": "STRATEGIES"}, "sk": {"S": "SPY"}}
GOOD_MAP = {"last_bar_ts": {"N": "1717421400000000"}, "payload": {"S": "{}"}}
GOOD_STATE = {**STATE_KEY, "symbol": {"S": "SPY"}, "state#wave_renko": {"M": GOOD_MAP}}


@pytest.mark.faults
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"payload": {"N": "1"}}, "state#wave_renko.payload"),
        ({"last_bar_ts": {"S": "yesterday"}}, "state#wave_renko.last_bar_ts"),
        ({"last_bar_ts": {"N": "1.5"}}, "state#wave_renko.last_bar_ts"),
        ({"payload": None}, "state#wave_renko.payload"),
    ],
)
def test_a_malformed_strategy_state_fails_closed_naming_the_field(
    store: DynamoDBSessionStore, state_table: str, change: dict[str, Any], field: str
) -> None:
    fields = {k: v for k, v in (GOOD_MAP | change).items() if v is not None}
    _put_raw(state_table, GOOD_STATE | {"state#wave_renko": {"M": fields}})
    for read in (
        lambda: store.strategy_state("wave_renko", "SPY"),
        lambda: store.read_session(DAY, ["SPY"]),
    ):
        with pytest.raises(StateUnavailableError, match=rf"STRATEGIES/SPY.*{field}"):
            read()


@pytest.mark.faults
@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"symbol": {"S": "QQQ"}}, "holds the symbol 'QQQ'"),
        ({"symbol": None}, "'symbol'"),
        ({"state#wave_renko": {"S": "{}"}}, "'state#wave_renko' is missing or not M"),
        ({"state#renko2": {"M": GOOD_MAP}}, "'state#renko2': unknown strategy"),
    ],
)
def test_a_strategy_states_item_of_another_shape_fails_closed(
    store: DynamoDBSessionStore, state_table: str, change: dict[str, Any], problem: str
) -> None:
    _put_raw(state_table, {k: v for k, v in (GOOD_STATE | change).items() if v is not None})
    with pytest.raises(StateUnavailableError, match=re.escape(problem)):
        store.read_session(DAY, ["SPY", "QQQ"])


@pytest.mark.faults
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"regime": {"S": "SIDEWAYS"}}, "SIDEWAYS"),
        ({"regime": None}, "regime"),
        ({"vix": {"S": "high"}}, "vix"),
        ({"day": {"S": "2024-06-04"}}, "day"),
        ({"observed_at": {"N": "99999999999999999999999"}}, "observed_at"),
    ],
)
def test_a_malformed_regime_fails_closed_naming_the_field(
    store: DynamoDBSessionStore, state_table: str, change: dict[str, Any], field: str
) -> None:
    store.save_regime(regime_state())
    good = items(state_table)[0]
    _put_raw(state_table, {k: v for k, v in (good | change).items() if v is not None})
    with pytest.raises(StateUnavailableError, match=rf"REGIME/2024-06-03.*{field}"):
        store.regime(DAY)


@pytest.mark.faults
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"h": {"N": "1"}}, "high"),  # high below low: not a bar
        ({"c": None}, "'c'"),
        ({"ts": {"N": "1717421460000000"}}, "disagrees"),
        ({"v": {"N": "-5"}}, "volume"),
    ],
)
def test_a_malformed_bar_fails_closed_naming_the_field(
    store: DynamoDBSessionStore, state_table: str, change: dict[str, Any], field: str
) -> None:
    store.put_bars([minute_bar(0)], expires_at=EXPIRES)
    good = items(state_table)[0]
    _put_raw(state_table, {k: v for k, v in (good | change).items() if v is not None})
    with pytest.raises(StateUnavailableError, match=rf"BAR#SPY/2024-06-03T13:30.*{field}"):
        store.bars("SPY", minute(0), minute(1))


def test_a_regime_with_a_non_finite_vix_is_refused_before_writing(
    store: DynamoDBSessionStore, state_table: str
) -> None:
    with pytest.raises(InvalidInputError, match="regime state of 2024-06-03"):
        store.save_regime(RegimeState(day=DAY, vix=float("nan")))
    assert items(state_table) == []


# --- faults -------------------------------------------------------------------------------------
FAULTS = [throttled("PutItem"), timed_out()]


@pytest.mark.faults
@pytest.mark.parametrize("error", FAULTS, ids=["throttled", "timeout"])
def test_a_failed_state_save_raises_and_keeps_the_old_state(
    store: DynamoDBSessionStore, client: RecordingClient, error: Exception
) -> None:
    held = strategy_state(1, '"held"')
    store.save_strategy_state(held)
    client.fail_call("update_item", 1, error)
    with pytest.raises(StateUnavailableError):
        store.save_strategy_states(
            [strategy_state(2, '"new"'), strategy_state(2, "{}", strategy="pause")]
        )
    assert store.read_session(DAY, ["SPY"]).states == {("vwap_reversion", "SPY"): held}


@pytest.mark.faults
@pytest.mark.parametrize(
    ("operation", "call"),
    [
        ("get_item", lambda s: s.strategy_state("wave_renko", "SPY")),
        ("get_item", lambda s: s.regime(DAY)),
        ("batch_get_item", lambda s: s.read_session(DAY, ["SPY", "QQQ"])),
        ("update_item", lambda s: s.save_strategy_states([strategy_state(1, "{}")])),
        ("put_item", lambda s: s.save_regime(regime_state())),
        ("query", lambda s: s.bars("SPY", minute(0), minute(5))),
    ],
)
@pytest.mark.parametrize("error", FAULTS, ids=["throttled", "timeout"])
def test_every_operation_fails_closed_on_a_store_fault(
    operation: str,
    call: Any,
    error: Exception,
    *,
    store: DynamoDBSessionStore,
    client: RecordingClient,
    state_table: str,
) -> None:
    client.fail_call(operation, 1, error)
    with pytest.raises(StateUnavailableError):
        call(store)
    assert items(state_table) == []


@pytest.mark.faults
@pytest.mark.parametrize(
    "error",
    [throttled(), timed_out(), cancelled("None", "ThrottlingError", "None")],
    ids=["throttled", "timeout", "cancelled_throttling"],
)
def test_a_failed_bar_batch_writes_none_of_its_bars(
    store: DynamoDBSessionStore, client: RecordingClient, state_table: str, error: Exception
) -> None:
    client.fail_call("transact_write_items", 1, error)
    with pytest.raises(StateUnavailableError):
        store.put_bars([minute_bar(i) for i in range(SINGLE_PUTS_UP_TO + 1)], expires_at=EXPIRES)
    assert items(state_table) == []


@pytest.mark.faults
def test_a_fault_in_a_later_transaction_keeps_earlier_ones_and_a_retry_converges(
    store: DynamoDBSessionStore, client: RecordingClient
) -> None:
    batch = [minute_bar(i) for i in range(250)]
    client.fail_call("transact_write_items", 2, throttled())
    with pytest.raises(StateUnavailableError):
        store.put_bars(batch, expires_at=EXPIRES)
    assert store.bars("SPY", minute(0), minute(250)) == batch[:100]  # whole transactions only
    retry = store.put_bars(batch, expires_at=EXPIRES)
    assert retry.duplicates == 100 and list(retry.stored) == batch[100:]


@pytest.mark.faults
def test_a_transaction_conflict_with_another_writer_is_retried(
    store: DynamoDBSessionStore, client: RecordingClient
) -> None:
    client.fail_call("transact_write_items", 1, cancelled("TransactionConflict", "None"))
    result = store.put_bars([minute_bar(0), minute_bar(1)], expires_at=EXPIRES)
    assert result.stored == (minute_bar(0), minute_bar(1))


@pytest.mark.faults
def test_endless_transaction_conflicts_fail_closed(
    store: DynamoDBSessionStore, client: RecordingClient, state_table: str
) -> None:
    for nth in range(1, 5):  # the first try and every retry
        client.fail_call("transact_write_items", nth, cancelled("TransactionConflict", "None"))
    with pytest.raises(StateUnavailableError, match="TransactionConflict"):
        store.put_bars([minute_bar(i) for i in range(SINGLE_PUTS_UP_TO + 1)], expires_at=EXPIRES)
    assert items(state_table) == []


# --- the newest bar -----------------------------------------------------------------------------
def test_the_newest_bar_is_one_consistent_query_reading_one_item(
    store: DynamoDBSessionStore, client: RecordingClient
) -> None:
    store.put_bars([minute_bar(i) for i in range(30)], expires_at=EXPIRES)
    assert store.newest_bar("SPY", minute(0), minute(31)) == minute_bar(29)
    (request,) = client.requests["query"]
    assert request["ConsistentRead"] is True and request["ScanIndexForward"] is False
    (answer,) = client.responses["query"]
    assert answer["ScannedCount"] == 1 and "scan" not in client.responses


def test_the_newest_bars_of_flowing_symbols_are_one_batch_read_and_no_query(
    store: DynamoDBSessionStore, client: RecordingClient
) -> None:
    store.put_bars([minute_bar(i, sym) for i in range(30) for sym in ("SPY", "QQQ")],
                   expires_at=EXPIRES)  # fmt: skip
    newest = store.newest_bars(["SPY", "QQQ"], minute(0), minute(31))
    assert newest == {"SPY": minute_bar(29), "QQQ": minute_bar(29, "QQQ")}
    (request,) = client.requests["batch_get_item"]
    (asked,) = request["RequestItems"].values()
    assert asked["ConsistentRead"] is True
    assert len(asked["Keys"]) == 2 * NEWEST_PROBE_MINUTES
    assert "query" not in client.requests


def test_a_symbol_without_recent_bars_falls_back_to_one_query(
    store: DynamoDBSessionStore, client: RecordingClient
) -> None:
    store.put_bars([minute_bar(0), minute_bar(29, "QQQ")], expires_at=EXPIRES)
    newest = store.newest_bars(["SPY", "QQQ"], minute(0), minute(31))
    assert newest == {"SPY": minute_bar(0), "QQQ": minute_bar(29, "QQQ")}
    assert len(client.requests["batch_get_item"]) == 1
    (query,) = client.requests["query"]  # SPY's, below the probed minutes only
    assert query["ExpressionAttributeValues"][":pk"] == {"S": "BAR#SPY"}


@pytest.mark.faults
@pytest.mark.parametrize("error", FAULTS, ids=["throttled", "timeout"])
def test_the_newest_bars_fail_closed_on_a_store_fault(
    store: DynamoDBSessionStore, client: RecordingClient, error: Exception
) -> None:
    store.put_bars([minute_bar(0)], expires_at=EXPIRES)
    client.fail_call("batch_get_item", 1, error)
    with pytest.raises(StateUnavailableError):
        store.newest_bars(["SPY"], minute(0), minute(5))


@pytest.mark.faults
@pytest.mark.parametrize("error", FAULTS, ids=["throttled", "timeout"])
def test_the_newest_bar_fails_closed_on_a_store_fault(
    store: DynamoDBSessionStore, client: RecordingClient, error: Exception
) -> None:
    store.put_bars([minute_bar(0)], expires_at=EXPIRES)
    client.fail_call("query", 1, error)
    with pytest.raises(StateUnavailableError):
        store.newest_bar("SPY", minute(0), minute(5))


@pytest.mark.faults
def test_a_malformed_newest_bar_fails_closed_naming_the_field(
    store: DynamoDBSessionStore, state_table: str
) -> None:
    store.put_bars([minute_bar(0)], expires_at=EXPIRES)
    good = items(state_table)[0]
    _put_raw(state_table, good | {"c": {"S": "high"}})
    with pytest.raises(StateUnavailableError, match=r"BAR#SPY/2024-06-03T13:30.*'c'"):
        store.newest_bar("SPY", minute(0), minute(1))
