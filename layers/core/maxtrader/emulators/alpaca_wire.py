"""The emulated Alpaca's answers as Alpaca writes them: JSON objects with the documented keys.

Numbers travel as strings (``"103820.56"``), timestamps as RFC 3339 UTC with microseconds, clock
times with the New York offset, calendar times as New York ``HH:MM``. The keys of each object are
exactly those of the recorded responses in ``tests/support/alpaca_responses/`` (a contract test
holds the emulator to them).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from maxtrader.domain.calendar import MarketCalendar, Session
from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.options import OptionContract
from maxtrader.emulators.alpaca_book import (
    MULTIPLIER,
    OPTION,
    AlpacaBook,
    EmulatedOrder,
    EmulatedPosition,
)

ACCOUNT_ID = "e6fe16f3-64a4-4921-8928-cadf02f92f98"
EXCHANGES = {"SPY": "ARCA", "QQQ": "NASDAQ", "IWM": "ARCA", "DIA": "ARCA"}


def ts(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def num(value: float | None) -> str | None:
    if value is None:
        return None
    text = f"{round(value, 6):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def error(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message}


def order(o: EmulatedOrder, *, nested: bool = True) -> dict[str, Any]:
    legs = [order(leg) for leg in o.legs] if nested and o.legs else None
    return {
        "id": o.id,
        "client_order_id": o.client_order_id,
        "created_at": ts(o.submitted_at),
        "updated_at": ts(o.updated_at),
        "submitted_at": ts(o.submitted_at),
        "filled_at": ts(o.filled_at),
        "expired_at": ts(o.expired_at),
        "canceled_at": ts(o.canceled_at),
        "failed_at": None,
        "replaced_at": None,
        "replaced_by": None,
        "replaces": None,
        "asset_id": _asset_id(o.symbol),
        "symbol": o.symbol,
        "asset_class": o.asset_class,
        "notional": None,
        "qty": str(o.qty),
        "filled_qty": str(o.filled_qty),
        "filled_avg_price": num(o.filled_avg_price),
        "order_class": o.order_class,
        "order_type": o.type,
        "type": o.type,
        "side": o.side,
        "time_in_force": o.time_in_force,
        "limit_price": num(o.limit_price),
        "stop_price": num(o.stop_price),
        "status": o.status,
        "extended_hours": False,
        "legs": legs,
        "trail_percent": None,
        "trail_price": None,
        "hwm": None,
    }


def _asset_id(symbol: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"alpaca-emulator/asset/{symbol}"))


def position(book: AlpacaBook, p: EmulatedPosition) -> dict[str, Any]:
    mark = book.mark(p)
    mult = MULTIPLIER[p.asset_class]
    market_value = p.qty * mark * mult
    cost_basis = p.qty * p.avg_entry_price * mult
    unrealized = market_value - cost_basis
    exit_side = "sell" if p.qty > 0 else "buy"
    available = abs(p.qty) - book.reserved(p.symbol, exit_side)
    return {
        "asset_id": _asset_id(p.symbol),
        "symbol": p.symbol,
        "exchange": "" if p.asset_class == OPTION else EXCHANGES.get(p.symbol, "NYSE"),
        "asset_class": p.asset_class,
        "avg_entry_price": num(p.avg_entry_price),
        "qty": str(p.qty),
        "qty_available": str(max(available, 0) * (1 if p.qty > 0 else -1)),
        "side": "long" if p.qty > 0 else "short",
        "market_value": num(market_value),
        "cost_basis": num(cost_basis),
        "unrealized_pl": num(unrealized),
        "unrealized_plpc": num(unrealized / abs(cost_basis) if cost_basis else 0.0),
        "unrealized_intraday_pl": num(unrealized),
        "unrealized_intraday_plpc": num(unrealized / abs(cost_basis) if cost_basis else 0.0),
        "current_price": num(mark),
        "lastday_price": num(mark),
        "change_today": "0",
    }


def account(book: AlpacaBook, *, created_at: datetime, last_equity: float) -> dict[str, Any]:
    long_mv, short_mv = book.market_values()
    equity = book.equity()
    buying_power = book.buying_power()
    return {
        "account_blocked": False,
        "account_number": "PA3EMULATOR",
        "buying_power": num(buying_power),
        "cash": num(book.cash),
        "created_at": ts(created_at),
        "currency": "USD",
        "daytrade_count": 0,
        "daytrading_buying_power": num(buying_power),
        "equity": num(equity),
        "id": ACCOUNT_ID,
        "initial_margin": num((long_mv - short_mv) / 2),
        "last_equity": num(last_equity),
        "last_maintenance_margin": "0",
        "long_market_value": num(long_mv),
        "maintenance_margin": num((long_mv - short_mv) / 4),
        "multiplier": str(book.multiplier),
        "pattern_day_trader": False,
        "portfolio_value": num(equity),
        "regt_buying_power": num(buying_power),
        "short_market_value": num(short_mv),
        "shorting_enabled": book.shorting_enabled,
        "sma": "0",
        "status": "ACTIVE",
        "trade_suspended_by_user": False,
        "trading_blocked": False,
        "transfers_blocked": False,
    }


def clock(now: datetime, calendar: MarketCalendar) -> dict[str, Any]:
    today = now.astimezone(NEW_YORK).date()
    session = calendar.session(today)
    is_open = session is not None and session.contains(now)
    if session is not None and now < session.open:
        upcoming = session
    else:
        upcoming = calendar.next_session(today)
    closing = session if session is not None and now < session.close else upcoming
    return {
        "timestamp": _new_york(now),
        "is_open": is_open,
        "next_open": _new_york(upcoming.open),
        "next_close": _new_york(closing.close),
    }


def _new_york(value: datetime) -> str:
    return value.astimezone(NEW_YORK).isoformat()


def calendar_day(session: Session) -> dict[str, Any]:
    local = session.day
    return {
        "date": local.isoformat(),
        "open": session.open.astimezone(NEW_YORK).strftime("%H:%M"),
        "close": session.close.astimezone(NEW_YORK).strftime("%H:%M"),
        "session_open": "0400",
        "session_close": "2000",
    }


def option_contract(contract: OptionContract) -> dict[str, Any]:
    right = contract.right.value
    label = (
        f"{contract.underlying} {contract.expiry:%b %d %Y} {num(contract.strike)} {right.title()}"
    )
    return {
        "id": _asset_id(contract.symbol),
        "symbol": contract.symbol,
        "name": label,
        "status": "active",
        "tradable": True,
        "expiration_date": contract.expiry.isoformat(),
        "root_symbol": contract.underlying,
        "underlying_symbol": contract.underlying,
        "underlying_asset_id": _asset_id(contract.underlying),
        "type": right,
        "style": "american",
        "strike_price": num(contract.strike),
        "multiplier": "100",
        "size": "100",
        "open_interest": None,
        "open_interest_date": None,
        "close_price": None,
        "close_price_date": None,
    }


def option_quote(bid: float, ask: float, at: datetime) -> dict[str, Any]:
    return {"t": ts(at), "ax": "C", "ap": ask, "as": 10, "bx": "C", "bp": bid, "bs": 10, "c": "A"}
