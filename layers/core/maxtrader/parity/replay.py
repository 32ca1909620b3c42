"""One day through the backtester from that day's starting state, recorded as live records it.

    inputs = load_day(day, sources)                  the day's stored bars, the prior sessions'
                                                     bars its strategies start from, the regime
                                                     as live had it, the start-of-day equity
    records = replay_day(inputs, safety, strategies, calendar)   SIGNAL / NOT_SENT / VERDICT

The starting state is the start-of-day equity the pre-market run stored (``StateStore``): the
replay's account starts flat at that equity with a fresh safety state. What live carried into
the day beyond it (operator switches, breakers, the week's and month's losses, the drawdown
high-water mark) is not replayed; a check that depends on it is named "state-dependent" by the
comparison when it decided differently.

The prior sessions' bars come from the ``SessionStore``; a prior session it holds no bars of
(expired) is asked of ``MarketData`` when one is given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from maxtrader.backtest.engine import Backtester
from maxtrader.backtest.settings import BacktestSettings, RunConfig
from maxtrader.config.safety import SafetyConfig
from maxtrader.config.strategies import StrategiesConfig
from maxtrader.domain.calendar import MarketCalendar, Session
from maxtrader.domain.errors import CalendarError, InvalidInputError
from maxtrader.domain.models import AuditKind, AuditRecord, Bar, OrderIntent, Regime, Signal
from maxtrader.domain.models import Verdict as SafetyVerdict
from maxtrader.domain.ports import MarketData, SessionStore, StateStore
from maxtrader.domain.safety import audit
from maxtrader.parity.regime_source import live_timeline
from maxtrader.trading.entries import NotSent
from maxtrader.trading.regime import RegimeTimeline
from maxtrader.trading.session import Routing
from maxtrader.trading.signal_message import signal_record

__all__ = ["REPLAY_ACTOR", "DayInputs", "DaySources", "ReplayRecorder", "load_day", "replay_day"]

REPLAY_ACTOR = "parity-replay"


@dataclass(frozen=True, slots=True)
class DaySources:
    """Where a day's inputs are read from (ports only)."""

    state_store: StateStore
    session_store: SessionStore
    calendar: MarketCalendar
    strategies: StrategiesConfig
    symbols: tuple[str, ...]
    market_data: Callable[[], MarketData] | None = None  # built only when the store lacks bars


@dataclass(frozen=True, slots=True)
class DayInputs:
    day: date
    session: Session
    day_bars: dict[str, list[Bar]]  # the day's stored bars per symbol
    history: dict[str, list[Bar]]  # the prior sessions' bars the strategies start from
    timeline: RegimeTimeline
    regime_source: str  # regime_source.AUDIT / STORED / NONE
    start_equity: float | None  # None: the pre-market run stored none
    audit_log: list[AuditRecord] = field(default_factory=list)  # live's, as read

    def bars(self) -> dict[str, list[Bar]]:
        return {s: self.history.get(s, []) + b for s, b in self.day_bars.items()}


def load_day(day: date, sources: DaySources) -> DayInputs:
    session = sources.calendar.session(day)
    if session is None:
        raise InvalidInputError(f"{day.isoformat()} is not a session: nothing to replay")
    log = sources.state_store.audit_log(day.isoformat())
    timeline, source = live_timeline(day, session, log, sources.session_store.regime(day))
    strategies = Routing(sources.strategies).strategies(s.regime for s in timeline.states)
    needed = max((s.history_sessions for s in strategies.values()), default=0)
    day_bars = {s: _stored(sources, s, session) for s in sources.symbols}
    history: dict[str, list[Bar]] = {s: [] for s in sources.symbols}
    for prior in _prior_sessions(sources.calendar, day, needed):
        for symbol in sources.symbols:
            history[symbol] += _stored(sources, symbol, prior) or _fetched(sources, symbol, prior)
    return DayInputs(
        day=day,
        session=session,
        day_bars=day_bars,
        history=history,
        timeline=timeline,
        regime_source=source,
        start_equity=sources.state_store.start_of_day_equity(day.isoformat()),
        audit_log=log,
    )


def replay_day(
    inputs: DayInputs,
    safety: SafetyConfig,
    strategies: StrategiesConfig,
    calendar: MarketCalendar,
    settings: BacktestSettings | None = None,
) -> list[AuditRecord]:
    """The records live would have written for ``inputs.day``, by the backtester's decisions."""
    if inputs.start_equity is None:
        raise InvalidInputError(f"no start-of-day equity stored for {inputs.day.isoformat()}")
    base = settings or BacktestSettings()
    equity = base.model_copy(update={"initial_equity": inputs.start_equity})
    run = RunConfig(safety, strategies, equity)
    recorder = ReplayRecorder()
    Backtester(run, calendar).run(
        inputs.bars(),
        start=inputs.day,
        end=inputs.day,
        regimes={inputs.day: inputs.timeline},
        observer=recorder,
    )
    return recorder.records


class ReplayRecorder:
    """A ``DecisionObserver`` (backtest/decisions.py) writing each decision as live audits it."""

    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    def signal(
        self, signal: Signal, *, regime: Regime, last_price: float, decided_at: datetime
    ) -> None:
        self.records.append(
            signal_record(
                signal,
                regime=regime,
                last_price=last_price,
                decided_at=decided_at,
                actor=REPLAY_ACTOR,
            )
        )

    def not_sent(self, signal: Signal, outcome: NotSent, decided_at: datetime) -> None:
        self.records.append(
            audit.record(
                AuditKind.NOT_SENT,
                signal.id,
                decided_at,
                REPLAY_ACTOR,
                reason=outcome.reason.value,
                detail=outcome.detail,
            )
        )

    def verdict(self, signal: Signal, intent: OrderIntent, verdict: SafetyVerdict) -> None:
        self.records.append(audit.verdict_record(verdict, intent, actor=REPLAY_ACTOR))


def _stored(sources: DaySources, symbol: str, session: Session) -> list[Bar]:
    return sources.session_store.bars(symbol, session.open, session.close)


def _fetched(sources: DaySources, symbol: str, session: Session) -> list[Bar]:
    if sources.market_data is None:
        return []
    return sources.market_data().minute_bars(symbol, session.open, session.close)


def _prior_sessions(calendar: MarketCalendar, day: date, count: int) -> Sequence[Session]:
    if count <= 0:
        return []
    try:
        return calendar.previous_sessions(day, count)
    except CalendarError:  # the calendar starts within the lookback: what it holds
        return [s for s in calendar.sessions_between(date.min, day) if s.day < day][-count:]
