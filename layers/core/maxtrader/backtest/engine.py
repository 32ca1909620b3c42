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
"""

from __future__ import annotations

import bisect
import heapq
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.backtest.fills import (
    MIN_PRICE,
    ExitReason,
    entry_fill_price,
    exit_fill_price,
    touched_exit,
)
from maxtrader.backtest.options_model import OptionModel, PricedContract
from maxtrader.backtest.results import BacktestResult, SessionRecord, TradeRecord
from maxtrader.backtest.settings import RunConfig
from maxtrader.backtest.summary import build_result
from maxtrader.config.strategies import StrategiesConfig
from maxtrader.domain.calendar import MarketCalendar, Session
from maxtrader.domain.clock import NEW_YORK, FixedClock
from maxtrader.domain.errors import CalendarError
from maxtrader.domain.models import (
    AuditKind,
    Bar,
    Direction,
    Fill,
    Instrument,
    OrderIntent,
    OrderPurpose,
    OrderSide,
    Regime,
    Signal,
    client_order_id,
)
from maxtrader.domain.regime import RegimeDetector
from maxtrader.domain.safety.context import AccountFlags, MarketContext
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.domain.sizing import risk_budget, shares_for_risk
from maxtrader.domain.strategies.base import step_each
from maxtrader.domain.strategies.history import BarDays
from maxtrader.domain.strategies.routing import strategy_for

Progress = Callable[[int, int], None]
_ONE_MINUTE = timedelta(minutes=1)
OPERATOR = "backtest:drawdown_peak_reset=session"
Router = Callable[[Regime, StrategiesConfig], Any]
# Reasons an entry never reached the safety layer (counted with the rejections).
NO_CONTRACT = "no_tradeable_contract"
BELOW_ONE_UNIT = "size_below_one_unit"
_CLEAR_ACCOUNT = AccountFlags()


@dataclass(slots=True)
class _Order:
    """An approved entry waiting for the next bar's open."""

    signal: Signal
    intent: OrderIntent
    regime: Regime
    max_hold: int
    risk: float
    contract: PricedContract | None


@dataclass(slots=True)
class _Position:
    signal: Signal
    intent: OrderIntent
    regime: Regime
    symbol: str  # traded symbol
    direction: Direction  # on the underlying
    qty: int
    entry_time: datetime
    entry_price: float
    underlying_entry: float
    entry_fee: float
    risk: float
    time_stop_at: datetime
    contract: PricedContract | None
    mark: float = 0.0


