"""Exits and marks of open positions. When a position exits is trading/exits.py's decision
(flatten, the regime's flatten, time stop, stop/target with the stop first); the order is its
``exit_intent`` (reduce-only); this module prices the fill (backtest/fills.py, the option model),
sends it through the SafetyEngine (never blocked) and records the TradeRecord. End of data
closes what is still open at the last close. Marks feed ``SafetyEngine.mark_to_market``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from maxtrader.backtest.book import CLEAR_ACCOUNT, Book, OpenTrade, SessionCtx, pnl_of
from maxtrader.backtest.fills import MIN_PRICE, exit_fill_price
from maxtrader.backtest.results import TradeRecord
from maxtrader.domain.models import Bar, Fill
from maxtrader.domain.safety.context import MarketContext
from maxtrader.trading.exits import ExitReason, exit_intent, exit_on_bar

_ONE_MINUTE = timedelta(minutes=1)


def exits(book: Book, bar: Bar, ctx: SessionCtx) -> bool:
    """Close the positions on ``bar``'s symbol whose exit is due; True when any closed."""
    exited = False
    symbol = bar.symbol
    for sid in [s for s, p in book.positions.items() if p.ticket.underlying == symbol]:
        pos = book.positions[sid]
        hit = exit_on_bar(pos.plan, bar, ctx.flatten_at, regime_flatten=ctx.flatten_positions)
        if hit is not None:
            book.clock.set(bar.ts)
            close(book, pos, hit.reason, hit.underlying, now=bar.ts, ctx=ctx)
            exited = True
    return exited


def close(
    book: Book,
    pos: OpenTrade,
    reason: ExitReason,
    underlying: float,
    *,
    now: datetime,
    ctx: SessionCtx,
) -> None:
    signal, ticket = pos.signal, pos.ticket
    if pos.contract is not None:
        price = max(book.options.price(pos.contract, underlying, now).bid, MIN_PRICE)
        fee = book.options.commission * ticket.qty
    else:
        slip = book.cfg.backtest.slippage_for(ticket.underlying)
        price = exit_fill_price(pos.plan.direction, reason, underlying, slip)
        fee = 0.0
    intent = exit_intent(ticket, est_price=price)
    pnl = pnl_of(pos, price) - pos.entry_fee - fee
    book.safety.reserve(intent, _exit_market(ctx, price))
    ctx.today.verdicts["exits"] += 1
    book.safety.on_fill(
        Fill(
            fill_id=f"{intent.client_order_id}-1",
            client_order_id=intent.client_order_id,
            symbol=intent.symbol,
            side=intent.side,
            qty=intent.qty,
            price=price,
            fee=fee,
            ts=now,
        ),
        signal_id=signal.id,
    )
    book.collect_events(ctx)
    del book.positions[signal.id]
    book.realized += pnl
    ctx.today.pnl += pnl
    ctx.today.trades += 1
    book.trades.append(
        TradeRecord(
            signal_id=signal.id,
            symbol=ticket.symbol,
            underlying=ticket.underlying,
            strategy=signal.strategy,
            regime=pos.regime,
            side=signal.side,
            instrument=ticket.instrument,
            entry_time=pos.entry_time,
            entry_price=pos.entry_price,
            exit_time=now,
            exit_price=price,
            qty=ticket.qty,
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


def mark(book: Book, bar: Bar, ctx: SessionCtx) -> None:
    """Mark the positions on ``bar``'s symbol at its close (an option at the model's mid)."""
    marks: dict[str, float] = {}
    now = bar.ts + _ONE_MINUTE * bar.minutes
    book.clock.set(now)
    for pos in book.positions.values():
        if pos.ticket.underlying != bar.symbol:
            continue
        if pos.contract is not None:
            pos.mark = max(book.options.price(pos.contract, bar.close, now).mid, MIN_PRICE)
        else:
            pos.mark = bar.close
        marks[pos.ticket.symbol] = pos.mark
    book.safety.mark_to_market(marks, book.equity())
    book.collect_events(ctx)


def end_session(book: Book, last_bar: Mapping[str, Bar], ctx: SessionCtx) -> None:
    """Release the orders left pending; close what is still open at the last close."""
    for symbol, orders in list(book.pending.items()):
        for order in orders:
            book.safety.release(order.intent.client_order_id, "expired: no bar to fill at")
        del book.pending[symbol]
    for sid in list(book.positions):
        pos = book.positions[sid]
        bar = last_bar[pos.ticket.underlying]
        book.clock.set(bar.closed_at)
        close(book, pos, ExitReason.END_OF_DATA, bar.close, now=bar.closed_at, ctx=ctx)
    book.collect_events(ctx)


def _exit_market(ctx: SessionCtx, price: float) -> MarketContext:
    return MarketContext(
        regime=ctx.regime,
        equity=max(ctx.start_equity, 1.0),
        start_of_day_equity=max(ctx.start_equity, 1.0),
        last_price=price,
        account=CLEAR_ACCOUNT,
    )
