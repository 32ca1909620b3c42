"""Option prices in backtests: the domain's Black-Scholes model applied to a synthetic contract.

No historical option quotes exist for the replayed data, so (specs/strategies.md):
- ``chain`` lists the two ``strike_step`` strikes around the underlying at the nearest expiry
  >= ``min_dte`` (SPY/QQQ list one every session), and the entry picks from it with the same
  ``trading.entries.choose_contract`` live applies to the broker's chain (nearest strike whose
  quote passes the spread rule);
- mid = Black-Scholes (rate 0), IV = prior daily VIX close / 100 x ``iv_scale[underlying]``, time
  in trading minutes / (390 x 252); bid/ask = mid -/+ max($0.01, ``option_half_spread_pct`` x mid);
  a contract whose ask is 0 or whose spread exceeds ``max_spread_pct`` of mid is not bought;
- commission ``option_commission`` per contract per side.
IV is the VIX the entry was decided with (the prior daily close, or the latest intraday reading
with ``--vix`` an intraday series), held for the position's life: the model has no volatility
smile and no intraday vol moves within a trade, which is its main approximation.

``price`` is the hot path (every bar a position is open): plain floats, the minutes to expiry
derived from the ones computed at the contract's first quote, no model construction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

from maxtrader.config.strategies import OptionRules
from maxtrader.domain.broker import OptionChain
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.models import OptionRight
from maxtrader.domain.options import (
    MINUTES_PER_YEAR,
    OptionContract,
    OptionQuote,
    black_scholes,
    implied_vol,
    modelled_bid_ask,
    nearest_expiry,
    occ_symbol,
    trading_minutes_to_expiry,
)


@dataclass(frozen=True, slots=True)
class PricedContract:
    """A contract with what its later quotes need: its vol and a minutes-to-expiry anchor."""

    contract: OptionContract
    vol: float
    anchor: datetime
    anchor_minutes: float

    @property
    def symbol(self) -> str:
        return self.contract.symbol


@dataclass(frozen=True, slots=True)
class Quote:
    bid: float
    ask: float
    mid: float


class OptionModel:
    def __init__(self, rules: OptionRules, strike_step: float, calendar: MarketCalendar) -> None:
        self.rules = rules
        self.strike_step = strike_step
        self.calendar = calendar
        self.commission = rules.option_commission

    def chain(
        self,
        underlying: str,
        right: OptionRight,
        *,
        spot: float,
        now: datetime,
        vix: float | None,
        day: date,
    ) -> tuple[OptionChain, dict[str, PricedContract]]:
        """The chain snapshot an entry chooses from: the two ``strike_step`` strikes around
        ``spot`` (``spot`` and the next one up when it is on a strike) of ``right`` at the
        nearest expiry, quoted now, with each contract's pricing anchor by symbol. Empty
        without a usable VIX (no option can be priced: the entry finds no tradeable contract)."""
        expiry = nearest_expiry(day, self.calendar, min_dte=self.rules.min_dte)
        if vix is None or not vix > 0:
            return OptionChain(underlying=underlying, expiry=expiry, as_of=now, quotes=()), {}
        vol = implied_vol(vix, underlying, self.rules)
        minutes = trading_minutes_to_expiry(now, expiry, self.calendar)
        lower = math.floor(spot / self.strike_step) * self.strike_step
        strikes = {round(lower, 6), round(lower + self.strike_step, 6)}
        quotes: list[OptionQuote] = []
        priced: dict[str, PricedContract] = {}
        for strike in sorted(strikes):
            contract = OptionContract(
                symbol=occ_symbol(underlying, expiry, right, strike),
                underlying=underlying,
                right=right,
                strike=strike,
                expiry=expiry,
            )
            p = PricedContract(contract, vol, now, minutes)
            q = self.price(p, spot, now)
            priced[contract.symbol] = p
            quotes.append(OptionQuote(contract=contract, bid=q.bid, ask=q.ask))
        chain = OptionChain(underlying=underlying, expiry=expiry, as_of=now, quotes=tuple(quotes))
        return chain, priced

    def price(self, priced: PricedContract, spot: float, now: datetime) -> Quote:
        """The quote at ``now`` (same session as the anchor or later on the same day)."""
        minutes = priced.anchor_minutes - (now - priced.anchor).total_seconds() / 60.0
        years = max(minutes, 0.0) / MINUTES_PER_YEAR
        c = priced.contract
        mid = black_scholes(spot, c.strike, years, priced.vol, c.right)
        bid, ask = modelled_bid_ask(mid, self.rules.option_half_spread_pct)
        return Quote(bid=bid, ask=ask, mid=mid)
