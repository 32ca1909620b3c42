"""What the caller tells the engine about the market and the account at decision time."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from maxtrader.domain.models import DomainModel, Price, Regime

PositiveMoney = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class AccountFlags(DomainModel):
    """The broker account's blocking flags (Alpaca names). Any one set blocks entries."""

    trading_blocked: bool = False
    account_blocked: bool = False
    trade_suspended_by_user: bool = False

    @property
    def blocked(self) -> tuple[str, ...]:
        return tuple(
            name
            for name in ("trading_blocked", "account_blocked", "trade_suspended_by_user")
            if getattr(self, name)
        )


class MarketContext(DomainModel):
    """Inputs of one entry decision.

    ``last_price`` is the last trade of the traded symbol (the option contract for options), for
    the price collar. ``equity``, ``start_of_day_equity`` and ``reward_risk`` are the caller's
    figures: the engine decides on its own (stored equity, stored start-of-day equity, the
    intent's levels) and only cross-checks these (checks/figures.py); None: nothing to check.
    ``buying_power`` is the broker's (None: unknown, fails closed). ``account=None`` means the
    flags are unknown, which fails closed like a set flag.
    """

    regime: Regime
    equity: PositiveMoney | None = None
    start_of_day_equity: PositiveMoney | None = None
    last_price: Price | None = None
    reward_risk: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    buying_power: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    account: AccountFlags | None = None
