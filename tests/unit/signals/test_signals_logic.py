"""The signals logic on the memory adapters: stepping, duplicates, gaps, refusals, session start."""

from __future__ import annotations

from datetime import timedelta

import pytest

from maxtrader.domain.errors import DataError, InvalidInputError
from maxtrader.domain.models import Bar
from maxtrader.ingest import encode_bar_message
from maxtrader.signals import handle_bar_message, prepare_session_states
from tests.support.signals_world import DAY, SignalsWorld, minute, session_bars, session_of

OPEN = session_of(DAY).open
PREVIOUS = session_of(DAY - timedelta(days=1))  # Monday 2024-06-03


@pytest.fixture
def world() -> SignalsWorld:
    w = SignalsWorld(("SPY", "QQQ"))
    w.market.add(session_bars("SPY", PREVIOUS.day) + session_bars("QQQ", PREVIOUS.day))
    w.store_regime(DAY, 17.0)
    return w


def spy(i: int) -> Bar:
    return minute("SPY", DAY, i)


def test_pushed_bars_step_every_routable_strategy_and_save_its_last_bar(
    world: SignalsWorld,
) -> None:
    for i in range(3):
        outcome = world.push(spy(i))
        assert (outcome.stepped, outcome.duplicates, outcome.polled) == (1, 0, 0)
        assert outcome.data_age_seconds == pytest.approx(2.0)
    assert set(world.deps.strategies) >= {"wave_renko", "vwap_reversion", "pause"}
    assert set(world.last_bar_ts().values()) == {spy(2).ts}
    assert world.sessions.strategy_state("wave_renko", "QQQ") is None  # nothing of QQQ pushed


def test_a_redelivered_or_late_bar_changes_nothing_and_sends_nothing(world: SignalsWorld) -> None:
    world.push(spy(0), spy(1))
    before = {n: world.sessions.strategy_state(n, "SPY") for n in world.deps.strategies}
    again = world.push(spy(1))
    late = world.push(spy(0))
    assert (again.stepped, again.duplicates, late.stepped, late.duplicates) == (0, 1, 0, 1)
    assert {n: world.sessions.strategy_state(n, "SPY") for n in world.deps.strategies} == before
    assert world.queue.sends == 0


def test_a_gap_is_fetched_over_rest_stored_and_stepped_in_order(world: SignalsWorld) -> None:
    world.market.add([spy(1), spy(2)])
    world.push(spy(0))
    outcome = world.push(spy(3))
    assert (outcome.stepped, outcome.polled) == (3, 2)
    assert world.sessions.bars("SPY", spy(1).ts, spy(3).ts) == [spy(1), spy(2)]
    symbol, start, end = world.market.calls[-1]
    assert (symbol, start, end) == ("SPY", spy(1).ts, spy(3).ts)
    assert set(world.last_bar_ts().values()) == {spy(3).ts}


def test_a_gap_the_store_already_holds_is_read_back_not_fetched(world: SignalsWorld) -> None:
    world.push(spy(0))
    world.sessions.put_bars([spy(1)], expires_at=OPEN + timedelta(days=4))
    calls = len(world.market.calls)
    outcome = world.push(spy(2))
    assert (outcome.stepped, outcome.polled, len(world.market.calls)) == (2, 0, calls)


def test_a_minute_nobody_has_a_bar_of_is_a_minute_without_trades(world: SignalsWorld) -> None:
    world.push(spy(0))
    outcome = world.push(spy(2))  # REST has no minute 1 either
    assert (outcome.stepped, outcome.polled) == (1, 0)
    assert set(world.last_bar_ts().values()) == {spy(2).ts}


def test_the_first_bar_of_the_day_late_fills_the_minutes_since_the_open(
    world: SignalsWorld,
) -> None:
    world.market.add([spy(0), spy(1)])
    outcome = world.push(spy(2))
    assert (outcome.stepped, outcome.polled) == (3, 2)


def test_when_rest_cannot_fill_a_gap_nothing_is_stepped_saved_or_sent(
    world: SignalsWorld,
) -> None:
    world.push(spy(0))
    before = world.last_bar_ts()
    world.market.fail_next()
    with pytest.raises(DataError):
        world.push(spy(5))
    assert world.last_bar_ts() == before
    assert world.sessions.bars("SPY", spy(1).ts, spy(6).ts) == []
    world.market.add([spy(i) for i in range(1, 5)])  # the vendor is back: the retry converges
    assert world.push(spy(5)).stepped == 5


