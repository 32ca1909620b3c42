"""The ``SessionStore`` contract of a step's read and save, for both adapters (memory, moto).

``read_session``: every stored state of the symbols asked and the day's regime, absent ones
absent, never another symbol's. ``save_strategy_states``: one symbol's states together or not at
all, each on its own ``last_bar_ts`` condition, the symbol's other strategies left alone; of
equal-timestamp racers exactly one wins, whole.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.ports import SessionStore, StoredStrategyState
from tests.support.session import DAY, regime_state, strategy_state

if TYPE_CHECKING:
    from tests.support.session_backends import Backend

pytest_plugins = ("tests.support.session_backends",)  # backend (memory, dynamodb), store

NAMES = ("pause", "vwap_reversion", "wave_renko")


def states_of(
    symbol: str, i: int, payload: str = "{}", names: tuple[str, ...] = NAMES
) -> list[StoredStrategyState]:
    return [strategy_state(i, payload, strategy=n, symbol=symbol) for n in names]


def held(store: SessionStore, symbol: str = "SPY") -> dict[str, StoredStrategyState]:
    return {k[0]: v for k, v in store.read_session(DAY, [symbol]).states.items()}


# --- read_session -------------------------------------------------------------------------------
def test_a_read_holds_every_state_of_the_symbols_asked_and_the_day_s_regime(
    store: SessionStore,
) -> None:
    spy, qqq = states_of("SPY", 3), states_of("QQQ", 5)[:1]
    assert store.save_strategy_states(spy) and store.save_strategy_states(qqq)
    assert store.save_strategy_states(states_of("IWM", 1))  # not asked for
    store.save_regime(regime_state())
    store.save_regime(regime_state(DAY + timedelta(days=1), vix=30.0))
    snapshot = store.read_session(DAY, ["SPY", "QQQ", "DIA"])
    assert snapshot.day == DAY and snapshot.symbols == {"SPY", "QQQ", "DIA"}
    assert snapshot.states == {(s.strategy, s.symbol): s for s in [*spy, *qqq]}
    assert snapshot.regime == regime_state()
    assert snapshot.state("pause", "DIA") is None  # read, and nothing stored
    with pytest.raises(InvalidInputError, match="did not read 'IWM'"):
        snapshot.state("pause", "IWM")  # never read: "absent" would be a guess


def test_a_read_of_nothing_stored_is_empty(store: SessionStore) -> None:
    snapshot = store.read_session(DAY, ["SPY", "QQQ"])
    assert snapshot.states == {} and snapshot.regime is None
    assert store.read_session(DAY, []).states == {}  # the regime alone


def test_a_read_sees_the_saves_before_it(store: SessionStore) -> None:
    store.save_strategy_states(states_of("SPY", 1))
    newer = strategy_state(2, '"v2"', strategy="wave_renko")
    assert store.save_strategy_states([newer])
    assert held(store)["wave_renko"] == newer  # consistent: never the earlier state


@pytest.mark.parametrize(
    ("symbols", "problem"),
    [("SPY", "one string"), (["SPY", ""], "not 1-200 printable"), (["S\nP"], "printable")],
)
def test_a_read_of_bad_symbols_is_refused(
    store: SessionStore, symbols: object, problem: str
) -> None:
    with pytest.raises(InvalidInputError, match=problem):
        store.read_session(DAY, symbols)  # type: ignore[arg-type]


# --- save_strategy_states -----------------------------------------------------------------------
def test_a_symbol_s_states_are_saved_together_or_not_at_all(store: SessionStore) -> None:
    first = states_of("SPY", 5, '"first"')
    assert store.save_strategy_states(first)
    one_stale = [strategy_state(6, '"new"', strategy="pause"),
                 strategy_state(5, '"dup"', strategy="wave_renko")]  # fmt: skip
    assert store.save_strategy_states(one_stale) is False
    assert held(store) == {s.strategy: s for s in first}  # not even the newer pause state
    newer = states_of("SPY", 6, '"second"')
    assert store.save_strategy_states(newer) is True
    assert held(store) == {s.strategy: s for s in newer}


def test_a_save_leaves_the_symbol_s_other_strategies_as_they_were(store: SessionStore) -> None:
    first = states_of("SPY", 5)
    store.save_strategy_states(first)
    added = strategy_state(0, '"started late"', strategy="smart_money")  # earlier than the rest
    moved = strategy_state(6, '"moved"', strategy="pause")
    assert store.save_strategy_states([added, moved])
    assert held(store) == {**{s.strategy: s for s in first}, "smart_money": added, "pause": moved}
    assert store.strategy_state("smart_money", "SPY") == added


@pytest.mark.parametrize(
    ("states", "problem"),
    [
        ([strategy_state(1), strategy_state(1, symbol="QQQ")], "2 symbols in one save"),
        ([strategy_state(1), strategy_state(2)], "vwap_reversion given twice"),
    ],
)
def test_a_save_of_several_symbols_or_a_repeated_strategy_is_refused_writing_nothing(
    store: SessionStore, states: list[StoredStrategyState], problem: str
) -> None:
    with pytest.raises(InvalidInputError, match=problem):
        store.save_strategy_states(states)
    assert store.read_session(DAY, ["SPY", "QQQ"]).states == {}


def test_nothing_to_save_is_saved(store: SessionStore) -> None:
    assert store.save_strategy_states([]) is True
    assert store.read_session(DAY, ["SPY"]).states == {}


@pytest.mark.property
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.dictionaries(st.sampled_from(NAMES), st.integers(min_value=0, max_value=6), min_size=1),
        min_size=1,
        max_size=8,
    )
)
def test_any_sequence_of_saves_keeps_what_each_all_or_nothing_rule_says(
    store: SessionStore, saves: list[dict[str, int]]
) -> None:
    """Saves of any strategies at any minutes, in any order: a save is stored exactly when each
    of its states is newer than its strategy's stored one, and then all of them are."""
    symbol = f"s{uuid.uuid4().hex[:12]}"  # a fresh key per example (the store outlives them)
    model: dict[str, StoredStrategyState] = {}
    for k, save in enumerate(saves):
        states = [strategy_state(i, f'"{k}"', strategy=n, symbol=symbol) for n, i in save.items()]
        expected = all(s.strategy not in model or model[s.strategy].last_bar_ts < s.last_bar_ts
                       for s in states)  # fmt: skip
        assert store.save_strategy_states(states) is expected
        if expected:
            model |= {s.strategy: s for s in states}
    assert held(store, symbol) == model


@pytest.mark.concurrency
@pytest.mark.parametrize("names", [("vwap_reversion",), NAMES], ids=["one_state", "three"])
def test_of_concurrent_equal_timestamp_saves_exactly_one_wins_whole(
    backend: Backend, names: tuple[str, ...]
) -> None:
    threads, rounds = 8, 4
    stores = [backend.connect() for _ in range(threads)]
    for r in range(rounds):
        barrier = threading.Barrier(threads)

        def save(k: int, r: int = r, barrier: threading.Barrier = barrier) -> bool:
            states = states_of("SPY", r, f'{{"writer": {k}}}', names)
            barrier.wait(timeout=30)
            if len(states) == 1:
                return stores[k].save_strategy_state(states[0])
            return stores[k].save_strategy_states(states)

        with ThreadPoolExecutor(threads) as pool:
            won = list(pool.map(save, range(threads)))
        assert won.count(True) == 1, (r, won)
        winner = states_of("SPY", r, f'{{"writer": {won.index(True)}}}', names)
        assert held(backend.store) == {s.strategy: s for s in winner}  # never a mix of writers
