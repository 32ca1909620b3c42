"""The event-driven backtest engine: a replay of what the live system would have done.

    bt = Backtester(run_config, calendar)
    result = bt.run(bars, vix, start=None, end=None, progress=None) -> BacktestResult

Per session (days ascending):
1. Regime from the PRIOR session's daily VIX close through the same RegimeDetector live uses (a
   VIX older than the prior session is missing: UNKNOWN, no entries); routing by strategy_for.
2. ``strategy.start_session`` per symbol with the bars of prior sessions only.
3. Every closed 1-minute bar, all symbols merged in time order:
   a. the bar's open fills the orders decided on the symbol's previous bar (entries), and the
      exits due: flatten (bar at/after the session's flatten time), time stop, then stop/target
      on the bar's high/low, stop first (see backtest/fills.py);
   b. the bar closes: the strategy steps; each signal is sized (option: Black-Scholes quote with
      IV = prior VIX close / 100 x iv_scale, half spread, commission; equity: shares) into an
      OrderIntent and goes through ``SafetyEngine.reserve`` on the in-memory store - the same
      checks, reservation and breakers as live. Approved entries fill at the next bar's open;
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
from maxtrader.backtest.options_model import OptionModel
from maxtrader.backtest.results import BacktestResult, SessionRecord
from maxtrader.backtest.settings import RunConfig
from maxtrader.backtest.summary import build_result
from maxtrader.config.strategies import StrategiesConfig
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import CalendarError
from maxtrader.domain.models import Bar, Regime, Signal
from maxtrader.domain.regime import RegimeDetector
from maxtrader.domain.strategies.history import BarDays
from maxtrader.domain.strategies.routing import strategy_for

__all__ = ["OPERATOR", "Backtester", "Progress", "Router", "session_days"]

Progress = Callable[[int, int], None]
_ONE_MINUTE = timedelta(minutes=1)
OPERATOR = "backtest:drawdown_peak_reset=session"
Router = Callable[[Regime, StrategiesConfig], Any]


class Backtester:
    """``router`` picks the session's strategy from its regime (default: the live routing,
    ``strategy_for``); tests pass a scripted one."""

    def __init__(
        self, config: RunConfig, calendar: MarketCalendar, *, router: Router = strategy_for
    ) -> None:
        self.config = config
        self.calendar = calendar
        self.router = router
        self.detector = RegimeDetector(config.strategies.regime)
        self.options = OptionModel(config.strategies.options, config.backtest.strike_step, calendar)
        flatten = config.strategies.session.flatten_before_close_minutes
        self._flatten_before = timedelta(minutes=flatten)

    # --- public ----------------------------------------------------------------------------
    def run(
        self,
        bars: Mapping[str, Sequence[Bar]],
        vix: Mapping[date, float] | None = None,
        *,
        start: date | None = None,
        end: date | None = None,
        progress: Progress | None = None,
        label: str = "in-sample",
    ) -> BacktestResult:
        run = _Run(self, bars, vix or {}, start, end)
        return run.execute(progress, label)


class _Run:
    """The mutable state of one replay (kept off Backtester so a Backtester can be reused)."""

    def __init__(
        self,
        bt: Backtester,
        bars: Mapping[str, Sequence[Bar]],
        vix: Mapping[date, float],
        start: date | None,
        end: date | None,
    ) -> None:
        self.bt = bt
        self.cfg = bt.config
        self.bars = {s: list(b) for s, b in sorted(bars.items()) if b}
        self.vix_days = sorted(vix)
        self.vix = vix
        self.index = {s: day_index(b, bt.calendar) for s, b in self.bars.items()}
        all_days = sorted({d for idx in self.index.values() for d in idx})
        self.days = [
            d for d in all_days if (start is None or d >= start) and (end is None or d <= end)
        ]
        first = bt.calendar.session(self.days[0]) if self.days else None
        # With no session to replay the clock is never read; any aware instant will do.
        self.clock = FixedClock(first.open if first else datetime(2000, 1, 1, tzinfo=UTC))
        self.book = Book(self.cfg, bt.calendar, bt.options, self.clock)
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
            "regime_source": self.cfg.backtest.regime_source,
        }
        notes = [
            "Option prices are modelled (Black-Scholes, IV = prior VIX close / 100 x iv_scale, "
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

    def _prior_vix(self, day: date) -> float | None:
        """The prior session's daily close; older than that is missing (fail closed)."""
        i = bisect.bisect_left(self.vix_days, day)
        if i == 0:
            return None
        found = self.vix_days[i - 1]
        try:
            prior = self.bt.calendar.previous_sessions(day, 1)[0].day
        except CalendarError:  # before the calendar's range: no prior session known
            return None
        return self.vix[found] if found >= prior else None

    def _session(self, day: date) -> None:
        session = self.bt.calendar.session(day)
        if session is None:
            return
        book = self.book
        vix = self._prior_vix(day)
        regime_state = self.bt.detector.update(self.bt.detector.start_session(day), vix)
        regime = regime_state.regime
        strategy = self.bt.router(regime, self.cfg.strategies)
        today = DayTally()
        start_equity = book.initial + book.realized
        flatten_at = session.flatten_time(self.bt._flatten_before)
        states: dict[str, Any] = {}
        streams: list[list[Bar]] = []
        for symbol, bars in self.bars.items():
            span = self.index[symbol].get(day)
            if span is None:
                continue
            lo, hi = span
            streams.append(bars[lo:hi])
            if strategy is not None:
                history = self._history(symbol, day, strategy.history_sessions)
                states[symbol] = strategy.start_session(symbol, session, history)
        merged, signals_at = merge_session(streams, strategy, states)
        ctx = SessionCtx(session, regime, vix, flatten_at, start_equity, today)
        # The live monitor marks every minute, flat or not: the drawdown peak starts from the
        # equity at the open (without this, a first-bar loss would become the peak).
        self.clock.set(session.open)
        if self.cfg.backtest.drawdown_peak_reset == "session":
            book.safety.reset_drawdown_peak(OPERATOR, start_equity)
        book.safety.mark_to_market({}, start_equity)
        book.safety.record_start_of_day_equity(start_equity, "backtest:premarket")
        book.collect_events(ctx)
        self.bar_count += len(merged)
        if strategy is not None:
            self._replay(merged, signals_at, strategy, ctx)
        # else: no strategy, and nothing carries over a session: no order, no position.
        exits.end_session(book, {s[-1].symbol: s[-1] for s in streams}, ctx)
        self.sessions.append(
            SessionRecord(
                day=day,
                regime=regime,
                vix=vix,
                strategy=strategy.name if strategy is not None else None,
                start_equity=start_equity,
                pnl=today.pnl,
                trades=today.trades,
                rejections=dict(today.rejections),
                breaker_trips=dict(today.trips),
                verdicts=dict(today.verdicts),
            )
        )

    def _replay(
        self,
        bars: Sequence[Bar],
        signals_at: dict[int, list[Signal]],
        strategy: Any,
        ctx: SessionCtx,
    ) -> None:
        """The per-bar loop: fills, exits, decisions and marks, in the live order. Flat with no
        order pending, a bar without a signal changes nothing, so the loop jumps to the next
        signal; the safety engine, the clock and the models are touched only when an order, a
        position or a signal exists."""
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
            exited = exits.exits(book, bar, ctx) if positions else False
            signals = signals_at.get(i)
            if signals:
                self.clock.set(bar.ts + _ONE_MINUTE * bar.minutes)
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