def test_bars_outside_regular_hours_are_counted_and_skipped(world: SignalsWorld) -> None:
    premarket = spy(0).model_copy(update={"ts": OPEN - timedelta(minutes=5)})
    after = spy(0).model_copy(update={"ts": session_of(DAY).close})
    outcome = world.push(premarket, after)
    assert (outcome.outside_hours, outcome.stepped) == (2, 0)
    assert world.sessions.strategy_state("wave_renko", "SPY") is None


@pytest.mark.parametrize(
    ("bar", "problem"),
    [
        (minute("IWM", DAY, 0), "does not trade"),
        (spy(0).model_copy(update={"minutes": 5}), "5-minute"),
    ],
)
def test_a_bar_the_path_cannot_step_is_refused_with_nothing_written(
    world: SignalsWorld, bar: Bar, problem: str
) -> None:
    with pytest.raises(InvalidInputError, match=problem):
        world.push(bar)
    assert world.sessions.strategy_state("wave_renko", "SPY") is None
    assert world.market.calls == []


def test_a_bar_that_has_not_closed_is_refused_until_it_has(world: SignalsWorld) -> None:
    with pytest.raises(DataError, match="has not closed"):  # retryable: clock skew
        world.push(spy(3), lag=-timedelta(seconds=30))
    assert world.sessions.strategy_state("wave_renko", "SPY") is None
    assert world.push(spy(3)).stepped == 1  # redelivered after its close


@pytest.mark.parametrize(
    "body",
    [
        "",
        "{",
        "[]",
        '{"version": 2, "kind": "bar"}',
        encode_bar_message(spy(0))[:-2],
        encode_bar_message(spy(0)).replace('"minutes":1', '"minutes":true'),  # found by fuzzing
        encode_bar_message(spy(0)).replace('"volume":1000.0', '"volume":false'),
    ],
)
def test_a_body_that_is_not_a_bar_message_is_refused_naming_it(
    world: SignalsWorld, body: str
) -> None:
    with pytest.raises(InvalidInputError, match="bar message"):
        handle_bar_message(body, world.deps)
    assert world.sessions.strategy_state("wave_renko", "SPY") is None


def test_a_bar_message_is_stepped_like_a_pushed_bar(world: SignalsWorld) -> None:
    world.clock.set(spy(0).closed_at)
    assert handle_bar_message(encode_bar_message(spy(0)), world.deps).stepped == 1


def test_the_session_starts_from_prior_sessions_only_and_saves_before_the_open(
    world: SignalsWorld,
) -> None:
    world.market.add([spy(i) for i in range(10)])  # today's bars are there: never history
    states = prepare_session_states(session_of(DAY), ["SPY"], world.deps.session_start())
    assert {k[1] for k in states} == {"SPY"} and len(states) == len(world.deps.strategies)
    (symbol, _, end), *_ = world.market.calls
    assert symbol == "SPY" and end <= PREVIOUS.close < OPEN
    for name, strategy in world.deps.strategies.items():
        stored = world.sessions.strategy_state(name, "SPY")
        assert stored is not None and stored.last_bar_ts == OPEN - timedelta(minutes=1)
        history = session_bars("SPY", PREVIOUS.day) if strategy.history_sessions else []
        expected = strategy.start_session("SPY", session_of(DAY), history)
        assert stored.payload == expected.model_dump_json()


def test_a_state_of_today_is_reused_and_yesterdays_is_replaced(world: SignalsWorld) -> None:
    yesterday = world.deps.session_start()
    prepare_session_states(PREVIOUS, ["SPY"], yesterday)  # needs history before Monday
    assert world.last_bar_ts() == {n: PREVIOUS.open - timedelta(minutes=1)
                                   for n in world.deps.strategies}  # fmt: skip
    world.push(spy(0))  # a new day: restarted, then stepped
    assert set(world.last_bar_ts().values()) == {spy(0).ts}
    calls = len(world.market.calls)
    prepare_session_states(session_of(DAY), ["SPY"], world.deps.session_start())
    assert len(world.market.calls) == calls  # today's states are stored: no REST
    assert set(world.last_bar_ts().values()) == {spy(0).ts}


def test_the_market_data_client_is_built_only_when_a_session_start_or_gap_needs_it(
    world: SignalsWorld,
) -> None:
    world.push(spy(0))
    assert world.market_builds == 1  # the session start's history
    for i in range(1, 4):
        world.push(spy(i))
    assert world.market_builds == 1 and len(world.market.calls) == 1


def test_symbols_advance_independently(world: SignalsWorld) -> None:
    qqq = minute("QQQ", DAY, 0)
    outcome = world.push(spy(0), qqq, spy(1))
    assert outcome.stepped == 3
    assert set(world.last_bar_ts("QQQ").values()) == {qqq.ts}
    assert set(world.last_bar_ts("SPY").values()) == {spy(1).ts}
