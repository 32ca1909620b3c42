"""Entries: a signal sized into an OrderIntent (trading/entries.py), through
``SafetyEngine.reserve``, and filled at the next bar's open.

The contract is chosen from the option model's chain snapshot (the two listed strikes around
the underlying at the nearest expiry, Black-Scholes quotes) by the same ``choose_contract`` live
applies to the broker's chain; the fill model (the ask at the next open, equity slippage) is
this module's.
"""

from __future__ import annotations

from typing import Any

from maxtrader.backtest.book import CLEAR_ACCOUNT, Book, OpenTrade, Order, SessionCtx
from maxtrader.backtest.fills import entry_fill_price
from maxtrader.backtest.options_model import PricedContract
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import Bar, Fill, Instrument, Signal
from maxtrader.trading.entries import (
    NotSent,
    choose_contract,
    entry_market,
    option_right,
    size_entry,
)
from maxtrader.trading.exits import exit_plan


def decide(book: Book, signal: Signal, bar: Bar, strategy: Any, ctx: SessionCtx) -> None:
    """Size ``signal`` at ``bar``'s close and reserve it; approved, it waits in ``book.pending``."""
    equity = book.equity()
    observer = book.observer
    if observer is not None:
        observer.signal(
            signal, regime=ctx.regime, last_price=bar.close, decided_at=book.clock.now()
        )
    if not book.positions:
        # Flat, equity is constant, so the minute-by-minute marks of the live monitor reduce
        # to this one: it re-trips the drawdown breaker exactly when live would have.
        book.safety.mark_to_market({}, equity)
    rules = book.cfg.strategies.options
    day = ctx.session.day
    contract: PricedContract | None = None
    quote = None
    if strategy.instrument is Instrument.OPTION:
        chain, priced = book.options.chain(
            signal.symbol,
            option_right(signal.side),
            spot=bar.close,
            now=book.clock.now(),
            vix=ctx.vix,
            day=day,
        )
        quote = choose_contract(signal, chain, underlying_price=bar.close, today=day, rules=rules)
        if quote is not None:
            contract = priced[quote.contract.symbol]
    sized = size_entry(
        signal,
        instrument=strategy.instrument,
        equity=equity,
        rules=rules,
        last_price=bar.close,
        contract=quote,
    )
    if isinstance(sized, NotSent):
        if observer is not None:
            observer.not_sent(signal, sized, book.clock.now())
        ctx.today.rejections[sized.reason.value] += 1
        ctx.today.verdicts["not_sent"] += 1
        return
    market = entry_market(
        sized,
        signal,
        regime=ctx.regime,
        equity=equity,
        start_of_day_equity=ctx.start_equity,
        # The simulator has no margin model: its buying power is the configured notional cap.
        buying_power=book.safety.limits_for(ctx.regime).max_notional_x_equity * equity,
        account=CLEAR_ACCOUNT,
    )
    verdict = book.safety.reserve(sized.intent, market)
    book.collect_events(ctx)
    if observer is not None:
        observer.verdict(signal, sized.intent, verdict)
    if not verdict.approved:
        ctx.today.verdicts["rejected"] += 1
        for check in verdict.failures:
            ctx.today.rejections[check.name] += 1
        return
    ctx.today.verdicts["approved"] += 1
    order = Order(signal, sized.intent, ctx.regime, strategy.max_hold_minutes, sized.risk, contract)
    book.pending.setdefault(signal.symbol, []).append(order)


def fill_entry(book: Book, order: Order, bar: Bar) -> None:
    """``order`` fills at ``bar``'s open (plus slippage; an option at the model's ask)."""
    signal, intent = order.signal, order.intent
    now = bar.ts
    if order.contract is not None:
        price = book.options.price(order.contract, bar.open, now).ask
        fee = book.options.commission * intent.qty
    else:
        slip = book.cfg.backtest.slippage_for(signal.symbol)
        price = entry_fill_price(signal.side, bar.open, slip)
        fee = 0.0
    effect = book.safety.on_fill(
        Fill(
            fill_id=f"{intent.client_order_id}-1",
            client_order_id=intent.client_order_id,
            symbol=intent.symbol,
            side=intent.side,
            qty=intent.qty,
            price=price,
            fee=fee,
            ts=now,
        )
    )
    if effect is None:  # a replay fills each order once: a duplicate is an engine bug
        raise InvalidInputError(f"entry fill of {intent.client_order_id} applied twice")
    book.positions[signal.id] = OpenTrade(
        signal=signal,
        ticket=effect.ticket,
        plan=exit_plan(effect.ticket, order.max_hold),
        regime=order.regime,
        entry_time=now,
        entry_price=price,
        underlying_entry=bar.open,
        entry_fee=fee,
        risk=order.risk,
        contract=order.contract,
    )
