"""The signals-poll tick: closed minutes not stepped yet, over REST, stepped like pushed bars."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from maxtrader.domain.errors import DataError, InvalidInputError, StateUnavailableError
from maxtrader.domain.models import Bar
from maxtrader.signals import POLL_GRACE, poll_closed_minutes
from tests.support.signals_world import DAY, SignalsWorld, minute, session_bars, session_of

SESSION = session_of(DAY)
PREVIOUS = session_of(DAY - timedelta(days=1))


@pytest.fixture
def world() -> SignalsWorld:
    w = SignalsWorld(("SPY", "QQQ"))
    for symbol in ("SPY", "QQQ"):
        w.market.add(session_bars(symbol, PREVIOUS.day) + session_bars(symbol, DAY))
    w.store_regime(DAY, 17.0)
    return w


def with_deps(world: SignalsWorld, **changes: Any) -> Any:
    """The world's dependencies with some replaced."""
    fields = {f: getattr(world.deps, f) for f in world.deps.__dataclass_fields__}
    return world.deps.__class__(**(fields | changes))


def at(minutes: int, seconds: int = 0) -> datetime:
    return SESSION.open + timedelta(minutes=minutes, seconds=seconds)


@pytest.mark.parametrize(
    ("when", "note"),
    [
        (datetime(2024, 6, 8, 14, 0, tzinfo=UTC), "has no session"),  # a Saturday
        (datetime(2024, 7, 4, 14, 0, tzinfo=UTC), "has no session"),  # Independence Day
        (SESSION.open - timedelta(minutes=30), "before the session's first minute"),
        (SESSION.open + POLL_GRACE, "before the session's first minute"),
        (SESSION.close + timedelta(minutes=30), "after the session's close"),
    ],
)
def test_a_tick_outside_the_session_does_nothing_and_says_so(
    world: SignalsWorld, when: datetime, note: str
) -> None:
    outcome = world.poll(when)
    assert note in outcome.note and outcome.stepped == 0
    assert world.market.calls == [] and world.sessions.strategy_state("pause", "SPY") is None


def test_the_poll_steps_every_closed_minute_up_to_the_grace_for_every_symbol(
    world: SignalsWorld,
) -> None:
    outcome = world.poll(at(10, 3))  # 09:40:03: minutes 0..8 closed before 09:39
    assert (outcome.stepped, outcome.polled) == (18, 18)
    for symbol in ("SPY", "QQQ"):
        assert set(world.last_bar_ts(symbol).values()) == {at(8)}
        assert len(world.sessions.bars(symbol, at(0), at(20))) == 9


def test_a_second_tick_fetches_only_what_closed_since(world: SignalsWorld) -> None:
    world.poll(at(10))
    calls = len(world.market.calls)
    again = world.poll(at(10, 40))  # the same minute again (a retried invocation)
    assert (again.stepped, len(world.market.calls)) == (0, calls)  # nothing pending: no REST
    later = world.poll(at(12))
    assert (later.stepped, later.polled) == (4, 4)
    assert world.market.calls[-1][1:] == (at(9), at(11))


def test_with_the_relay_alive_the_poll_finds_nothing_to_do(world: SignalsWorld) -> None:
    for i in range(10):
        world.push(minute("SPY", DAY, i), minute("QQQ", DAY, i))
    calls = len(world.market.calls)
    outcome = world.poll(at(11))
    assert (outcome.stepped, len(world.market.calls)) == (0, calls)


def test_pushed_bars_after_the_poll_stepped_them_are_duplicates(world: SignalsWorld) -> None:
    world.poll(at(6))
    late = world.push(minute("SPY", DAY, 3))
    assert (late.stepped, late.duplicates) == (0, 1)
    nxt = world.push(minute("SPY", DAY, 5))  # the minute after the poll's cut-off
    assert (nxt.stepped, nxt.polled) == (1, 0)


def test_the_last_minutes_are_polled_after_the_close(world: SignalsWorld) -> None:
    world.poll(SESSION.close - timedelta(minutes=3))
    outcome = world.poll(SESSION.close + timedelta(minutes=2))
    assert outcome.stepped == 2 * 4  # the cut-off was close - 4 minutes
    assert set(world.last_bar_ts().values()) == {SESSION.close - timedelta(minutes=1)}


def test_an_early_close_ends_the_poll_at_its_own_close() -> None:
    day = date(2024, 7, 3)  # 13:00 New York close
    world = SignalsWorld(("SPY",))
    world.market.add(session_bars("SPY", date(2024, 7, 2)) + session_bars("SPY", day))
    close = session_of(day).close
    world.poll(close + timedelta(minutes=3))
    assert set(world.last_bar_ts().values()) == {close - timedelta(minutes=1)}


def test_a_naive_scheduled_time_is_refused(world: SignalsWorld) -> None:
    with pytest.raises(InvalidInputError, match="timezone-aware"):
        poll_closed_minutes(datetime(2024, 6, 4, 14, 0), world.deps)


class _FailingFor:
    """Market data whose answers for one symbol fail (the others are served)."""

    def __init__(self, inner: Any, symbol: str) -> None:
        self._inner, self.symbol = inner, symbol

    def minute_bars(self, symbol: str, start: datetime, end: datetime) -> list[Bar]:
        if symbol == self.symbol:
            raise DataError(f"{symbol}: vendor error")
        return list(self._inner.minute_bars(symbol, start, end))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_one_symbols_outage_does_not_hold_the_others_back(world: SignalsWorld) -> None:
    deps = with_deps(world, market_data=_FailingFor(world.market, "QQQ"))
    world.clock.set(at(6))
    with pytest.raises(DataError, match="QQQ"):
        poll_closed_minutes(at(6), deps)
    assert set(world.last_bar_ts("SPY").values()) == {at(4)}
    assert world.sessions.strategy_state("pause", "QQQ") is None
    assert world.poll(at(6)).stepped == 5  # the tick retried: QQQ caught up


class _UnreadableFor:
    """A session store holding an unreadable item of one symbol: any read that includes it
    fails (as the DynamoDB store's BatchGetItem does), the others' reads are served."""

    def __init__(self, inner: Any, symbol: str) -> None:
        self._inner, self.symbol = inner, symbol
        self.reads: list[list[str]] = []

    def read_session(self, day: date, symbols: Any) -> Any:
        self.reads.append(sorted(symbols))
        if self.symbol in self.reads[-1]:
            raise StateUnavailableError(f"item STRATEGIES/{self.symbol}: attribute 'symbol' ...")
        return self._inner.read_session(day, symbols)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_one_symbols_unreadable_state_does_not_hold_the_others_back(world: SignalsWorld) -> None:
    store = _UnreadableFor(world.sessions, "QQQ")
    deps = with_deps(world, sessions=store)
    world.clock.set(at(6))
    with pytest.raises(StateUnavailableError, match="STRATEGIES/QQQ"):
        poll_closed_minutes(at(6), deps)
    assert store.reads == [["QQQ", "SPY"], ["QQQ"], ["SPY"]]  # the shared read, then one each
    assert set(world.last_bar_ts("SPY").values()) == {at(4)}
    assert world.sessions.strategy_state("pause", "QQQ") is None


def test_a_tick_reads_every_symbol_once(world: SignalsWorld) -> None:
    store = _UnreadableFor(world.sessions, "none")
    deps = with_deps(world, sessions=store)
    world.clock.set(at(6))
    assert poll_closed_minutes(at(6), deps).stepped == 10
    assert poll_closed_minutes(at(6), deps).stepped == 0  # nothing new: the read alone
    assert store.reads == [["QQQ", "SPY"], ["QQQ", "SPY"]]
