"""One contract for every ``SessionStore``: the in-memory one and DynamoDB on moto server.

Each test runs against both adapters. Stale and duplicate deliveries (of states and bars) change
nothing; equal-timestamp racers: exactly one wins (the state racers are in
test_session_store_step_contract.py); bars are read back by half-open range.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import Bar, Regime
from maxtrader.domain.ports import MAX_STRATEGY_STATE_BYTES, SessionStore, StoredStrategyState
from maxtrader.domain.regime import RegimeState
from maxtrader.domain.strategy_names import KNOWN_STRATEGIES
from tests.support.session import (
    DAY,
    EXPIRES,
    OPEN,
    minute,
    minute_bar,
    regime_state,
    strategy_state,
)

if TYPE_CHECKING:
    from tests.support.session_backends import Backend

pytest_plugins = ("tests.support.session_backends",)  # backend (memory, dynamodb), store

SHARED = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def unique_name() -> str:
    return f"s{uuid.uuid4().hex[:12]}"


# --- strategy states ----------------------------------------------------------------------------
def test_a_missing_state_reads_as_none(store: SessionStore) -> None:
    assert store.strategy_state("vwap_reversion", "SPY") is None


def test_a_saved_state_reads_back_exactly(store: SessionStore) -> None:
    state = strategy_state(3, '{"bars": [1.5, 2.25], "note": "é – ✓"}')
    assert store.save_strategy_state(state) is True
    assert store.strategy_state("vwap_reversion", "SPY") == state


@pytest.mark.parametrize("offset", [0, -1, -30], ids=["duplicate", "one_bar_stale", "stale"])
def test_a_duplicate_or_stale_save_changes_nothing(store: SessionStore, offset: int) -> None:
    held = strategy_state(30, '{"v": "held"}')
    assert store.save_strategy_state(held)
    assert store.save_strategy_state(strategy_state(30 + offset, '{"v": "late"}')) is False
    assert store.strategy_state("vwap_reversion", "SPY") == held


def test_a_newer_save_replaces_the_stored_state(store: SessionStore) -> None:
    store.save_strategy_state(strategy_state(30, '{"v": 1}'))
    newer = strategy_state(31, '{"v": 2}')
    assert store.save_strategy_state(newer) is True
    assert store.strategy_state("vwap_reversion", "SPY") == newer


def test_states_are_kept_per_strategy_and_symbol(store: SessionStore) -> None:
    a = strategy_state(5, '"a"', strategy="wave_renko", symbol="SPY")
    b = strategy_state(1, '"b"', strategy="wave_renko", symbol="QQQ")
    c = strategy_state(1, '"c"', strategy="vwap_reversion", symbol="SPY")
    assert all(store.save_strategy_state(x) for x in (a, b, c))
    assert store.strategy_state("wave_renko", "SPY") == a
    assert store.strategy_state("wave_renko", "QQQ") == b
    assert store.strategy_state("vwap_reversion", "SPY") == c
    assert store.strategy_state("wave_renko", "IWM") is None


def test_an_unknown_strategy_name_is_refused_before_any_store() -> None:
    # Both stores key states by the strategy: free text would open a state per spelling.
    with pytest.raises(InvalidInputError, match="unknown strategy 'renko#2'"):
        strategy_state(1, '"c"', strategy="renko#2", symbol="SPY")


@pytest.mark.property
@SHARED
@given(st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=10))
def test_any_delivery_order_keeps_the_newest_state(store: SessionStore, minutes: list[int]) -> None:
    """Deliveries in any order, with repeats: a save succeeds exactly when it is newer than
    every earlier one, and the newest first-delivered state is what stays."""
    symbol = unique_name()  # a fresh key per example (the store outlives them)
    newest: StoredStrategyState | None = None
    for k, i in enumerate(minutes):
        state = strategy_state(i, f'{{"delivery": {k}}}', symbol=symbol)
        expected = newest is None or state.last_bar_ts > newest.last_bar_ts
        assert store.save_strategy_state(state) is expected
        if expected:
            newest = state
    assert store.strategy_state("vwap_reversion", symbol) == newest


def test_every_strategy_at_the_size_limit_fits_the_symbol_s_one_item(store: SessionStore) -> None:
    # The longest names and the largest payloads together still fit a DynamoDB item (400 KB).
    payload = '"' + "é" * ((MAX_STRATEGY_STATE_BYTES - 2) // 2) + '"'
    big = [
        StoredStrategyState(strategy=name, symbol="Q" * 200, last_bar_ts=minute(1), payload=payload)
        for name in sorted(KNOWN_STRATEGIES)
    ]
    assert store.save_strategy_states(big)
    held = store.read_session(DAY, ["Q" * 200]).states
    assert held == {(state.strategy, state.symbol): state for state in big}


def test_a_state_over_the_size_limit_is_refused_with_its_size() -> None:
    with pytest.raises(InvalidInputError, match=r"payload of 100001 bytes exceeds 100000"):
        strategy_state(1, "x" * (MAX_STRATEGY_STATE_BYTES + 1))


@pytest.mark.parametrize(
    "bad",
    [
        {"strategy": ""},
        {"symbol": "S" * 201},
        {"last_bar_ts": datetime(2024, 6, 3, 9, 30)},
    ],
)
def test_a_malformed_state_is_refused(bad: dict[str, object]) -> None:
    fields: dict[str, object] = {
        "strategy": "wave_renko",
        "symbol": "SPY",
        "last_bar_ts": OPEN,
        "payload": "{}",
    } | bad
    with pytest.raises(InvalidInputError):
        StoredStrategyState(**fields)  # type: ignore[arg-type]


@pytest.mark.concurrency
def test_racing_writers_of_the_same_bars_store_each_bar_once(backend: Backend) -> None:
    """The relay and the REST poll (and retries) deliver the same bars at once."""
    threads = 6
    stores = [backend.connect() for _ in range(threads)]
    barrier = threading.Barrier(threads)

    def put(k: int) -> tuple[Bar, ...]:
        batch = [minute_bar(i) for i in range(k % 3, 12)]  # overlapping, not equal, batches
        barrier.wait(timeout=30)
        return stores[k].put_bars(batch, expires_at=EXPIRES).stored

    with ThreadPoolExecutor(threads) as pool:
        stored = [bar for result in pool.map(put, range(threads)) for bar in result]
    assert sorted(b.ts for b in stored) == [minute(i) for i in range(12)]
    assert backend.store.bars("SPY", minute(0), minute(12)) == [minute_bar(i) for i in range(12)]


# --- regime -------------------------------------------------------------------------------------
def test_the_regime_is_kept_per_trading_day(store: SessionStore) -> None:
    assert store.regime(DAY) is None
    today = regime_state()
    tomorrow = RegimeState(day=DAY + timedelta(days=1))  # every optional field empty
    store.save_regime(today)
    store.save_regime(tomorrow)
    assert store.regime(DAY) == today
    assert store.regime(DAY + timedelta(days=1)) == tomorrow


def test_a_later_regime_reading_replaces_the_day_s_state(store: SessionStore) -> None:
    store.save_regime(regime_state())
    absent = RegimeState(
        day=DAY, regime=Regime.UNKNOWN, anchor=Regime.NORMAL_VOL, reason="VIX is absent"
    )
    store.save_regime(absent)
    assert store.regime(DAY) == absent


# --- bars ---------------------------------------------------------------------------------------
def test_put_bars_reports_the_new_bars_and_the_duplicates(store: SessionStore) -> None:
    first = store.put_bars([minute_bar(0), minute_bar(1)], expires_at=EXPIRES)
    assert first.stored == (minute_bar(0), minute_bar(1)) and first.duplicates == 0
    again = store.put_bars(
        [minute_bar(1), minute_bar(2), minute_bar(2), minute_bar(0)], expires_at=EXPIRES
    )
    assert again.stored == (minute_bar(2),)
    assert again.duplicates == 3  # two held already, one repeated within the batch


def test_a_held_bar_is_left_as_it_was(store: SessionStore) -> None:
    store.put_bars([minute_bar(4)], expires_at=EXPIRES)
    revised = minute_bar(4, close=501.0)
    result = store.put_bars([revised], expires_at=EXPIRES + timedelta(days=9))
    assert result.stored == () and result.duplicates == 1
    assert store.bars("SPY", minute(4), minute(5)) == [minute_bar(4)]


def test_bars_read_back_by_half_open_range_oldest_first(store: SessionStore) -> None:
    store.put_bars([minute_bar(i) for i in (5, 1, 3, 0, 4, 2)], expires_at=EXPIRES)
    assert store.bars("SPY", minute(1), minute(4)) == [minute_bar(i) for i in (1, 2, 3)]
    assert store.bars("SPY", minute(1) + timedelta(microseconds=1), minute(3)) == [minute_bar(2)]
    assert store.bars("SPY", minute(0), minute(0)) == []
    assert store.bars("SPY", minute(4), minute(1)) == []
    assert store.bars("QQQ", minute(0), minute(9)) == []
    eastern = minute(2).astimezone(NEW_YORK)
    assert store.bars("SPY", eastern, minute(3)) == [minute_bar(2)]  # instants, not wall times


def test_bars_are_kept_per_symbol(store: SessionStore) -> None:
    store.put_bars([minute_bar(0, "SPY"), minute_bar(0, "QQQ", close=440.0)], expires_at=EXPIRES)
    assert store.bars("QQQ", minute(0), minute(1)) == [minute_bar(0, "QQQ", close=440.0)]
    assert store.bars("SPY", minute(0), minute(1)) == [minute_bar(0, "SPY")]


def test_a_batch_larger_than_a_transaction_stores_what_is_new(store: SessionStore) -> None:
    store.put_bars([minute_bar(i) for i in range(100, 160)], expires_at=EXPIRES)
    result = store.put_bars([minute_bar(i) for i in range(250)], expires_at=EXPIRES)
    assert result.duplicates == 60
    assert [b.ts for b in result.stored] == [minute(i) for i in (*range(100), *range(160, 250))]
    assert store.bars("SPY", minute(0), minute(250)) == [minute_bar(i) for i in range(250)]


@pytest.mark.parametrize(
    ("batch", "expires_at", "problem"),
    [
        (
            [minute_bar(0), minute_bar(1).model_copy(update={"minutes": 5})],
            EXPIRES,
            "spans 5 minutes",
        ),
        ([minute_bar(0)], datetime(2024, 6, 9), "naive"),
        (
            [
                minute_bar(0),
                minute_bar(1).model_copy(update={"ts": minute(1) + timedelta(seconds=1)}),
            ],
            EXPIRES,
            "does not start on a whole minute",
        ),
    ],
)
def test_a_bad_bar_batch_is_refused_and_writes_nothing(
    store: SessionStore, batch: list[Bar], expires_at: datetime, problem: str
) -> None:
    with pytest.raises(InvalidInputError, match=problem):
        store.put_bars(batch, expires_at=expires_at)
    assert store.bars("SPY", minute(0), minute(10)) == []


def test_a_naive_range_is_refused(store: SessionStore) -> None:
    with pytest.raises(InvalidInputError, match="naive"):
        store.bars("SPY", datetime(2024, 6, 3, 9, 30), minute(3))


@pytest.mark.property
@SHARED
@given(
    st.lists(
        st.lists(st.integers(min_value=0, max_value=30), max_size=12),
        min_size=1,
        max_size=5,
    )
)
def test_bars_delivered_in_any_batches_and_order_are_stored_once(
    store: SessionStore, batches: list[list[int]]
) -> None:
    symbol = unique_name()
    seen: set[int] = set()
    for batch in batches:
        result = store.put_bars([minute_bar(i, symbol) for i in batch], expires_at=EXPIRES)
        fresh = list(dict.fromkeys(i for i in batch if i not in seen))
        assert [b.ts for b in result.stored] == [minute(i) for i in fresh]
        assert result.duplicates == len(batch) - len(fresh)
        seen.update(batch)
    held = store.bars(symbol, OPEN, OPEN + timedelta(hours=1))
    assert held == [minute_bar(i, symbol) for i in sorted(seen)]


# --- the newest bar of a range ------------------------------------------------------------------
def test_the_newest_bar_is_the_last_of_its_half_open_range(store: SessionStore) -> None:
    store.put_bars([minute_bar(i) for i in (5, 1, 3, 0, 4, 2)], expires_at=EXPIRES)
    store.put_bars([minute_bar(9, "QQQ", close=440.0)], expires_at=EXPIRES)
    assert store.newest_bar("SPY", minute(1), minute(4)) == minute_bar(3)
    assert store.newest_bar("SPY", minute(0), minute(60)) == minute_bar(5)
    assert store.newest_bar("SPY", minute(1), minute(3) + timedelta(microseconds=1)) == (
        minute_bar(3)
    )  # a bar starting at the range's last instant is in it
    assert store.newest_bar("SPY", minute(2), minute(3)) == minute_bar(2)
    assert store.newest_bar("SPY", minute(6), minute(60)) is None  # after every bar
    assert store.newest_bar("SPY", minute(-30), minute(0)) is None  # before every bar
    assert store.newest_bar("SPY", minute(3), minute(3)) is None
    assert store.newest_bar("SPY", minute(4), minute(1)) is None
    assert store.newest_bar("QQQ", minute(0), minute(60)) == minute_bar(9, "QQQ", close=440.0)
    assert store.newest_bar("IWM", minute(0), minute(60)) is None
    eastern = minute(4).astimezone(NEW_YORK)
    assert store.newest_bar("SPY", minute(0), eastern) == minute_bar(3)  # instants, not wall


def test_the_newest_bar_of_a_naive_range_is_refused(store: SessionStore) -> None:
    with pytest.raises(InvalidInputError, match="naive"):
        store.newest_bar("SPY", minute(0), datetime(2024, 6, 3, 10, 0))


@pytest.mark.property
@SHARED
@given(
    held=st.sets(st.integers(min_value=0, max_value=40), max_size=15),
    start=st.integers(min_value=-5, max_value=45),
    length=st.integers(min_value=-2, max_value=50),
    offset_us=st.sampled_from([0, 1, 59_999_999]),
)
def test_the_newest_bar_is_always_the_last_bar_of_the_range(
    store: SessionStore, held: set[int], start: int, length: int, offset_us: int
) -> None:
    symbol = unique_name()
    store.put_bars([minute_bar(i, symbol) for i in sorted(held)], expires_at=EXPIRES)
    lo = minute(start) + timedelta(microseconds=offset_us)
    hi = minute(start + length)
    in_range = store.bars(symbol, lo, hi)
    assert store.newest_bar(symbol, lo, hi) == (in_range[-1] if in_range else None)


def test_the_newest_bars_of_several_symbols_are_each_ones_newest(store: SessionStore) -> None:
    store.put_bars([minute_bar(i) for i in (0, 1, 2, 3)], expires_at=EXPIRES)
    store.put_bars([minute_bar(i, "QQQ", close=440.0) for i in (0, 30)], expires_at=EXPIRES)
    symbols = ["SPY", "QQQ", "IWM"]
    assert store.newest_bars(symbols, minute(0), minute(40)) == {
        "SPY": minute_bar(3),  # far back from the end of the range
        "QQQ": minute_bar(30, "QQQ", close=440.0),
        "IWM": None,
    }
    assert store.newest_bars(symbols, minute(2), minute(31)) == {
        "SPY": minute_bar(3),
        "QQQ": minute_bar(30, "QQQ", close=440.0),
        "IWM": None,
    }
    assert store.newest_bars(["SPY"], minute(4), minute(4)) == {"SPY": None}
    assert store.newest_bars([], minute(0), minute(40)) == {}
    with pytest.raises(InvalidInputError, match="naive"):
        store.newest_bars(["SPY"], minute(0), datetime(2024, 6, 3, 10, 0))


@pytest.mark.property
@SHARED
@given(
    held=st.lists(
        st.sets(st.integers(min_value=0, max_value=40), max_size=12), min_size=1, max_size=3
    ),
    start=st.integers(min_value=-5, max_value=45),
    length=st.integers(min_value=-2, max_value=50),
    offset_us=st.sampled_from([0, 1, 59_999_999]),
)
def test_the_newest_bars_are_always_each_symbols_newest_bar(
    store: SessionStore, held: list[set[int]], start: int, length: int, offset_us: int
) -> None:
    symbols = [unique_name() for _ in held]
    for symbol, minutes in zip(symbols, held, strict=True):
        store.put_bars([minute_bar(i, symbol) for i in sorted(minutes)], expires_at=EXPIRES)
    lo = minute(start) + timedelta(microseconds=offset_us)
    hi = minute(start + length) + timedelta(microseconds=offset_us)
    expected = {symbol: store.newest_bar(symbol, lo, hi) for symbol in symbols}
    assert store.newest_bars(symbols, lo, hi) == expected
