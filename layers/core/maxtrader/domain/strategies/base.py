"""The Strategy protocol every regime strategy implements, and what they share.

A strategy is an incremental, serializable state machine driven one CLOSED 1-minute RTH bar at a
time. The strategy object holds only configuration; everything that changes lives in its State,
a frozen pydantic model with an exact JSON round trip::

    strategy = strategy_for(regime, config)            # maxtrader.domain.strategies.routing
    state = strategy.start_session(symbol, session, history)   # before the open, prior bars only
    for bar in closed_bars:                            # live: load state, step one bar, save
        state, signals = strategy.step(state, bar)
    state, events = strategy.step_many(state, bars)    # replays: the same, a session at once
    blob = state.model_dump_json(); state = strategy.load_state(blob)

Rules every strategy follows:
- ``history`` holds 1-minute RTH bars of sessions strictly before the session being started
  (``strategy.history_sessions`` of them are enough); a bar of that session or later is a
  look-ahead and raises ValueError.
- ``step`` ignores a bar it has already seen (ts <= state.last_ts): returns the state unchanged and
  no signals, so a redelivered bar cannot double a signal. A bar of another symbol, outside the
  session's regular hours, or not 1-minute raises ValueError and changes nothing.
- Entries are decided when bar t closes (``bar.closed_at``) and are only emitted when that instant
  lies in the session's entry window [entry_start, close - entry_stop_before_close) (and any
  strategy-specific window); the order fills at bar t+1's open.
- A signal is emitted only when its reward/risk >= the strategy's ``min_rr`` and its levels are
  consistent (long: stop < entry < target). Signal ids are deterministic (Signal.create).
- ``max_hold_minutes`` is the time stop the caller applies to positions the strategy opened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol, TypeVar

from pydantic import AwareDatetime, BaseModel

from maxtrader.config.strategies import SessionRules
from maxtrader.domain.calendar import Session
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import Bar, Direction, DomainModel, Instrument, Regime, Signal
from maxtrader.domain.strategies.history import prior_sessions

ONE_MINUTE = timedelta(minutes=1)
_STATE: Any = object()  # accept_bar's "use the state's last_ts" marker
M = TypeVar("M", bound=BaseModel)
_setattr = object.__setattr__


def evolve(model: M, update: dict[str, Any]) -> M:
    """``model.model_copy(update=update)`` without its generic copying: step()'s hot path.

    Like model_copy it does not validate; callers pass values derived from validated ones
    (tests/unit/strategies/test_base.py pins it to model_copy's result).
    """
    cls = type(model)
    new = cls.__new__(cls)
    values = model.__dict__.copy()
    values.update(update)
    _setattr(new, "__dict__", values)
    _setattr(new, "__pydantic_fields_set__", model.__pydantic_fields_set__ | update.keys())
    _setattr(new, "__pydantic_extra__", None)
    _setattr(new, "__pydantic_private__", None)
    return new


def construct(cls: type[M], values: dict[str, Any]) -> M:
    """``cls.model_construct(**values)`` for a complete set of fields, without its defaults pass."""
    new = cls.__new__(cls)
    _setattr(new, "__dict__", values)
    _setattr(new, "__pydantic_fields_set__", set(values))
    _setattr(new, "__pydantic_extra__", None)
    _setattr(new, "__pydantic_private__", None)
    return new


class StrategyState(DomainModel):
    """What every strategy state carries: the session frame and the last bar seen."""

    symbol: str
    day: date
    session_open: AwareDatetime
    session_close: AwareDatetime
    entry_start: AwareDatetime  # entries when start <= bar.closed_at < end
    entry_end: AwareDatetime
    last_ts: AwareDatetime | None = None
    ready: bool = True  # False: not enough history; the strategy steps but never signals
    note: str = ""


StateT = TypeVar("StateT", bound=StrategyState)


class Strategy(Protocol[StateT]):
    """A regime strategy (see the module docstring for the rules)."""

    name: str
    regime: Regime
    instrument: Instrument
    min_rr: float
    max_hold_minutes: int
    history_sessions: int

    def start_session(self, symbol: str, session: Session, history: Sequence[Bar]) -> StateT: ...

    def step(self, state: StateT, bar: Bar) -> tuple[StateT, list[Signal]]: ...

    def load_state(self, data: str | bytes) -> StateT: ...


# Optional, for replays (the backtest engine uses it when a strategy has it, else step_each):
#     def step_many(self, state, bars) -> tuple[StateT, list[tuple[int, list[Signal]]]]
# exactly ``step`` bar after bar (same final state, same signals, (index, signals) per bar that
# signalled, same ValueError at the same bad bar), but with a mutable working state converted
# to the frozen State once per call instead of once per bar.


def session_frame(
    symbol: str, session: Session, rules: SessionRules
) -> dict[str, str | date | datetime]:
    """The StrategyState fields that frame a session (entry window from the config)."""
    start, end = session.entry_window(
        rules.entry_start, timedelta(minutes=rules.entry_stop_before_close_minutes)
    )
    return {
        "symbol": symbol,
        "day": session.day,
        "session_open": session.open,
        "session_close": session.close,
        "entry_start": start,
        "entry_end": end,
    }


def split_sessions(history: Sequence[Bar], before: date) -> list[list[Bar]]:
    """Group prior-session bars by New York date, oldest first; reject any bar on/after ``before``.

    Bars must be sorted by time (the loaders guarantee it); unsorted input raises ValueError.
    (``history.prior_sessions`` is the same split with a backtest's per-session memo.)
    """
    return [list(s.bars) for s in prior_sessions(history, before)]


def accept_bar(state: StrategyState, bar: Bar, last_ts: datetime | None = _STATE) -> bool:
    """Validate a bar against the state; False when it was already seen (ignore it).

    ``last_ts``: the last bar seen when the caller tracks it itself (step_many), else the state's.
    """
    if last_ts is _STATE:
        last_ts = state.last_ts
    if bar.symbol != state.symbol:
        raise InvalidInputError(f"bar of {bar.symbol} given to the {state.symbol} strategy state")
    if bar.minutes != 1:
        raise InvalidInputError(f"strategies step on 1-minute bars, got a {bar.minutes}-minute bar")
    if not state.session_open <= bar.ts < state.session_close:
        raise InvalidInputError(
            f"bar at {bar.ts.isoformat()} is outside the regular hours of {state.day.isoformat()}"
        )
    return last_ts is None or bar.ts > last_ts


def accepted_bars(state: StrategyState, bars: Sequence[Bar]) -> Iterator[tuple[int, Bar]]:
    """(index, bar) of the bars ``step`` would act on, in order, as ``accept_bar`` decides bar
    after bar (a bad bar raises its ValueError when reached); the common case costs a few
    comparisons a bar: step_many's loop."""
    symbol, last = state.symbol, state.last_ts
    open_, close = state.session_open.astimezone(UTC), state.session_close.astimezone(UTC)
    for i, bar in enumerate(bars):
        ts = bar.ts
        if (
            bar.symbol != symbol
            or bar.minutes != 1
            or not open_ <= ts < close
            or (last is not None and ts <= last)
        ) and not accept_bar(state, bar, last):
            continue
        last = ts
        yield i, bar


class WorkingState(Protocol[StateT]):
    """A strategy's mutable working copy of the fields a bar changes (see step_many)."""

    last_ts: datetime | None

    def state(self, s: StateT, /) -> StateT: ...


W = TypeVar("W", bound=WorkingState[Any])


def feed_many(
    state: StateT,
    bars: Sequence[Bar],
    work: W,
    feed: Callable[[StateT, W, Bar], Signal | None],
) -> tuple[StateT, list[tuple[int, list[Signal]]]]:
    """A step_many from a strategy's per-bar ``feed`` on its working state ``work`` (made from
    ``state``): the state is converted back once, and only if a bar was accepted."""
    events: list[tuple[int, list[Signal]]] = []
    for i, bar in accepted_bars(state, bars):
        signal = feed(state, work, bar)
        if signal is not None:
            events.append((i, [signal]))
    return (work.state(state) if work.last_ts != state.last_ts else state), events


def step_each(
    strategy: Strategy[StateT], state: StateT, bars: Sequence[Bar]
) -> tuple[StateT, list[tuple[int, list[Signal]]]]:
    """``step`` bar after bar: what ``step_many`` means, for a strategy that has none."""
    events: list[tuple[int, list[Signal]]] = []
    for i, bar in enumerate(bars):
        state, signals = strategy.step(state, bar)
        if signals:
            events.append((i, signals))
    return state, events


def in_entry_window(state: StrategyState, bar: Bar) -> bool:
    return state.entry_start <= bar.ts + ONE_MINUTE < state.entry_end


def make_signal(
    *,
    strategy: str,
    regime: Regime,
    bar: Bar,
    side: Direction,
    entry: float,
    stop: float,
    target: float,
    min_rr: float,
    reason: str,
) -> Signal | None:
    """A signal when its levels are consistent and its reward/risk reaches ``min_rr``, else None."""
    sign = 1.0 if side is Direction.LONG else -1.0
    risk = sign * (entry - stop)
    reward = sign * (target - entry)
    if risk <= 0 or reward <= 0 or stop <= 0 or reward < min_rr * risk:
        return None
    return Signal.create(
        strategy=strategy,
        symbol=bar.symbol,
        side=side,
        entry=entry,
        stop=stop,
        target=target,
        bar_ts=bar.ts,
        regime=regime,
        reason=reason,
    )