@dataclass(slots=True)
class _Day:
    rejections: Counter[str] = field(default_factory=Counter)
    trips: Counter[str] = field(default_factory=Counter)
    verdicts: Counter[str] = field(default_factory=Counter)
    pnl: float = 0.0
    trades: int = 0


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
        self.index = {s: _day_index(b, bt.calendar) for s, b in self.bars.items()}
        all_days = sorted({d for idx in self.index.values() for d in idx})
        self.days = [
            d for d in all_days if (start is None or d >= start) and (end is None or d <= end)
        ]
        first = bt.calendar.session(self.days[0]) if self.days else None
        # With no session to replay the clock is never read; any aware instant will do.
        self.clock = FixedClock(first.open if first else datetime(2000, 1, 1, tzinfo=UTC))
        self.store = InMemoryStateStore()
        self.safety = SafetyEngine(self.cfg.safety, self.store, self.clock, calendar=bt.calendar)
        self.initial = self.cfg.backtest.initial_equity
        self.realized = 0.0
        self.positions: dict[str, _Position] = {}
        self.pending: dict[str, list[_Order]] = {}
        self.trades: list[TradeRecord] = []
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
            "initial_equity": f"{self.initial:.2f}",
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
            trades=self.trades,
            sessions=self.sessions,
            initial_equity=self.initial,
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
        vix = self._prior_vix(day)
        regime_state = self.bt.detector.update(self.bt.detector.start_session(day), vix)
        regime = regime_state.regime
        strategy = self.bt.router(regime, self.cfg.strategies)
        today = _Day()
        start_equity = self.initial + self.realized
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
        merged, signals_at = self._merge(streams, strategy, states)
        ctx = _SessionCtx(session, regime, vix, flatten_at, start_equity, today)
        # The live monitor marks every minute, flat or not: the drawdown peak starts from the
        # equity at the open (without this, a first-bar loss would become the peak).
        self.clock.set(session.open)
        if self.cfg.backtest.drawdown_peak_reset == "session":
            self.safety.reset_drawdown_peak(OPERATOR, start_equity)
        self.safety.mark_to_market({}, start_equity)
        self._collect_events(ctx)
        self.bar_count += len(merged)
        if strategy is not None:
            self._replay(merged, signals_at, strategy, ctx)
        # else: no strategy, and nothing carries over a session: no order, no position.
        self._end_session({s[-1].symbol: s[-1] for s in streams}, ctx)
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

    @staticmethod
    def _merge(
        streams: list[list[Bar]], strategy: Any, states: dict[str, Any]
    ) -> tuple[Sequence[Bar], dict[int, list[Signal]]]:
        """The session's bars of all symbols in time order, and the signals of the bar at each
        index. A strategy's output depends on its own state and bars only (never on fills or
        the safety layer), so each symbol's session is stepped at once (``step_many``)."""
        per_stream: list[dict[int, list[Signal]]] = []
        for stream in streams:
            if strategy is None:
                per_stream.append({})
                continue
            symbol = stream[0].symbol
            many = getattr(strategy, "step_many", None)
            if many is not None:
                states[symbol], events = many(states[symbol], stream)
            else:
                states[symbol], events = step_each(strategy, states[symbol], stream)
            per_stream.append(dict(events))
        if len(streams) == 1:
            return streams[0], per_stream[0]
        tagged = [[(bar, s, i) for i, bar in enumerate(b)] for s, b in enumerate(streams)]
        merged = list(heapq.merge(*tagged, key=lambda t: _bar_key(t[0])))
        signals_at: dict[int, list[Signal]] = {}
        for k, (_, s, i) in enumerate(merged):
            found = per_stream[s].get(i)
            if found:
                signals_at[k] = found
        return [t[0] for t in merged], signals_at

    def _replay(
        self,
        bars: Sequence[Bar],
        signals_at: dict[int, list[Signal]],
        strategy: Any,
        ctx: _SessionCtx,
    ) -> None:
        """The per-bar loop: fills, exits, decisions and marks, in the live order. Flat with no
        order pending, a bar without a signal changes nothing, so the loop jumps to the next
        signal; the safety engine, the clock and the models are touched only when an order, a
        position or a signal exists."""
        positions, pending = self.positions, self.pending
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
                    self._fill_entry(order, bar, ctx)
            exited = self._exits(bar, ctx) if positions else False
            signals = signals_at.get(i)
            if signals:
                self.clock.set(bar.ts + _ONE_MINUTE * bar.minutes)
                for signal in signals:
                    self._decide(signal, bar, strategy, ctx)
            if positions or exited:
                self._mark(bar, ctx)
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

    # --- entries ---------------------------------------------------------------------------
    def _equity(self) -> float:
        return (
            self.initial + self.realized + sum(self._unrealized(p) for p in self.positions.values())
        )

    @staticmethod
    def _unrealized(p: _Position) -> float:
        if not p.mark:
            return 0.0
        if p.contract is not None:
            return (p.mark - p.entry_price) * p.qty * 100
        sign = 1.0 if p.direction is Direction.LONG else -1.0
        return sign * (p.mark - p.entry_price) * p.qty

    def _decide(self, signal: Signal, bar: Bar, strategy: Any, ctx: _SessionCtx) -> None:
        equity = self._equity()
        if not self.positions:
            # Flat, equity is constant, so the minute-by-minute marks of the live monitor reduce
            # to this one: it re-trips the drawdown breaker exactly when live would have.
            self.safety.mark_to_market({}, equity)
        budget = risk_budget(equity, self.cfg.strategies.options)
        now = self.clock.now()
        coid = client_order_id(signal.id, OrderPurpose.ENTRY)
        contract: PricedContract | None = None
        if strategy.instrument is Instrument.OPTION:
            opened = self.bt.options.open(
                signal.symbol,
                signal.side,
                spot=bar.close,
                now=now,
                vix=ctx.vix,
                day=ctx.session.day,
            )
            if opened is None:
                ctx.today.rejections[NO_CONTRACT] += 1
                ctx.today.verdicts["not_sent"] += 1
                return
            contract, quote = opened
            qty = self.bt.options.contracts_for_budget(budget, quote.ask)
            price, fees = quote.ask, self.bt.options.commission * qty
            symbol, side = contract.symbol, OrderSide.BUY
            limit: float | None = quote.ask
            last = quote.ask  # the model has no independent trade tape (see docs)
        else:
            qty = shares_for_risk(budget, signal.entry, signal.stop)
            price, fees, limit, last = bar.close, 0.0, None, bar.close
            symbol = signal.symbol
            side = OrderSide.BUY if signal.side is Direction.LONG else OrderSide.SELL
        if qty < 1:
            ctx.today.rejections[BELOW_ONE_UNIT] += 1
            ctx.today.verdicts["not_sent"] += 1
            return
        intent = OrderIntent(
            client_order_id=coid,
            signal_id=signal.id,
            strategy=signal.strategy,
            symbol=symbol,
            underlying=signal.symbol,
            side=side,
            purpose=OrderPurpose.ENTRY,
            instrument=strategy.instrument,
            qty=qty,
            est_price=price,
            limit_price=limit,
            stop=signal.stop,
            target=signal.target,
            fees=fees,
        )
        market = MarketContext(
            regime=ctx.regime,
            equity=equity,
            start_of_day_equity=ctx.start_equity,
            last_price=last,
            reward_risk=signal.reward_risk,
            account=_CLEAR_ACCOUNT,
        )
        verdict = self.safety.reserve(intent, market)
        self._collect_events(ctx)
        if not verdict.approved:
            ctx.today.verdicts["rejected"] += 1
            for check in verdict.failures:
                ctx.today.rejections[check.name] += 1
            return
        ctx.today.verdicts["approved"] += 1
        if contract is not None:
            risk = price * qty * 100 + fees
        else:
            risk = qty * abs(signal.entry - signal.stop) + fees
        order = _Order(signal, intent, ctx.regime, strategy.max_hold_minutes, risk, contract)
        self.pending.setdefault(signal.symbol, []).append(order)

    def _fill_entry(self, order: _Order, bar: Bar, ctx: _SessionCtx) -> None:
        signal, intent = order.signal, order.intent
        now = bar.ts
        slip = self.cfg.backtest.slippage_for(signal.symbol)
        if order.contract is not None:
            price = self.bt.options.price(order.contract, bar.open, now).ask
            fee = self.bt.options.commission * intent.qty
            side = OrderSide.BUY
        else:
            price = entry_fill_price(signal.side, bar.open, slip)
            fee = 0.0
            side = intent.side
        self.safety.on_fill(
            Fill(
                fill_id=f"{intent.client_order_id}-1",
                client_order_id=intent.client_order_id,
                symbol=intent.symbol,
                side=side,
                qty=intent.qty,
                price=price,
                fee=fee,
                ts=now,
            )
        )
        self.positions[signal.id] = _Position(
            signal=signal,
            intent=intent,
            regime=order.regime,
            symbol=intent.symbol,
            direction=signal.side,
            qty=intent.qty,
            entry_time=now,
            entry_price=price,
            underlying_entry=bar.open,
            entry_fee=fee,
            risk=order.risk,
            time_stop_at=now + timedelta(minutes=order.max_hold),
            contract=order.contract,
        )

    # --- exits -----------------------------------------------------------------------------
    def _exits(self, bar: Bar, ctx: _SessionCtx) -> bool:
        exited = False
        for sid in [s for s, p in self.positions.items() if p.signal.symbol == bar.symbol]:
            pos = self.positions[sid]
            hit: tuple[ExitReason, float] | None
            if bar.ts >= ctx.flatten_at:
                hit = (ExitReason.FLATTEN, bar.open)
            elif bar.ts >= pos.time_stop_at:
                hit = (ExitReason.TIME_STOP, bar.open)
            else:
                s = pos.signal
                hit = touched_exit(
                    s.side,
                    stop=s.stop,
                    target=s.target,
                    bar_open=bar.open,
                    bar_high=bar.high,
                    bar_low=bar.low,
                )
            if hit is not None:
                self.clock.set(bar.ts)
                self._close(pos, hit[0], hit[1], bar.ts, ctx)
                exited = True
        return exited

    def _close(
        self, pos: _Position, reason: ExitReason, underlying: float, now: datetime, ctx: _SessionCtx
    ) -> None:
        signal = pos.signal
        if pos.contract is not None:
            price = max(self.bt.options.price(pos.contract, underlying, now).bid, MIN_PRICE)
            fee = self.bt.options.commission * pos.qty
            side = OrderSide.SELL
            pnl = (price - pos.entry_price) * pos.qty * 100 - pos.entry_fee - fee
        else:
            slip = self.cfg.backtest.slippage_for(signal.symbol)
            price = exit_fill_price(signal.side, reason, underlying, slip)
            fee = 0.0
            side = OrderSide.SELL if signal.side is Direction.LONG else OrderSide.BUY
            sign = 1.0 if signal.side is Direction.LONG else -1.0
            pnl = sign * (price - pos.entry_price) * pos.qty - pos.entry_fee - fee
        coid = client_order_id(signal.id, OrderPurpose.EXIT)
        exit_intent = OrderIntent(
            client_order_id=coid,
            signal_id=signal.id,
            strategy=signal.strategy,
            symbol=pos.symbol,
            underlying=signal.symbol,
            side=side,
            purpose=OrderPurpose.EXIT,
            instrument=pos.intent.instrument,
            qty=pos.qty,
            est_price=price,
        )
        self.safety.reserve(exit_intent, _exit_market(ctx, price))
        ctx.today.verdicts["exits"] += 1
        self.safety.on_fill(
            Fill(
                fill_id=f"{coid}-1",
                client_order_id=coid,
                symbol=pos.symbol,
                side=side,
                qty=pos.qty,
                price=price,
                fee=fee,
                ts=now,
            ),
            signal_id=signal.id,
        )
        self._collect_events(ctx)
        del self.positions[signal.id]
        self.realized += pnl
        ctx.today.pnl += pnl
        ctx.today.trades += 1
        self.trades.append(
            TradeRecord(
                signal_id=signal.id,
                symbol=pos.symbol,
                underlying=signal.symbol,
                strategy=signal.strategy,
                regime=pos.regime,
                side=signal.side,
                instrument=pos.intent.instrument,
                entry_time=pos.entry_time,
                entry_price=pos.entry_price,
                exit_time=now,
                exit_price=price,
                qty=pos.qty,
                fees=pos.entry_fee + fee,
                pnl=pnl,
                risk=pos.risk,
                exit_reason=reason.value,
                underlying_entry=pos.underlying_entry,
                underlying_exit=underlying,
                stop=signal.stop,
                target=signal.target,
            )
        )

    def _mark(self, bar: Bar, ctx: _SessionCtx) -> None:
        marks: dict[str, float] = {}
        now = bar.ts + _ONE_MINUTE * bar.minutes
        self.clock.set(now)
        for pos in self.positions.values():
            if pos.signal.symbol != bar.symbol:
                continue
            if pos.contract is not None:
                pos.mark = max(self.bt.options.price(pos.contract, bar.close, now).mid, MIN_PRICE)
            else:
                pos.mark = bar.close
            marks[pos.symbol] = pos.mark
        self.safety.mark_to_market(marks, self._equity())
        self._collect_events(ctx)

    def _end_session(self, last_bar: Mapping[str, Bar], ctx: _SessionCtx) -> None:
        for symbol, orders in list(self.pending.items()):
            for order in orders:
                self.safety.release(order.intent.client_order_id, "expired: no bar to fill at")
            del self.pending[symbol]
        for sid in list(self.positions):
            pos = self.positions[sid]
            bar = last_bar[pos.signal.symbol]
            self.clock.set(bar.closed_at)
            self._close(pos, ExitReason.END_OF_DATA, bar.close, bar.closed_at, ctx)
        self._collect_events(ctx)

    def _collect_events(self, ctx: _SessionCtx) -> None:
        for event in self.safety.drain_events():
            if event.kind is AuditKind.BREAKER_TRIP:
                ctx.today.trips[event.subject] += 1


