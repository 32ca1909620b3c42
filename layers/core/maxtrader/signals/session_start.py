"""The start-of-session state of every strategy a symbol's session may route to.

    prepare_session_states(session, symbols, deps) -> {(strategy, symbol): state}
    symbol_session_states(session, symbol, snapshot, deps)   one symbol, from a read already made

The stored states come from ONE ``SessionStore.read_session`` of all the symbols (the signals
path makes its own, of states and regime together, and passes it to ``symbol_session_states``).

A strategy whose stored state is of another day (or absent) is started as the backtester starts
it (``strategy.start_session`` with the bars of prior sessions only: the calendar's
``history_sessions`` sessions before the day, regular hours only, over ``MarketData``) and saved
with ``last_bar_ts`` = one minute before the open: "nothing of today stepped yet", so the
session's first bar is the one whose predecessor is that instant. A symbol's started states are
saved together (one conditional write). A concurrent start (the premarket run, the poll and a
pushed bar racing) loses the conditional save and reads the winner's states back: both were
built from the same history.

Every strategy the configuration can route to is started and stepped, whatever today's regime,
because the regime can change during the session (trading/session.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from maxtrader.config.strategies import StrategiesConfig
from maxtrader.domain.calendar import MarketCalendar, Session
from maxtrader.domain.errors import InvalidInputError, StateUnavailableError
from maxtrader.domain.models import Bar, Regime
from maxtrader.domain.ports import MarketData, SessionSnapshot, SessionStore, StoredStrategyState
from maxtrader.trading.session import Routing

ONE_MINUTE = timedelta(minutes=1)
StateKey = tuple[str, str]  # (strategy, symbol)


@dataclass(frozen=True, slots=True)
class SessionStartDependencies:
    sessions: SessionStore
    market_data: MarketData
    calendar: MarketCalendar
    strategies: Mapping[str, Any]  # name -> Strategy


def routable_strategies(config: StrategiesConfig, routing: Routing | None = None) -> dict[str, Any]:
    """Every strategy some regime routes to under ``config`` (the ones a session steps)."""
    return (routing or Routing(config)).strategies(Regime)


def before_open(session: Session) -> Any:
    """The ``last_bar_ts`` of a started state: the instant before the session's first bar."""
    return session.open - ONE_MINUTE


def load_state(strategy: Any, stored: StoredStrategyState) -> Any:
    """The strategy's state from its stored JSON; an unreadable one fails closed."""
    try:
        return strategy.load_state(stored.payload)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise StateUnavailableError(
            f"strategy state {stored.strategy}/{stored.symbol} is unreadable: "
            f"{str(exc).splitlines()[0]}"
        ) from None


def todays_state(strategy: Any, stored: StoredStrategyState | None, session: Session) -> Any:
    """The stored state when it is of ``session``'s day, else None."""
    if stored is None:
        return None
    state = load_state(strategy, stored)
    return state if state.day == session.day else None


def prepare_session_states(
    session: Session, symbols: Iterable[str], deps: SessionStartDependencies
) -> dict[StateKey, Any]:
    """Today's state of every (strategy, symbol): the stored one, or started and saved. The
    stored ones are read in one request."""
    wanted = sorted(set(symbols))
    snapshot = deps.sessions.read_session(session.day, wanted)
    out: dict[StateKey, Any] = {}
    for symbol in wanted:
        out.update(symbol_session_states(session, symbol, snapshot, deps))
    return out


def symbol_session_states(
    session: Session, symbol: str, snapshot: SessionSnapshot, deps: SessionStartDependencies
) -> dict[StateKey, Any]:
    """Today's state of every strategy of ``symbol``, from ``snapshot`` (a read of ``session``'s
    day holding ``symbol``); the ones not of today are started and saved."""
    if snapshot.day != session.day:
        raise InvalidInputError(f"a snapshot of {snapshot.day} for the session of {session.day}")
    out: dict[StateKey, Any] = {}
    missing: list[str] = []
    for name, strategy in deps.strategies.items():
        state = todays_state(strategy, snapshot.state(name, symbol), session)
        if state is None:
            missing.append(name)
        else:
            out[(name, symbol)] = state
    if missing:
        out.update(_start(session, symbol, missing, deps))
    return out


def _start(
    session: Session, symbol: str, names: Sequence[str], deps: SessionStartDependencies
) -> dict[StateKey, Any]:
    depth = max(deps.strategies[n].history_sessions for n in names)
    by_session = prior_session_bars(session, symbol, depth, deps)
    out: dict[StateKey, Any] = {}
    for name in names:
        strategy = deps.strategies[name]
        n = strategy.history_sessions
        history = [bar for bars in (by_session[-n:] if n > 0 else []) for bar in bars]
        out[(name, symbol)] = strategy.start_session(symbol, session, history)
    saved = [
        StoredStrategyState(
            strategy=name,
            symbol=symbol,
            last_bar_ts=before_open(session),
            payload=state.model_dump_json(),
        )
        for (name, _), state in out.items()
    ]
    if deps.sessions.save_strategy_states(saved):
        return out
    # Another invocation saved first (or already stepped today's bars): use its states.
    again = deps.sessions.read_session(session.day, [symbol])
    for name in names:
        state = todays_state(deps.strategies[name], again.state(name, symbol), session)
        if state is None:
            raise StateUnavailableError(
                f"strategy state {name}/{symbol}: the save was refused but no state of "
                f"{session.day.isoformat()} is stored"
            )
        out[(name, symbol)] = state
    return out


def prior_session_bars(
    session: Session, symbol: str, count: int, deps: SessionStartDependencies
) -> list[list[Bar]]:
    """The regular-hours 1-minute bars of the ``count`` sessions before ``session``, one list
    per session, oldest first (a session the vendor has no bar of is an empty list)."""
    if count <= 0:
        return []
    prior = deps.calendar.previous_sessions(session.day, count)
    bars = deps.market_data.minute_bars(symbol, prior[0].open, prior[-1].close)
    out: list[list[Bar]] = [[] for _ in prior]
    i = 0
    for bar in bars:
        while i < len(prior) and bar.ts >= prior[i].close:
            i += 1
        if i == len(prior):
            break
        if bar.minutes == 1 and bar.symbol == symbol and prior[i].contains(bar.ts):
            out[i].append(bar)
    return out


__all__ = [
    "SessionStartDependencies",
    "StateKey",
    "before_open",
    "load_state",
    "prepare_session_states",
    "prior_session_bars",
    "routable_strategies",
    "symbol_session_states",
    "todays_state",
]
