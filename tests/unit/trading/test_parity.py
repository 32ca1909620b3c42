"""Parity: a hand-driven, live-style loop over a real month makes the backtester's decisions.

The loop is shaped like the Lambdas: the regime is computed before the open and stored; every
bar, each strategy's state is loaded from its stored JSON, stepped with that one bar and saved
again (as the session store would hold it); exits are decided from the STORED tickets
(``open_tickets``), not from a book; entries are sized and reserved through the same safety
engine. Only the fill model is the backtester's (next open, modelled option quotes), since
fills are the market's answer and not a decision. The two drivers' audit logs (every verdict,
reservation and fill, entries and exits) must be the same, record by record.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.backtest.engine import Backtester, _Run
from maxtrader.backtest.fills import MIN_PRICE, entry_fill_price, exit_fill_price
from maxtrader.backtest.options_model import OptionModel, PricedContract
from maxtrader.backtest.settings import BacktestSettings, RunConfig, apply_overrides
from maxtrader.config import load_safety, load_strategies
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import NEW_YORK, FixedClock, trading_date
from maxtrader.domain.models import AuditKind, AuditRecord, Bar, Fill, Instrument
from maxtrader.domain.regime import RegimeDetector, RegimeState
from maxtrader.domain.safety.context import AccountFlags, MarketContext
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.domain.safety.state import Ticket
from maxtrader.domain.strategies.routing import strategy_named
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
from tests.unit.backtest.real import real_spy

START, END = date(2024, 7, 1), date(2024, 7, 31)  # with the 2024-07-03 early close
CALENDAR = MarketCalendar.xnys("2024-01-01", "2024-12-31")
EQUITY = (
    "strategies.wave_renko.instrument=equity",
    "strategies.vwap_mean_reversion.instrument=equity",
)


class LiveStyle:
    """The live path, hand-driven bar by bar (see the module docstring)."""

    def __init__(self, cfg: RunConfig, vix: dict[date, float]) -> None:
        self.cfg = cfg
        self.clock = FixedClock(CALENDAR.session(START).open)  # type: ignore[union-attr]
        self.store = InMemoryStateStore()
        self.safety = SafetyEngine(cfg.safety, self.store, self.clock, calendar=CALENDAR)
        self.options = OptionModel(cfg.strategies.options, cfg.backtest.strike_step, CALENDAR)
        self.detector = RegimeDetector(cfg.strategies.regime)
        self.routing = Routing(cfg.strategies)
        self.daily = DailyVix(vix, CALENDAR)
        self.saved: dict[tuple[str, str], str] = {}  # the session store: JSON, as DynamoDB holds
        self.cash = cfg.backtest.initial_equity  # the broker's cash: initial + realized
        self.contracts: dict[str, PricedContract] = {}  # the broker's quotes of what we hold
        self.marks: dict[str, float] = {}
        self.start_equity = self.cash  # the session's start-of-day equity

    def run(self, bars: list[Bar]) -> None:
        by_day: dict[date, list[Bar]] = {}
        for bar in bars:
            by_day.setdefault(bar.ts.astimezone(NEW_YORK).date(), []).append(bar)
        days = sorted(by_day)
        for day in [d for d in days if START <= d <= END]:
            prior = [b for d in days if d < day for b in by_day[d]]
            self.session(day, by_day[day], prior)

    # --- one session ----------------------------------------------------------------------
    def session(self, day: date, bars: list[Bar], prior: list[Bar]) -> None:
        session = CALENDAR.session(day)
        assert session is not None
        # premarket: the regime, stored
        vix = self.daily.prior_close(day)
        state = self.detector.update(self.detector.start_session(day), vix)
        self.saved[("regime", day.isoformat())] = state.model_dump_json()
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


def _comparable(record: AuditRecord) -> tuple[Any, ...]:
    def norm(value: Any) -> Any:
        if isinstance(value, float):
            return round(value, 6)
        if isinstance(value, dict):
            return {k: norm(v) for k, v in value.items()}
        if isinstance(value, list):
            return [norm(v) for v in value]
        return value

    return record.ts, record.kind, record.subject, record.actor, norm(record.detail)


@pytest.mark.slow
@pytest.mark.parametrize("overrides", [(), EQUITY], ids=["option", "equity"])
def test_a_live_style_loop_makes_the_backtesters_decisions_on_a_real_month(
    overrides: tuple[str, ...],
) -> None:
    bars, vix = real_spy(END)
    bars = [b for b in bars if b.ts.astimezone(NEW_YORK).date() >= START - timedelta(days=21)]
    cfg = apply_overrides(
        RunConfig(load_safety(), load_strategies(), BacktestSettings()), list(overrides)
    )
    replay = _Run(Backtester(cfg, CALENDAR), {"SPY": bars}, vix, None, start=START, end=END)
    result = replay.execute(None, "parity")
    live = LiveStyle(cfg, vix)
    live.run(bars)
    days = [s.day.isoformat() for s in result.sessions]
    ours = [_comparable(r) for d in days for r in replay.book.store.audit_log(d)]
    theirs = [_comparable(r) for d in days for r in live.store.audit_log(d)]
    verdicts = [r for r in ours if r[1] is AuditKind.VERDICT]
    assert len(result.trades) >= 10 and len(verdicts) >= 2 * len(result.trades)
    assert {t.strategy for t in result.trades} >= {"wave_renko", "vwap_reversion"}
    assert theirs == ours
