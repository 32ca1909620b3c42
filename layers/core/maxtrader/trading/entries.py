"""Entries: a signal -> a sized ``OrderIntent``, or the typed reason it is not sent.

    choose_contract(signal, chain, *, underlying_price, today, rules) -> OptionQuote | None
        ``chain``: an OptionChain snapshot (domain/broker.py; live: ``Broker.option_chain``)
    size_entry(signal, *, instrument, equity, rules, last_price, contract=None)
        -> SizedEntry | NotSent
    entry_market(sized, signal, *, regime, equity, start_of_day_equity, account, buying_power)

Sizing (specs/strategies.md, "Instrument"): the risk budget is ``min(risk_pct x equity,
risk_abs)``. An option entry buys the chosen contract at its ask, floor(budget / (ask x 100))
contracts, commission per contract; an equity entry buys (long) or sells short (short) the shares
whose risk ``qty x |entry - stop|`` fits the budget, at the last price. Both drivers call these:
the backtester with its modelled chain, live with the broker's ``option_chain`` snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from maxtrader.config.strategies import OptionRules
from maxtrader.domain.broker import OptionChain
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import (
    Direction,
    Instrument,
    OptionRight,
    OrderIntent,
    OrderPurpose,
    OrderSide,
    Regime,
    Signal,
    client_order_id,
)
from maxtrader.domain.options import MULTIPLIER, OptionQuote, contracts_for_budget, select_contract
from maxtrader.domain.safety.context import AccountFlags, MarketContext
from maxtrader.domain.sizing import risk_budget, shares_for_risk

__all__ = [
    "NotSent",
    "NotSentReason",
    "SizedEntry",
    "choose_contract",
    "entry_market",
    "option_right",
    "size_entry",
]


class NotSentReason(StrEnum):
    """Why a signal never reached the safety layer (counted beside its rejections)."""

    NO_CONTRACT = "no_tradeable_contract"
    BELOW_ONE_UNIT = "size_below_one_unit"


@dataclass(frozen=True, slots=True)
class NotSent:
    reason: NotSentReason
    detail: str


@dataclass(frozen=True, slots=True)
class SizedEntry:
    """An entry ready for ``SafetyEngine.reserve``.

    ``risk`` is what the trade can lose as sized: the premium paid plus the entry commission
    (options), or ``qty x |entry - stop|`` plus fees (equity).
    ``last_price`` is the price the safety layer compares the order with (check ``price``).
    """

    intent: OrderIntent
    quote: OptionQuote | None
    risk: float
    last_price: float


def option_right(side: Direction) -> OptionRight:
    """A long signal buys a call, a short signal buys a put."""
    return OptionRight.CALL if side is Direction.LONG else OptionRight.PUT


def choose_contract(
    signal: Signal,
    chain: OptionChain,
    *,
    underlying_price: float,
    today: date,
    rules: OptionRules,
) -> OptionQuote | None:
    """The contract ``signal`` buys from a chain snapshot (None: none is tradeable): the right
    of its side, the nearest strike, spread and ask rules of ``rules`` (domain/options.py)."""
    if chain.underlying != signal.symbol:
        raise InvalidInputError(
            f"a {chain.underlying} chain was given for a {signal.symbol} signal"
        )
    return select_contract(
        chain.quotes,
        underlying_price=underlying_price,
        right=option_right(signal.side),
        today=today,
        min_dte=rules.min_dte,
        max_spread_pct=rules.max_spread_pct,
    )


def size_entry(
    signal: Signal,
    *,
    instrument: Instrument,
    equity: float,
    rules: OptionRules,
    last_price: float,
    contract: OptionQuote | None = None,
) -> SizedEntry | NotSent:
    """Size ``signal`` for ``equity``. ``contract`` is ``choose_contract``'s pick (options);
    ``last_price`` is the underlying's last trade (an option intent carries it: the safety layer
    measures an option's reward/risk on the underlying's levels)."""
    budget = risk_budget(equity, rules)
    limit: float | None
    if instrument is Instrument.OPTION:
        if contract is None:
            return NotSent(NotSentReason.NO_CONTRACT, f"no tradeable {signal.symbol} contract")
        ask = contract.ask
        qty = contracts_for_budget(budget, ask)
        price, fees, limit, last = ask, rules.option_commission * qty, ask, ask
        symbol, side = contract.contract.symbol, OrderSide.BUY
    else:
        qty = shares_for_risk(budget, signal.entry, signal.stop)
        price, fees, limit, last = last_price, 0.0, None, last_price
        symbol = signal.symbol
        side = OrderSide.BUY if signal.side is Direction.LONG else OrderSide.SELL
    if qty < 1:
        return NotSent(
            NotSentReason.BELOW_ONE_UNIT, f"a budget of {budget:.2f} buys no {instrument.value}"
        )
    if instrument is Instrument.OPTION:
        risk = price * qty * MULTIPLIER + fees
    else:
        risk = qty * abs(signal.entry - signal.stop) + fees
    intent = OrderIntent(
        client_order_id=client_order_id(signal.id, OrderPurpose.ENTRY),
        signal_id=signal.id,
        strategy=signal.strategy,
        symbol=symbol,
        underlying=signal.symbol,
        side=side,
        purpose=OrderPurpose.ENTRY,
        instrument=instrument,
        qty=qty,
        est_price=price,
        limit_price=limit,
        stop=signal.stop,
        target=signal.target,
        underlying_price=last_price if instrument is Instrument.OPTION else None,
        fees=fees,
    )
    return SizedEntry(intent=intent, quote=contract, risk=risk, last_price=last)


def entry_market(
    sized: SizedEntry,
    signal: Signal,
    *,
    regime: Regime,
    equity: float,
    start_of_day_equity: float | None,
    account: AccountFlags,
    buying_power: float | None,
) -> MarketContext:
    """What the safety layer sees of the market beside the intent (``buying_power``: the
    broker's; None fails the notional check closed). ``equity`` and ``start_of_day_equity``
    are cross-checks of the engine's stored figures (None: no cross-check)."""
    return MarketContext(
        regime=regime,
        equity=equity,
        start_of_day_equity=start_of_day_equity,
        last_price=sized.last_price,
        reward_risk=signal.reward_risk,
        account=account,
        buying_power=buying_power,
    )
