"""Exits and marks of open positions: flatten, time stop, stop/target (stop first, see
backtest/fills.py), end of data; each exit goes through the SafetyEngine (never blocked) and
becomes a TradeRecord. Marks feed ``SafetyEngine.mark_to_market`` (the drawdown breaker).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from maxtrader.backtest.book import CLEAR_ACCOUNT, Book, Position, SessionCtx
from maxtrader.backtest.fills import MIN_PRICE, ExitReason, exit_fill_price, touched_exit
from maxtrader.backtest.results import TradeRecord
from maxtrader.domain.models import (
    Bar,
    Direction,
    Fill,
    OrderIntent,
    OrderPurpose,
    OrderSide,
    client_order_id,
)
from maxtrader.domain.safety.context import MarketContext

_ONE_MINUTE = timedelta(minutes=1)


def exits(book: Book, bar: Bar, ctx: SessionCtx) -> bool:
    """Close the positions on ``bar``'s symbol whose exit is due; True when any closed."""
    exited = False
    for sid in [s for s, p in book.positions.items() if p.signal.symbol == bar.symbol]:
        pos = book.positions[sid]
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
            book.clock.set(bar.ts)
            close(book, pos, hit[0], hit[1], now=bar.ts, ctx=ctx)
            exited = True
    return exited


def close(
    book: Book,
    pos: Position,
    reason: ExitReason,
    underlying: float,
    *,
    now: datetime,
    ctx: SessionCtx,
) -> None:
    signal = pos.signal
    if pos.contract is not None:
        price = max(book.options.price(pos.contract, underlying, now).bid, MIN_PRICE)
        fee = book.options.commission * pos.qty
        side = OrderSide.SELL
        pnl = (price - pos.entry_price) * pos.qty * 100 - pos.entry_fee - fee
    else:
        slip = book.cfg.backtest.slippage_for(signal.symbol)
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
    book.safety.reserve(exit_intent, _exit_market(ctx, price))
    ctx.today.verdicts["exits"] += 1
    book.safety.on_fill(
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
    book.collect_events(ctx)
    del book.positions[signal.id]
    book.realized += pnl
    ctx.today.pnl += pnl
    ctx.today.trades += 1
    book.trades.append(
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


def mark(book: Book, bar: Bar, ctx: SessionCtx) -> None:
    """Mark the positions on ``bar``'s symbol at its close (an option at the model's mid)."""
    marks: dict[str, float] = {}
    now = bar.ts + _ONE_MINUTE * bar.minutes
    book.clock.set(now)
    for pos in book.positions.values():
        if pos.signal.symbol != bar.symbol:
            continue
        if pos.contract is not None:
            pos.mark = max(book.options.price(pos.contract, bar.close, now).mid, MIN_PRICE)
        else:
            pos.mark = bar.close
        marks[pos.symbol] = pos.mark
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
        bar = last_bar[pos.signal.symbol]
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
