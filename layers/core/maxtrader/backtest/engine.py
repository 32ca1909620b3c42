"""The event-driven backtest engine: a replay of what the live system would have done.

    bt = Backtester(run_config, calendar)
    result = bt.run(bars, vix, start=None, end=None, progress=None) -> BacktestResult
    result = bt.run(bars, vix_intraday=readings, ...)     # the regime bar by bar, as live
    result = bt.run(bars, regimes={day: timeline}, observer=obs)  # parity: live's regime, and
                                                          # every entry decision observed

Per session (days ascending):
1. Regime (trading/regime.py): by default from the PRIOR session's daily VIX close through the
   same RegimeDetector live uses (a VIX older than the prior session is missing: UNKNOWN, no
   entries). Given an intraday VIX series (``vix_intraday``) instead, the live regime function
   is replayed: a tick at the open and every 5 minutes reads the latest reading observed by
   then, with staleness and hysteresis, so the regime can change at any bar. Routing by
   ``strategy_for`` (trading/session.py: Routing).
2. ``strategy.start_session`` per symbol with the bars of prior sessions only, for every
   strategy the session's regimes route to (one with the daily VIX).
3. Every closed 1-minute bar, all symbols merged in time order:
   a. the bar's open fills the orders decided on the symbol's previous bar (entries), and the
      exits due (trading/exits.py): flatten (bar at/after the session's flatten time), the
      regime's flatten, time stop, then stop/target on the bar's high/low, stop first;
   b. the bar closes: every strategy steps; the signals of the one the regime in force routes
      to are sized (trading/entries.py; option: the contract chosen from the model's chain,
      Black-Scholes with IV = the decision's VIX / 100 x iv_scale, half spread, commission;
      equity: shares) into an OrderIntent that goes through ``SafetyEngine.reserve`` on the
      in-memory store - the same checks, reservation and breakers as live. Approved entries
      fill at the next bar's open;
   c. open positions are marked (the drawdown breaker sees the marked equity, as the monitor
      does every minute live). Flat, equity cannot change, so the live monitor's marks reduce
      to one at each session's open and one before each entry decision: the drawdown breaker
      trips exactly when live it would. Its peak persists (``backtest.drawdown_peak_reset``).
4. Orders still pending at the end of the session are released; positions still open when the
   data ends (a truncated last day) exit at the last close (``end_of_data``).

The clock is a FixedClock moved to each bar's open for fills and to its close for decisions, so
every safety timestamp (trade frequency, breaker pauses, daily keys) is the replayed time.

Modules: this one is the session loop; backtest/days.py indexes bars by session and merges the
symbols of one session; backtest/book.py holds the replay's orders, positions and SafetyEngine;
backtest/entries.py sizes, reserves and fills entries; backtest/exits.py exits and marks.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from maxtrader.backtest import entries, exits
from maxtrader.backtest.book import Book, DayTally, SessionCtx
from maxtrader.backtest.days import day_index, merge_session, session_days
from maxtrader.backtest.decisions import DecisionObserver
from maxtrader.backtest.options_model import OptionModel
from maxtrader.backtest.results import BacktestResult, SessionRecord
from maxtrader.backtest.settings import RunConfig
from maxtrader.backtest.summary import build_result
from maxtrader.domain.calendar import MarketCalendar, Session
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import Bar, Regime, Signal
from maxtrader.domain.ports import VixReading
from maxtrader.domain.regime import RegimeDetector, RegimeState
from maxtrader.domain.strategies.history import BarDays
from maxtrader.domain.strategies.routing import strategy_for
from maxtrader.trading.exits import flatten_time
from maxtrader.trading.regime import DailyVix, RegimeTimeline
from maxtrader.trading.session import Router, Routing

__all__ = ["OPERATOR", "Backtester", "Progress", "Router", "session_days"]

Progress = Callable[[int, int], None]
_ONE_MINUTE = timedelta(minutes=1)
OPERATOR = "backtest:drawdown_peak_reset=session"
PRIOR_CLOSE, INTRADAY = "prior_close", "intraday"


class Backtester:
    """``router`` picks the strategy a regime routes to (default: the live routing,
    ``strategy_for``); tests pass a scripted one."""

    def __init__(
        self, config: RunConfig, calendar: MarketCalendar, *, router: Router = strategy_for
    ) -> None:
        self.config = config
        self.calendar = calendar
        self.router = router
        self.detector = RegimeDetector(config.strategies.regime)
        self.options = OptionModel(config.strategies.options, config.backtest.strike_step, calendar)

    # --- public ----------------------------------------------------------------------------
    def run(
        self,
        bars: Mapping[str, Sequence[Bar]],
        vix: Mapping[date, float] | None = None,
        *,
        vix_intraday: Sequence[VixReading] | None = None,
        start: date | None = None,
        end: date | None = None,
        progress: Progress | None = None,
        label: str = "in-sample",
        regimes: Mapping[date, RegimeTimeline] | None = None,
        observer: DecisionObserver | None = None,
    ) -> BacktestResult:
        """``vix``: daily closes by date (the regime from the prior session's close);
        ``vix_intraday``: readings (the regime replayed as live updates it). At most one.
        ``regimes``: a session's regimes as given (live's, for parity), over either VIX input;
        ``observer``: sees every entry decision (backtest/decisions.py)."""
        if vix and vix_intraday is not None:
            raise InvalidInputError("give the daily VIX or an intraday VIX series, not both")
        run = _Run(
            self,
            bars,
            vix or {},
            vix_intraday,
            start=start,
            end=end,
            regimes=regimes,
            observer=observer,
        )
        return run.execute(progress, label)


class _Run:
    """The mutable state of one replay (kept off Backtester so a Backtester can be reused)."""

    def __init__(
        self,
        bt: Backtester,
        bars: Mapping[str, Sequence[Bar]],
        vix: Mapping[date, float],
        vix_intraday: Sequence[VixReading] | None,
        *,
        start: date | None,
        end: date | None,
        regimes: Mapping[date, RegimeTimeline] | None = None,
        observer: DecisionObserver | None = None,
    ) -> None:
        self.bt = bt
        self.regimes = dict(regimes or {})
        self.cfg = bt.config
        self.bars = {s: list(b) for s, b in sorted(bars.items()) if b}
        self.daily = DailyVix(vix, bt.calendar)
        self.intraday = _checked(vix_intraday) if vix_intraday is not None else None
        self.stamps = [r.observed_at for r in self.intraday or ()]
        self.routing = Routing(self.cfg.strategies, bt.router)
        self.index = {s: day_index(b, bt.calendar) for s, b in self.bars.items()}
        all_days = sorted({d for idx in self.index.values() for d in idx})
        self.days = [
            d for d in all_days if (start is None or d >= start) and (end is None or d <= end)
        ]
        first = bt.calendar.session(self.days[0]) if self.days else None
        # With no session to replay the clock is never read; any aware instant will do.
        self.clock = FixedClock(first.open if first else datetime(2000, 1, 1, tzinfo=UTC))
        self.book = Book(self.cfg, bt.calendar, bt.options, self.clock, observer)
        self.sessions: list[SessionRecord] = []
        self.bar_count = 0
        self.bar_days: dict[str, BarDays] = {}

    # --- driver ----------------------------------------------------------------------------
    def execute(self, progress: Progress | None, label: str) -> BacktestResult:
        total = len(self.days)
        for i, day in enumerate(self.days):
            self._session(day)
            if progress is not None:
                progress(i + 1, total)
        settings = {
            "initial_equity": f"{self.book.initial:.2f}",
            "symbols": ",".join(self.bars),
            "regime_source": INTRADAY if self.intraday is not None else PRIOR_CLOSE,
        }
        iv = (
            "the latest intraday VIX reading at the entry"
            if self.intraday is not None
            else "prior VIX close"
        )
        notes = [
            f"Option prices are modelled (Black-Scholes, IV = {iv} / 100 x iv_scale, "
            "half spread and commission); no historical option quotes were used.",
            "Fills: next bar's open plus slippage; stop assumed first when a bar touches both "
            "stop and target.",
        ]
        return build_result(
            trades=self.book.trades,
            sessions=self.sessions,
            initial_equity=self.book.initial,
            bars=self.bar_count,
            label=label,
            settings=settings,
            notes=notes,
        )

    def _timeline(self, day: date, session: Session) -> tuple[RegimeTimeline, float | None]:
        """The session's regimes, and the VIX its record shows."""
        given = self.regimes.get(day)
        if given is not None:
            return given, _headline(given).vix
        detector = self.bt.detector
        if self.intraday is None:
            vix = self.daily.prior_close(day)
            state = detector.update(detector.start_session(day), vix)
            return RegimeTimeline.constant(state, session.open), vix
        # The last reading before the open (a stale one is UNKNOWN) up to the close.
        lo = max(bisect.bisect_right(self.stamps, session.open) - 1, 0)
        hi = bisect.bisect_left(self.stamps, session.close)
        timeline = RegimeTimeline.intraday(detector, session, self.intraday[lo:hi])
        return timeline, _headline(timeline).vix

    def _session(self, day: date) -> None:
        session = self.bt.calendar.session(day)
        if session is None:
            return
        book = self.book
        timeline, vix = self._timeline(day, session)
        headline = _headline(timeline).regime
        strategies = self.routing.strategies(s.regime for s in timeline.states)
        today = DayTally()
        start_equity = book.initial + book.realized
        states: dict[str, dict[str, Any]] = {name: {} for name in strategies}
        streams: list[list[Bar]] = []
        for symbol, bars in self.bars.items():
            span = self.index[symbol].get(day)
            if span is None:
                continue
            lo, hi = span
            streams.append(bars[lo:hi])
            for name, strategy in strategies.items():
                history = self._history(symbol, day, strategy.history_sessions)
                states[name][symbol] = strategy.start_session(symbol, session, history)
        merged, emitted_at = merge_session(streams, strategies, states)
        first = timeline.at(session.open)
        ctx = SessionCtx(
            session,
            first.regime,
            vix if timeline.single else first.vix,
            flatten_time(session, self.cfg.strategies.session),
            start_equity,
            today,
            self.routing.flattens(first.regime),
        )
        # The live monitor marks every minute, flat or not: the drawdown peak starts from the
        # equity at the open (without this, a first-bar loss would become the peak).
        self.clock.set(session.open)
        if self.cfg.backtest.drawdown_peak_reset == "session":
            book.safety.reset_drawdown_peak(OPERATOR, start_equity)
        book.safety.mark_to_market({}, start_equity)
        book.safety.record_start_of_day_equity(start_equity)  # as the pre-market run does
        book.collect_events(ctx)
        self.bar_count += len(merged)
        if strategies:
            routed = self._route(merged, emitted_at, timeline)
            self._replay(merged, routed, strategies, ctx, None if timeline.single else timeline)
        # else: no strategy, and nothing carries over a session: no order, no position.
        exits.end_session(book, {s[-1].symbol: s[-1] for s in streams}, ctx)
        self.sessions.append(
            SessionRecord(
                day=day,
                regime=headline,
                vix=vix,
                strategy=self.routing.entry_strategy(headline),
                start_equity=start_equity,
                pnl=today.pnl,
                trades=today.trades,
                rejections=dict(today.rejections),
                breaker_trips=dict(today.trips),
                verdicts=dict(today.verdicts),
            )
        )

    def _route(
        self,
        bars: Sequence[Bar],
        emitted_at: Mapping[int, Mapping[str, list[Signal]]],
        timeline: RegimeTimeline,
    ) -> dict[int, tuple[str, tuple[Signal, ...]]]:
        """The signals each bar sizes, by the strategy that emitted them: those of the one the
        regime in force when the bar closes routes to (trading/session.py)."""
        routed: dict[int, tuple[str, tuple[Signal, ...]]] = {}
        for i, emitted in emitted_at.items():
            step = self.routing.route(timeline.at(bars[i].closed_at), emitted)
            if step.signals and step.strategy is not None:
                routed[i] = (step.strategy, step.signals)
        return routed

    def _replay(
        self,
        bars: Sequence[Bar],
        signals_at: dict[int, tuple[str, tuple[Signal, ...]]],
        strategies: Mapping[str, Any],
        ctx: SessionCtx,
        timeline: RegimeTimeline | None,
    ) -> None:
        """The per-bar loop: fills, exits, decisions and marks, in the live order. Flat with no
        order pending, a bar without a signal changes nothing, so the loop jumps to the next
        signal; the safety engine, the clock and the models are touched only when an order, a
        position or a signal exists. ``timeline`` (intraday VIX) moves the regime in force."""
        book = self.book
        positions, pending = book.positions, book.pending
        due = sorted(signals_at)  # indexes of the bars that signal
        i, n = 0, len(bars)
        while i < n:
            if not positions and not pending:
                k = bisect.bisect_left(due, i)
                if k == len(due):
                    return
                i = due[k]
            bar = bars[i]
            symbol = bar.symbol
            if pending and symbol in pending:
                self.clock.set(bar.ts)
                for order in pending.pop(symbol):
                    entries.fill_entry(book, order, bar)
            if positions:
                if timeline is not None:
                    ctx.flatten_positions = self.routing.flattens(timeline.at(bar.ts).regime)
                exited = exits.exits(book, bar, ctx)
            else:
                exited = False
            routed = signals_at.get(i)
            if routed is not None:
                name, signals = routed
                strategy = strategies[name]
                decided_at = bar.ts + _ONE_MINUTE * bar.minutes
                self.clock.set(decided_at)
                if timeline is not None:
                    regime = timeline.at(decided_at)
                    ctx.regime, ctx.vix = regime.regime, regime.vix
                for signal in signals:
                    entries.decide(book, signal, bar, strategy, ctx)
            if positions or exited:
                exits.mark(book, bar, ctx)
            i += 1

    def _history(self, symbol: str, day: date, sessions: int) -> Sequence[Bar]:
        idx = self.index[symbol]
        prior = [d for d in idx if d < day][-sessions:] if sessions > 0 else []
        if not prior:
            return []
        # The same bars as a plain slice, split by date once per run (domain/strategies/history).
        days = self.bar_days.get(symbol)
        if days is None:
            days = self.bar_days[symbol] = BarDays(self.bars[symbol])
        return days.history(idx[prior[0]][0], idx[prior[-1]][1])


def _checked(readings: Sequence[VixReading]) -> list[VixReading]:
    """The readings by time; a naive timestamp cannot be placed on the session's clock."""
    for i, reading in enumerate(readings):
        if reading.observed_at.tzinfo is None or reading.observed_at.utcoffset() is None:
            raise InvalidInputError(
                f"VIX reading {i} ({reading.value} at {reading.observed_at.isoformat()}) has a "
                "naive timestamp; attach a timezone"
            )
    return sorted(readings, key=_observed)


def _observed(reading: VixReading) -> datetime:
    return reading.observed_at


def _headline(timeline: RegimeTimeline) -> RegimeState:
    """The regime a session is reported under: its first valid one (UNKNOWN if none)."""
    for state in timeline.states:
        if state.regime is not Regime.UNKNOWN:
            return state
    return timeline.states[0]
