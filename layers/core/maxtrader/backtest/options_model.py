"""Option prices in backtests: the domain's Black-Scholes model applied to a synthetic contract.

No historical option quotes exist for the replayed data, so (specs/strategies.md):
- the contract is the one selection would pick from a daily-expiry chain with ``strike_step``
  strikes: nearest strike, nearest expiry >= ``min_dte`` (``options.synthetic_contract``);
- mid = Black-Scholes (rate 0), IV = prior daily VIX close / 100 x ``iv_scale[underlying]``, time
  in trading minutes / (390 x 252); bid/ask = mid -/+ max($0.01, ``option_half_spread_pct`` x mid);
  a contract whose ask is 0 or whose spread exceeds ``max_spread_pct`` of mid is not bought;
- commission ``option_commission`` per contract per side.
IV is held for the whole session (no intraday VIX): the model has no volatility smile and no
intraday vol moves, which is its main approximation.

``price`` is the hot path (every bar a position is open): plain floats, the minutes to expiry
derived from the ones computed at the contract's first quote, no model construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from maxtrader.config.strategies import OptionRules
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.models import Direction, OptionRight
from maxtrader.domain.options import (
    MINUTES_PER_YEAR,
    OptionContract,
    black_scholes,
    contracts_for_budget,
    implied_vol,
    modelled_bid_ask,
    spread_ok,
    synthetic_contract,
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

    def open(
        self,
        underlying: str,
        side: Direction,
        *,
        spot: float,
        now: datetime,
        vix: float | None,
        day: date,
    ) -> tuple[PricedContract, Quote] | None:
        """The contract a signal buys and its quote now; None when no contract qualifies."""
        if vix is None or not vix > 0:
            return None
        right = OptionRight.CALL if side is Direction.LONG else OptionRight.PUT
        contract = synthetic_contract(
            underlying,
            spot,
            right,
            day,
            self.calendar,
            min_dte=self.rules.min_dte,
            strike_step=self.strike_step,
        )
        minutes = trading_minutes_to_expiry(now, contract.expiry, self.calendar)
        priced = PricedContract(contract, implied_vol(vix, underlying, self.rules), now, minutes)
        quote = self.price(priced, spot, now)
        if not spread_ok(quote.bid, quote.ask, self.rules.max_spread_pct):
            return None
        return priced, quote

    def price(self, priced: PricedContract, spot: float, now: datetime) -> Quote:
        """The quote at ``now`` (same session as the anchor or later on the same day)."""
        minutes = priced.anchor_minutes - (now - priced.anchor).total_seconds() / 60.0
        years = max(minutes, 0.0) / MINUTES_PER_YEAR
        c = priced.contract
        mid = black_scholes(spot, c.strike, years, priced.vol, c.right)
        bid, ask = modelled_bid_ask(mid, self.rules.option_half_spread_pct)
        return Quote(bid=bid, ask=ask, mid=mid)

    def contracts_for_budget(self, budget: float, ask: float) -> int:
        return contracts_for_budget(budget, ask)
