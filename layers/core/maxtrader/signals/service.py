"""The signals function's logic: pushed bars or a poll tick in, signals out (ports only).

    deps = SignalsDependencies.of(sessions=..., audit=..., queue=..., market_data=lambda: ...,
                                  calendar=..., strategies=config, symbols=..., clock=...)
    process_bars(bars, deps) -> SignalsOutcome          closed bars pushed through the bars queue
    handle_bar_message(body, deps) -> SignalsOutcome    one bars-queue message body (decoded here)
    poll_closed_minutes(scheduled_time, deps) -> SignalsOutcome   the ``signals-poll`` tick

Both paths end in ``advance_symbol`` (signals/advance.py), so a polled bar is stepped exactly as
a pushed one. Bars are grouped by symbol and stepped in time order; the session of each group
is the calendar's (a bar outside regular hours, e.g. a pre-market aggregate the relay pushes,
is counted and skipped: strategies step regular-hours bars only).

The poll covers, for every traded symbol, the minutes of today's session that closed at least
``POLL_GRACE`` before its scheduled time (the grace leaves the relay's push of the minute that
just closed in flight time to arrive first; then the poll finds nothing to do). Fired on a day
without a session, before the first minute has closed, or more than ``POLL_AFTER_CLOSE`` after
the close, it does nothing and says why (``SignalsOutcome.note``).

Each invocation reads what it needs in ONE ``SessionStore.read_session``: the strategy states
of every symbol it advances and the day's regime (a push: its symbols; the poll: every traded
symbol; a bars-queue batch's records share one: ``deps.for_batch``). A poll tick with nothing
to step makes that one call and nothing else; a pushed bar with no gap before it makes one
more, the save of its symbol's states.

A symbol whose poll fails (REST, the store) does not hold the others back: they are brought up
to date, then the first failure is raised so the tick is retried. (Should the shared read fail,
each symbol reads its own, so one unreadable item fails only its symbol.)

``market_data`` is a provider: the Massive client (and its secret) is built only when a gap or
a session start needs it, never on the steady-state path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any

from maxtrader.config.strategies import StrategiesConfig
from maxtrader.domain.calendar import MarketCalendar, Session
from maxtrader.domain.clock import NEW_YORK, Clock
from maxtrader.domain.errors import (
    DataError,
    InvalidInputError,
    MaxTraderError,
    StateUnavailableError,
)
from maxtrader.domain.models import Bar
from maxtrader.domain.ports import MarketData, SessionSnapshot, SessionStore, StateStore
from maxtrader.ingest.messages import decode_bar_message
from maxtrader.signals.advance import AdvanceContext, SymbolOutcome, advance_symbol, day_regime
from maxtrader.signals.batch_reads import BatchReads
from maxtrader.signals.queue import SignalQueue
from maxtrader.signals.session_start import (
    ONE_MINUTE,
    SessionStartDependencies,
    routable_strategies,
    symbol_session_states,
)
from maxtrader.trading.session import Routing
from maxtrader.trading.signal_message import SignalMessage

POLL_GRACE = timedelta(minutes=1)
POLL_AFTER_CLOSE = timedelta(minutes=5)


class _LazyMarketData:
    """``MarketData`` built on first use from the provider."""

    def __init__(self, provider: Callable[[], MarketData]) -> None:
        self._provider = provider

    @cached_property
    def _md(self) -> MarketData:
        return self._provider()

    def minute_bars(self, symbol: str, start: datetime, end: datetime) -> list[Bar]:
        return self._md.minute_bars(symbol, start, end)

    def latest_vix(self) -> Any:
        return self._md.latest_vix()


@dataclass(frozen=True, slots=True)
class SignalsDependencies:
    sessions: SessionStore
    audit: StateStore
    queue: SignalQueue
    market_data: MarketData
    calendar: MarketCalendar
    routing: Routing
    strategies: Mapping[str, Any]
    symbols: frozenset[str]
    clock: Clock
    batch: BatchReads | None = None  # a bars-queue batch's shared read (``for_batch``)

    @classmethod
    def of(
        cls,
        *,
        sessions: SessionStore,
        audit: StateStore,
        queue: SignalQueue,
        market_data: Callable[[], MarketData],
        calendar: MarketCalendar,
        strategies: StrategiesConfig,
        symbols: Iterable[str],
        clock: Clock,
    ) -> SignalsDependencies:
        routing = Routing(strategies)
        return cls(
            sessions=sessions, audit=audit, queue=queue,
            market_data=_LazyMarketData(market_data), calendar=calendar, routing=routing,
            strategies=routable_strategies(strategies, routing), symbols=frozenset(symbols),
            clock=clock,
        )  # fmt: skip

    def for_batch(self, records: object) -> SignalsDependencies:
        """These dependencies for one bars-queue batch (the event's ``Records``): its records'
        first reads are one (signals/batch_reads.py)."""
        reads = BatchReads.planned(self.sessions, self.calendar, self.symbols, records)
        return replace(self, batch=reads)

    def read_session(self, day: date, symbols: Iterable[str]) -> SessionSnapshot:
        if self.batch is not None:
            return self.batch.read(day, symbols)
        return self.sessions.read_session(day, symbols)

    def advance_context(self) -> AdvanceContext:
        return AdvanceContext(
            sessions=self.sessions, audit=self.audit, queue=self.queue,
            market_data=self.market_data, routing=self.routing, strategies=self.strategies,
            clock=self.clock,
        )  # fmt: skip

    def session_start(self) -> SessionStartDependencies:
        return SessionStartDependencies(
            self.sessions, self.market_data, self.calendar, self.strategies
        )


@dataclass(slots=True)
class SignalsOutcome:
    stepped: int = 0  # bars stepped (pushed, read back from the store, or polled)
    duplicates: int = 0  # bars already stepped: redelivered, late, or a concurrent delivery won
    outside_hours: int = 0  # bars outside the regular hours of their day: skipped
    polled: int = 0  # bars fetched over REST (a gap or the poll) and stepped
    messages: list[SignalMessage] = field(default_factory=list)  # signals handed on
    data_age_seconds: float | None = None  # processing time - close of the newest bar stepped
    note: str = ""

    @property
    def signals(self) -> int:
        return len(self.messages)

    def add(self, symbol: SymbolOutcome, now: datetime) -> None:
        self.stepped += len(symbol.stepped)
        self.duplicates += symbol.duplicates
        self.polled += symbol.polled
        self.messages += symbol.sent
        if symbol.stepped:
            age = (now - symbol.stepped[-1].closed_at).total_seconds()
            self.data_age_seconds = max(age, self.data_age_seconds or age)

    def answer(self) -> dict[str, Any]:
        return {
            "stepped": self.stepped, "duplicates": self.duplicates,
            "outside_hours": self.outside_hours, "polled": self.polled,
            "signals": self.signals, "note": self.note,
        }  # fmt: skip


def handle_bar_message(body: str | bytes, deps: SignalsDependencies) -> SignalsOutcome:
    """One bars-queue message: ``InvalidInputError`` naming the field when it is not a bar
    message (nothing read or written), else ``process_bars`` of its bar."""
    try:
        bar = decode_bar_message(body)
    except DataError as exc:
        raise InvalidInputError(str(exc)) from None
    return process_bars([bar], deps)


def process_bars(bars: Sequence[Bar], deps: SignalsDependencies) -> SignalsOutcome:
    """Step closed bars pushed to the signals path, in order per symbol (see the module doc)."""
    now = deps.clock.now()
    for bar in bars:
        if bar.symbol not in deps.symbols:
            raise InvalidInputError(f"bar of {bar.symbol}: the stage does not trade it")
        if bar.minutes != 1:
            raise InvalidInputError(f"bar of {bar.symbol}: a {bar.minutes}-minute bar")
        if bar.closed_at > now:  # clock skew: retryable (redelivered once it has closed)
            raise DataError(
                f"bar of {bar.symbol} at {bar.ts.isoformat()} has not closed at {now.isoformat()}"
            )
    out = SignalsOutcome()
    groups: dict[tuple[str, Any], list[Bar]] = {}
    sessions: dict[Any, Session] = {}
    for bar in sorted(bars, key=lambda b: (b.symbol, b.ts)):
        session = deps.calendar.session_at(bar.ts)
        if session is None:
            out.outside_hours += 1
            continue
        sessions[session.day] = session
        groups.setdefault((bar.symbol, session.day), []).append(bar)
    ctx, start = deps.advance_context(), deps.session_start()
    for day in sorted(sessions):
        session = sessions[day]
        symbols = [symbol for symbol, d in groups if d == day]
        snapshot = deps.read_session(day, symbols)  # one read: states and regime
        regime = day_regime(snapshot)
        for symbol in symbols:
            mine = groups[(symbol, day)]
            states = symbol_session_states(session, symbol, snapshot, start)
            until = mine[-1].ts + ONE_MINUTE
            out.add(
                advance_symbol(ctx, session, symbol, states, regime, pushed=mine, until=until), now
            )
    return out


def poll_closed_minutes(scheduled_time: datetime, deps: SignalsDependencies) -> SignalsOutcome:
    """The ``signals-poll`` tick: every traded symbol's session brought up to date (module doc)."""
    if scheduled_time.tzinfo is None:
        raise InvalidInputError("the poll's scheduled time must be timezone-aware")
    day = scheduled_time.astimezone(NEW_YORK).date()
    session = deps.calendar.session(day)
    if session is None:
        return SignalsOutcome(note=f"{day.isoformat()} has no session: nothing to poll")
    cutoff = scheduled_time.astimezone(UTC).replace(second=0, microsecond=0) - POLL_GRACE
    if cutoff <= session.open:
        return SignalsOutcome(note="before the session's first minute has closed: nothing to poll")
    if scheduled_time > session.close + POLL_AFTER_CLOSE:
        return SignalsOutcome(note="after the session's close: nothing to poll")
    until = min(cutoff, session.close)
    now = deps.clock.now()
    out = SignalsOutcome()
    ctx, start = deps.advance_context(), deps.session_start()
    symbols = sorted(deps.symbols)
    try:
        shared: SessionSnapshot | None = deps.sessions.read_session(session.day, symbols)
    except StateUnavailableError:
        shared = None  # each symbol reads its own below: one bad item fails only its symbol
    failures: list[MaxTraderError] = []
    for symbol in symbols:  # one symbol's outage must not hold the others back
        try:
            snapshot = (
                shared if shared is not None else deps.sessions.read_session(session.day, [symbol])
            )
            states = symbol_session_states(session, symbol, snapshot, start)
            advanced = advance_symbol(
                ctx, session, symbol, states, day_regime(snapshot), pushed=(), until=until
            )
            out.add(advanced, now)
        except MaxTraderError as exc:
            failures.append(exc)
    if failures:
        raise failures[0]  # the retry (Scheduler's, or the next tick) converges
    return out


__all__ = [
    "POLL_AFTER_CLOSE",
    "POLL_GRACE",
    "SignalsDependencies",
    "SignalsOutcome",
    "handle_bar_message",
    "poll_closed_minutes",
    "process_bars",
]