@dataclass(slots=True)
class _SessionCtx:
    session: Session
    regime: Regime
    vix: float | None
    flatten_at: datetime
    start_equity: float
    today: _Day


def _exit_market(ctx: _SessionCtx, price: float) -> MarketContext:
    return MarketContext(
        regime=ctx.regime,
        equity=max(ctx.start_equity, 1.0),
        start_of_day_equity=max(ctx.start_equity, 1.0),
        last_price=price,
        account=_CLEAR_ACCOUNT,
    )


def session_days(
    bars: Mapping[str, Sequence[Bar]],
    calendar: MarketCalendar,
    *,
    start: date | None = None,
    end: date | None = None,
) -> list[date]:
    """The sessions a run over ``bars`` replays (any symbol has bars; within start..end)."""
    days = {d for b in bars.values() for d in _day_index(b, calendar)}
    return sorted(d for d in days if (start is None or d >= start) and (end is None or d <= end))


def _bar_key(bar: Bar) -> tuple[datetime, str]:
    return bar.ts, bar.symbol


def _day_index(bars: Sequence[Bar], calendar: MarketCalendar) -> dict[date, tuple[int, int]]:
    """[lo, hi) of each session's bars in a sorted list (bisect on the session bounds)."""
    if not bars:
        return {}
    stamps = [b.ts for b in bars]
    first = stamps[0].astimezone(NEW_YORK).date()
    last = stamps[-1].astimezone(NEW_YORK).date()
    out: dict[date, tuple[int, int]] = {}
    for session in calendar.sessions_between(first, last):
        lo = bisect.bisect_left(stamps, session.open)
        hi = bisect.bisect_left(stamps, session.close)
        if hi > lo:
            out[session.day] = (lo, hi)
    return out
