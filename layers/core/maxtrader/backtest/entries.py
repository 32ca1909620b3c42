"""Entries: a signal sized into an OrderIntent, through ``SafetyEngine.reserve``, and filled at
the next bar's open.

Sizing: an option is a Black-Scholes quote (IV = prior VIX close / 100 x iv_scale, half spread,
commission) bought at the ask; an equity entry is shares for the risk budget at the bar's close.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from maxtrader.backtest.book import CLEAR_ACCOUNT, Book, Order, Position, SessionCtx
from maxtrader.backtest.fills import entry_fill_price
from maxtrader.backtest.options_model import PricedContract
from maxtrader.domain.models import (
    Bar,
    Direction,
    Fill,
    Instrument,
    OrderIntent,
    OrderPurpose,
    OrderSide,
    Signal,
    client_order_id,
)
from maxtrader.domain.safety.context import MarketContext
from maxtrader.domain.sizing import risk_budget, shares_for_risk

# Reasons an entry never reached the safety layer (counted with the rejections).
NO_CONTRACT = "no_tradeable_contract"
BELOW_ONE_UNIT = "size_below_one_unit"


def decide(book: Book, signal: Signal, bar: Bar, strategy: Any, ctx: SessionCtx) -> None:
    """Size ``signal`` at ``bar``'s close and reserve it; approved, it waits in ``book.pending``."""
    equity = book.equity()
    if not book.positions:
        # Flat, equity is constant, so the minute-by-minute marks of the live monitor reduce
        # to this one: it re-trips the drawdown breaker exactly when live would have.
        book.safety.mark_to_market({}, equity)
    budget = risk_budget(equity, book.cfg.strategies.options)
    now = book.clock.now()
    coid = client_order_id(signal.id, OrderPurpose.ENTRY)
    contract: PricedContract | None = None
    if strategy.instrument is Instrument.OPTION:
        opened = book.options.open(
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
        qty = book.options.contracts_for_budget(budget, quote.ask)
        price, fees = quote.ask, book.options.commission * qty
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
        underlying_price=bar.close if contract is not None else None,
        fees=fees,
    )
    market = MarketContext(
        regime=ctx.regime,
        equity=equity,
        start_of_day_equity=ctx.start_equity,
        last_price=last,
        reward_risk=signal.reward_risk,
        # The simulator has no margin model: its buying power is the configured notional cap.
        buying_power=book.safety.limits_for(ctx.regime).max_notional_x_equity * equity,
        account=CLEAR_ACCOUNT,
    )
    verdict = book.safety.reserve(intent, market)
    book.collect_events(ctx)
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
    order = Order(signal, intent, ctx.regime, strategy.max_hold_minutes, risk, contract)
    book.pending.setdefault(signal.symbol, []).append(order)


def fill_entry(book: Book, order: Order, bar: Bar) -> None:
    """``order`` fills at ``bar``'s open (plus slippage; an option at the model's ask)."""
    signal, intent = order.signal, order.intent
    now = bar.ts
    slip = book.cfg.backtest.slippage_for(signal.symbol)
    if order.contract is not None:
        price = book.options.price(order.contract, bar.open, now).ask
        fee = book.options.commission * intent.qty
        side = OrderSide.BUY
    else:
        price = entry_fill_price(signal.side, bar.open, slip)
        fee = 0.0
        side = intent.side
    book.safety.on_fill(
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
    book.positions[signal.id] = Position(
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
