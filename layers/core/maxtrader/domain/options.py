"""Options: contract selection over a chain, Black-Scholes backtest pricing, contract sizing.

Public API
    OptionContract, OptionQuote           plain validated models (a chain is a list of quotes)
    occ_symbol(underlying, expiry, right, strike) -> str        e.g. SPY250314C00562000
    select_contract(chain, *, underlying_price, right, today, min_dte, max_spread_pct)
        -> OptionQuote | None: among contracts of ``right`` with >= min_dte days left whose ask is
        > 0 and whose spread is <= max_spread_pct of mid: the nearest expiry, then the strike
        nearest the underlying (a tie goes to the in-the-money strike: higher delta).
    black_scholes(spot, strike, years, vol, right) -> float     (rate 0, as the spec says)
    bs_delta(...) -> float
    trading_minutes_to_expiry(now, expiry, calendar) -> float   RTH minutes until expiry's close
    years_to_expiry(minutes) = minutes / (390 * 252)
    implied_vol(vix, underlying, rules) = vix / 100 * iv_scale[underlying] (1.0 if not listed)
    half_spread(mid, pct) = max(0.01, pct * mid)
    modelled_bid_ask(mid, pct) -> (bid, ask)                    mid -/+ half_spread, bid >= 0
    spread_ok(bid, ask, max_spread_pct) -> bool        one spread rule for live and backtest
    backtest_quote(contract, *, spot, vix, now, calendar, rules) -> OptionQuote
    nearest_expiry(day, calendar, *, min_dte) -> date     the expiry an entry's chain is read for
    synthetic_contract(underlying, spot, right, day, calendar, *, min_dte, strike_step=1.0)
        The contract selection would pick from a daily-expiry chain with ``strike_step`` strikes
        (SPY/QQQ list expiries every session): for backtests, where no historical chain exists.
    contracts_for_budget(budget, ask) -> int                    floor(budget / (ask * 100))
    commission(contracts, rules) -> float                       per contract per side
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated, Self

from pydantic import Field, model_validator

from maxtrader.config.strategies import OptionRules
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import DomainModel, OptionRight, Price, Symbol

MULTIPLIER = 100
MINUTES_PER_YEAR = 390 * 252
MIN_HALF_SPREAD = 0.01
NonNegativePrice = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class OptionContract(DomainModel):
    symbol: Symbol  # OCC symbol
    underlying: Symbol
    right: OptionRight
    strike: Price
    expiry: date


class OptionQuote(DomainModel):
    contract: OptionContract
    bid: NonNegativePrice
    ask: NonNegativePrice

    @model_validator(mode="after")
    def _ask_not_below_bid(self) -> Self:
        if self.ask and self.ask < self.bid:
            raise ValueError(f"ask ({self.ask}) is below bid ({self.bid})")
        return self

    @property
    def mid(self) -> float:
        return (self.bid + self.ask) / 2

    @property
    def spread(self) -> float:
        return self.ask - self.bid


def occ_symbol(underlying: str, expiry: date, right: OptionRight, strike: float) -> str:
    """OCC option symbol: root, YYMMDD, C/P, strike x 1000 on 8 digits."""
    if strike <= 0:
        raise InvalidInputError(f"strike must be positive, got {strike}")
    flag = "C" if right is OptionRight.CALL else "P"
    return f"{underlying}{expiry:%y%m%d}{flag}{round(strike * 1000):08d}"


def spread_ok(bid: float, ask: float, max_spread_pct: float) -> bool:
    """Ask above zero and spread within max_spread_pct of mid (live selection and backtests)."""
    # 1e-9: quotes are in cents; 1.05 - 0.95 must not fail a 10 % limit by float noise
    return ask > 0 and ask - bid <= max_spread_pct * (bid + ask) / 2 + 1e-9


def is_tradeable(quote: OptionQuote, max_spread_pct: float) -> bool:
    return spread_ok(quote.bid, quote.ask, max_spread_pct)


def select_contract(
    chain: Iterable[OptionQuote],
    *,
    underlying_price: float,
    right: OptionRight,
    today: date,
    min_dte: int,
    max_spread_pct: float,
) -> OptionQuote | None:
    """The contract to buy for a signal, or None when no listed contract qualifies."""
    if not underlying_price > 0:
        raise InvalidInputError(f"underlying_price must be positive, got {underlying_price}")
    itm_first = 1 if right is OptionRight.CALL else -1  # calls: lower strike ITM; puts: higher

    def key(q: OptionQuote) -> tuple[date, float, float]:
        c = q.contract
        return (c.expiry, abs(c.strike - underlying_price), itm_first * c.strike)

    eligible = [
        q
        for q in chain
        if q.contract.right is right
        and (q.contract.expiry - today).days >= min_dte
        and is_tradeable(q, max_spread_pct)
    ]
    return min(eligible, key=key) if eligible else None


def _norm_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _d1_d2(spot: float, strike: float, years: float, vol: float) -> tuple[float, float]:
    sd = vol * math.sqrt(years)
    d1 = (math.log(spot / strike) + 0.5 * sd * sd) / sd
    return d1, d1 - sd


def _check_inputs(spot: float, strike: float, years: float, vol: float) -> None:
    for name, value in (("spot", spot), ("strike", strike)):
        if not (math.isfinite(value) and value > 0):
            raise InvalidInputError(f"{name} must be positive and finite, got {value}")
    for name, value in (("years", years), ("vol", vol)):
        if not (math.isfinite(value) and value >= 0):
            raise InvalidInputError(f"{name} must be non-negative and finite, got {value}")


def black_scholes(
    spot: float, strike: float, years: float, vol: float, right: OptionRight
) -> float:
    """Black-Scholes price with rate 0 (and no dividends); intrinsic at expiry or zero vol."""
    _check_inputs(spot, strike, years, vol)
    if years == 0 or vol == 0:
        intrinsic = spot - strike if right is OptionRight.CALL else strike - spot
        return max(intrinsic, 0.0)
    d1, d2 = _d1_d2(spot, strike, years, vol)
    if right is OptionRight.CALL:
        return spot * _norm_cdf(d1) - strike * _norm_cdf(d2)
    return strike * _norm_cdf(-d2) - spot * _norm_cdf(-d1)


def bs_delta(spot: float, strike: float, years: float, vol: float, right: OptionRight) -> float:
    _check_inputs(spot, strike, years, vol)
    if years == 0 or vol == 0:
        itm = spot > strike if right is OptionRight.CALL else spot < strike
        return (1.0 if right is OptionRight.CALL else -1.0) if itm else 0.0
    d1, _ = _d1_d2(spot, strike, years, vol)
    return _norm_cdf(d1) if right is OptionRight.CALL else _norm_cdf(d1) - 1.0


def trading_minutes_to_expiry(now: datetime, expiry: date, calendar: MarketCalendar) -> float:
    """Regular-hours minutes from ``now`` to the close of the expiry day (early closes honoured)."""
    if now.tzinfo is None:
        raise InvalidInputError("now must be timezone-aware")
    total = 0.0
    for session in calendar.sessions_between(now.astimezone(NEW_YORK).date(), expiry):
        begin = max(now, session.open)
        if begin < session.close:
            total += (session.close - begin).total_seconds() / 60.0
    return total


def years_to_expiry(minutes: float) -> float:
    return max(minutes, 0.0) / MINUTES_PER_YEAR


def implied_vol(vix: float, underlying: str, rules: OptionRules) -> float:
    if not (math.isfinite(vix) and vix > 0):
        raise InvalidInputError(f"VIX must be positive and finite to price options, got {vix}")
    return vix / 100.0 * rules.iv_scale.get(underlying, 1.0)


def half_spread(mid: float, pct: float) -> float:
    return max(MIN_HALF_SPREAD, pct * mid)


def modelled_bid_ask(mid: float, half_spread_pct: float) -> tuple[float, float]:
    """Backtest quote around a model mid: mid -/+ half_spread, the bid floored at 0."""
    hs = half_spread(mid, half_spread_pct)
    return max(mid - hs, 0.0), mid + hs


def backtest_quote(
    contract: OptionContract,
    *,
    spot: float,
    vix: float,
    now: datetime,
    calendar: MarketCalendar,
    rules: OptionRules,
) -> OptionQuote:
    """The modelled quote: Black-Scholes mid +/- half-spread (bid floored at 0)."""
    years = years_to_expiry(trading_minutes_to_expiry(now, contract.expiry, calendar))
    vol = implied_vol(vix, contract.underlying, rules)
    mid = black_scholes(spot, contract.strike, years, vol, contract.right)
    bid, ask = modelled_bid_ask(mid, rules.option_half_spread_pct)
    return OptionQuote(contract=contract, bid=bid, ask=ask)


def nearest_expiry(day: date, calendar: MarketCalendar, *, min_dte: int) -> date:
    """The first session on or after ``day`` at least ``min_dte`` calendar days away (SPY/QQQ
    list an expiry every session): the chain an entry asks the broker for."""
    expiry = day if calendar.session(day) is not None else calendar.next_session(day).day
    while (expiry - day).days < min_dte:
        expiry = calendar.next_session(expiry).day
    return expiry


def synthetic_contract(
    underlying: str,
    spot: float,
    right: OptionRight,
    day: date,
    calendar: MarketCalendar,
    *,
    min_dte: int,
    strike_step: float = 1.0,
) -> OptionContract:
    """Nearest strike on a ``strike_step`` grid, nearest session expiry >= min_dte days away."""
    if not (spot > 0 and strike_step > 0):
        raise InvalidInputError("spot and strike_step must be positive")
    expiry = nearest_expiry(day, calendar, min_dte=min_dte)
    lower = math.floor(spot / strike_step) * strike_step
    upper = lower + strike_step
    # equidistant: the in-the-money strike, as select_contract does
    if right is OptionRight.CALL:
        strike = lower if spot - lower <= upper - spot else upper
    else:
        strike = upper if upper - spot <= spot - lower else lower
    strike = round(strike, 6)
    return OptionContract(
        symbol=occ_symbol(underlying, expiry, right, strike),
        underlying=underlying,
        right=right,
        strike=strike,
        expiry=expiry,
    )


def contracts_for_budget(budget: float, ask: float) -> int:
    """floor(budget / (ask x 100)), never rounding above the budget."""
    if not (math.isfinite(ask) and ask > 0):
        raise InvalidInputError(f"ask must be positive to size an option order, got {ask}")
    if not math.isfinite(budget) or budget <= 0:
        return 0
    n = math.floor(budget / (ask * MULTIPLIER))
    while n > 0 and n * ask * MULTIPLIER > budget:
        n -= 1
    return n


def commission(contracts: int, rules: OptionRules) -> float:
    """Commission of one side of an option order."""
    return contracts * rules.option_commission
