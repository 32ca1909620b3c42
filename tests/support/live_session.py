"""A live-shaped session driver on memory adapters: the live-side core functions, bar by bar.

``LiveStyle`` is what the Lambdas do, hand-driven (moved here from
tests/unit/trading/test_parity.py, which uses it for its month-long audit-log parity): the
regime computed before the open and stored; every bar, each strategy's state loaded from its
stored JSON, stepped with that one bar (``trading.session.step_bar``) and saved; exits decided
from the STORED tickets; entries sized (``trading.entries``) and reserved through
``SafetyEngine.reserve``. Only the fill model is the backtester's (fills are the market's answer,
not a decision).

With ``audit_signals`` it also writes what the signals and execute functions audit and store
(the nightly parity's inputs): each day's bars in an ``InMemorySessionStore`` (as ingest), the
regime state there and as a REGIME record (the regime function), a SIGNAL record per signal
handed on (``signal_audit_record``) and a NOT_SENT record per signal not sized into an order.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from maxtrader.adapters.memory_session_store import InMemorySessionStore
from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.backtest.fills import MIN_PRICE, entry_fill_price, exit_fill_price
from maxtrader.backtest.options_model import OptionModel, PricedContract
from maxtrader.backtest.settings import RunConfig
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import NEW_YORK, FixedClock, trading_date
from maxtrader.domain.models import AuditKind, Bar, Fill, Instrument
from maxtrader.domain.regime import RegimeDetector, RegimeState
from maxtrader.domain.safety import audit
from maxtrader.domain.safety.context import AccountFlags, MarketContext
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.domain.safety.state import Ticket
from maxtrader.domain.strategies.routing import strategy_named
from maxtrader.parity.regime_source import regime_record
from maxtrader.trading.entries import (
    NotSent,
    choose_contract,
    entry_market,
    option_right,
    size_entry,
)
from maxtrader.trading.exits import ExitReason, exit_intent, exit_on_bar, exit_plan, flatten_time
from maxtrader.trading.regime import DailyVix
from maxtrader.trading.session import Routing, step_bar
from maxtrader.trading.signal_message import SignalMessage, signal_audit_record

BARS_KEPT = timedelta(days=30)  # the bars' expiry in the session store (not enforced in memory)


class LiveStyle:
    """The live path, hand-driven bar by bar (see the module docstring)."""

    def __init__(
        self,
        cfg: RunConfig,
        vix: dict[date, float],
        calendar: MarketCalendar,
        *,
        audit_signals: bool = False,
    ) -> None:
        self.cfg = cfg
        self.calendar = calendar
        self.audit_signals = audit_signals
        self.clock = FixedClock(
            calendar.sessions_between(calendar.first_day, calendar.last_day)[0].open
        )
        self.store = InMemoryStateStore()
        self.sessions = InMemorySessionStore()  # with audit_signals: bars and regimes, as live
        self.safety = SafetyEngine(cfg.safety, self.store, self.clock, calendar=calendar)
        self.options = OptionModel(cfg.strategies.options, cfg.backtest.strike_step, calendar)
        self.detector = RegimeDetector(cfg.strategies.regime)
        self.routing = Routing(cfg.strategies)
        self.daily = DailyVix(vix, calendar)
        self.saved: dict[tuple[str, str], str] = {}  # the session store: JSON, as DynamoDB holds
        self.cash = cfg.backtest.initial_equity  # the broker's cash: initial + realized
        self.contracts: dict[str, PricedContract] = {}  # the broker's quotes of what we hold
        self.marks: dict[str, float] = {}
        self.start_equity = self.cash  # the session's start-of-day equity

    def run(self, bars: list[Bar], start: date, end: date) -> None:
        by_day: dict[date, list[Bar]] = {}
        for bar in bars:
            by_day.setdefault(bar.ts.astimezone(NEW_YORK).date(), []).append(bar)
        days = sorted(by_day)
        if self.audit_signals:  # ingest stored every bar as it came (the prior sessions' too)
            self.sessions.put_bars(bars, expires_at=bars[-1].ts + BARS_KEPT)
        for day in [d for d in days if start <= d <= end]:
            prior = [b for d in days if d < day for b in by_day[d]]
            self.session(day, by_day[day], prior)

    # --- one session ----------------------------------------------------------------------
    def session(self, day: date, bars: list[Bar], prior: list[Bar]) -> None:
        session = self.calendar.session(day)
        assert session is not None
        # premarket: the regime, stored
        vix = self.daily.prior_close(day)
        state = self.detector.update(self.detector.start_session(day), vix)
        self.saved[("regime", day.isoformat())] = state.model_dump_json()
        if self.audit_signals:
            self.sessions.save_regime(state)
            self.store.append_audit([regime_record(state, session.open - timedelta(minutes=30))])
        strategies = self.routing.strategies([state.regime])
        for name, strategy in strategies.items():
            history = _last_sessions(prior, strategy.history_sessions)
            started = strategy.start_session("SPY", session, history)
            self.saved[(name, "SPY")] = started.model_dump_json()
        flatten_at = flatten_time(session, self.cfg.strategies.session)
        self.start_equity = self.cash
        self.clock.set(session.open)
        self.safety.mark_to_market({}, self.start_equity)
        self.safety.record_start_of_day_equity(self.start_equity, "premarket")  # as live's run
        pending: list[tuple[Any, PricedContract | None, int]] = []
        for bar in bars:
            if pending:
                self.clock.set(bar.ts)
                for intent, contract, _ in pending:
                    self.fill_entry(intent, contract, bar)
                pending = []
            exited = self.exits(bar, flatten_at)
            # the signals function: regime and states from the store, one bar, saved back
            regime = RegimeState.model_validate_json(self.saved[("regime", day.isoformat())])
            states = {n: s.load_state(self.saved[(n, "SPY")]) for n, s in strategies.items()}
            states, step = step_bar(self.routing, strategies, states, bar, regime)
            for name, new in states.items():
                self.saved[(name, "SPY")] = new.model_dump_json()
            if step.signals and step.strategy is not None:
                self.clock.set(bar.closed_at)
                for signal in step.signals:
                    order = self.decide(signal, bar, strategies[step.strategy], regime, vix)
                    if order is not None:
                        pending.append(order)
            if self.holding() or exited:
                self.mark(bar)
        for intent, _, _ in pending:
            self.safety.release(intent.client_order_id, "expired: no bar to fill at")
        for ticket in self.holding():
            last = bars[-1]
            self.clock.set(last.closed_at)
            self.close(ticket, ExitReason.END_OF_DATA, last.close, last.closed_at)

    # --- entries --------------------------------------------------------------------------
    def decide(
        self, signal: Any, bar: Bar, strategy: Any, regime: RegimeState, vix: float | None
    ) -> tuple[Any, PricedContract | None, int] | None:
        if self.audit_signals:  # the signals function hands the signal on, and audits it
            message = SignalMessage(
                signal=signal, regime=regime, last_price=bar.close, decided_at=bar.closed_at
            )
            self.store.append_audit([signal_audit_record(message)])
        equity = self.equity()
        if not self.holding():
            self.safety.mark_to_market({}, equity)
        rules = self.cfg.strategies.options
        day = bar.ts.astimezone(NEW_YORK).date()
        quote, contract = None, None
        if strategy.instrument is Instrument.OPTION:
            chain, priced = self.options.chain(
                signal.symbol,
                option_right(signal.side),
                spot=bar.close,
                now=self.clock.now(),
                vix=vix,
                day=day,
            )
            quote = choose_contract(
                signal, chain, underlying_price=bar.close, today=day, rules=rules
            )
            contract = priced[quote.contract.symbol] if quote is not None else None
        sized = size_entry(
            signal,
            instrument=strategy.instrument,
            equity=equity,
            rules=rules,
            last_price=bar.close,
            contract=quote,
        )
        if isinstance(sized, NotSent):
            if self.audit_signals:  # execute: not sized into an order
                record = audit.record(
                    AuditKind.NOT_SENT, signal.id, self.clock.now(), "execute",
                    reason=sized.reason.value, detail=sized.detail,
                )  # fmt: skip
                self.store.append_audit([record])
            return None
        market = entry_market(
            sized,
            signal,
            regime=regime.regime,
            equity=equity,
            start_of_day_equity=self.start_equity,
            account=AccountFlags(),
            # As the backtester's simulated account: buying power at the notional cap.
            buying_power=self.safety.limits_for(regime.regime).max_notional_x_equity * equity,
        )
        verdict = self.safety.reserve(sized.intent, market)
        self.safety.drain_events()
        return (sized.intent, contract, strategy.max_hold_minutes) if verdict.approved else None

    def fill_entry(self, intent: Any, contract: PricedContract | None, bar: Bar) -> None:
        if contract is not None:
            price = self.options.price(contract, bar.open, bar.ts).ask
            fee = self.options.commission * intent.qty
            self.contracts[intent.symbol] = contract
        else:
            slip = self.cfg.backtest.slippage_for(intent.underlying)
            price = entry_fill_price(_signal_side(intent), bar.open, slip)
            fee = 0.0
        self.apply(intent, price, fee, bar.ts)

    # --- exits, from the stored tickets ----------------------------------------------------
    def holding(self) -> list[Ticket]:
        return [t for t in self.store.open_tickets() if t.qty]

    def exits(self, bar: Bar, flatten_at: Any) -> bool:
        exited = False
        for ticket in [t for t in self.holding() if t.underlying == bar.symbol]:
            hold = strategy_named(ticket.strategy, self.cfg.strategies).max_hold_minutes
            hit = exit_on_bar(exit_plan(ticket, hold), bar, flatten_at)
            if hit is not None:
                self.clock.set(bar.ts)
                self.close(ticket, hit.reason, hit.underlying, bar.ts)
                exited = True
        return exited

    def close(self, ticket: Any, reason: ExitReason, underlying: float, now: Any) -> None:
        sod = self.start_equity
        contract = self.contracts.get(ticket.symbol)
        if contract is not None:
            price = max(self.options.price(contract, underlying, now).bid, MIN_PRICE)
            fee = self.options.commission * ticket.qty
        else:
            plan = exit_plan(ticket, 0)
            slip = self.cfg.backtest.slippage_for(ticket.underlying)
            price = exit_fill_price(plan.direction, reason, underlying, slip)
            fee = 0.0
        intent = exit_intent(ticket, est_price=price)
        market = MarketContext(
            regime=RegimeState.model_validate_json(
                self.saved[("regime", trading_date(now))]
            ).regime,
            equity=max(sod, 1.0),
            start_of_day_equity=max(sod, 1.0),
            last_price=price,
            account=AccountFlags(),
        )
        self.safety.reserve(intent, market)
        self.apply(intent, price, fee, now, signal_id=ticket.signal_id)
        self.marks.pop(ticket.symbol, None)

    def apply(self, intent: Any, price: float, fee: float, ts: Any, signal_id: Any = None) -> None:
        fill = Fill(
            fill_id=f"{intent.client_order_id}-1",
            client_order_id=intent.client_order_id,
            symbol=intent.symbol,
            side=intent.side,
            qty=intent.qty,
            price=price,
            fee=fee,
            ts=ts,
        )
        effect = self.safety.on_fill(fill, signal_id=signal_id)
        assert effect is not None
        self.cash += effect.realized
        self.safety.drain_events()

    def mark(self, bar: Bar) -> None:
        now = bar.closed_at
        self.clock.set(now)
        marks: dict[str, float] = {}
        for ticket in self.holding():
            if ticket.underlying != bar.symbol:
                continue
            contract = self.contracts.get(ticket.symbol)
            if contract is not None:
                marks[ticket.symbol] = max(
                    self.options.price(contract, bar.close, now).mid, MIN_PRICE
                )
            else:
                marks[ticket.symbol] = bar.close
        self.marks.update(marks)
        self.safety.mark_to_market(marks, self.equity())
        self.safety.drain_events()

    def equity(self) -> float:
        return self.cash + sum(t.unrealized(self.marks.get(t.symbol)) for t in self.holding())


def _signal_side(intent: Any) -> Any:
    from maxtrader.domain.models import Direction, OrderSide

    return Direction.LONG if intent.side is OrderSide.BUY else Direction.SHORT


def _last_sessions(prior: list[Bar], n: int) -> list[Bar]:
    days = sorted({b.ts.astimezone(NEW_YORK).date() for b in prior})[-n:] if n > 0 else []
    keep = set(days)
    return [b for b in prior if b.ts.astimezone(NEW_YORK).date() in keep]
