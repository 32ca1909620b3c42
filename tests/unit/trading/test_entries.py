"""Signal -> sized OrderIntent: contract choice, the risk budget, the typed reasons not to send."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.config.strategies import OptionRules
from maxtrader.domain.broker import OptionChain
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import (
    Direction,
    Instrument,
    OptionRight,
    OrderPurpose,
    OrderSide,
    Regime,
    Signal,
)
from maxtrader.domain.options import OptionContract, OptionQuote, occ_symbol
from maxtrader.domain.safety.context import AccountFlags
from maxtrader.trading.entries import (
    NotSent,
    NotSentReason,
    SizedEntry,
    choose_contract,
    entry_market,
    size_entry,
)

TS = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)
DAY = date(2024, 6, 3)
RULES = OptionRules()  # 1 % of equity capped at $500; $0.65 a contract; 10 % max spread


def signal(side: Direction = Direction.LONG, entry: float = 500.0, risk: float = 1.0) -> Signal:
    sign = 1.0 if side is Direction.LONG else -1.0
    return Signal.create(
        strategy="wave_renko",
        symbol="SPY",
        side=side,
        entry=entry,
        stop=entry - sign * risk,
        target=entry + sign * 2 * risk,
        bar_ts=TS,
        regime=Regime.NORMAL_VOL,
    )


def quote(
    strike: float, bid: float, ask: float, right: OptionRight = OptionRight.CALL
) -> OptionQuote:
    contract = OptionContract(
        symbol=occ_symbol("SPY", DAY, right, strike),
        underlying="SPY",
        right=right,
        strike=strike,
        expiry=DAY,
    )
    return OptionQuote(contract=contract, bid=bid, ask=ask)


def chain(*quotes: OptionQuote, underlying: str = "SPY") -> OptionChain:
    return OptionChain(underlying=underlying, expiry=DAY, as_of=TS, quotes=quotes)


def sized(result: SizedEntry | NotSent) -> SizedEntry:
    assert isinstance(result, SizedEntry), result
    return result


class TestChooseContract:
    def test_the_right_follows_the_signal_and_the_nearest_strike_wins(self) -> None:
        snapshot = chain(
            quote(500.0, 1.00, 1.04),
            quote(501.0, 0.60, 0.64),
            quote(500.0, 1.10, 1.14, OptionRight.PUT),
            quote(501.0, 1.50, 1.54, OptionRight.PUT),
        )
        long_pick = choose_contract(
            signal(), snapshot, underlying_price=500.3, today=DAY, rules=RULES
        )
        short_pick = choose_contract(
            signal(Direction.SHORT), snapshot, underlying_price=500.7, today=DAY, rules=RULES
        )
        assert long_pick is not None and long_pick.contract.strike == 500.0
        assert long_pick.contract.right is OptionRight.CALL
        assert short_pick is not None and short_pick.contract.strike == 501.0
        assert short_pick.contract.right is OptionRight.PUT

    def test_a_refused_spread_falls_to_the_next_strike_and_none_when_all_fail(self) -> None:
        wide = quote(500.0, 0.10, 0.30)  # spread 0.20 > 10 % of mid 0.20
        fine = quote(501.0, 0.60, 0.64)
        pick = choose_contract(
            signal(), chain(wide, fine), underlying_price=500.1, today=DAY, rules=RULES
        )
        assert pick == fine
        assert (
            choose_contract(signal(), chain(wide), underlying_price=500.1, today=DAY, rules=RULES)
            is None
        )
        assert (
            choose_contract(signal(), chain(), underlying_price=500.0, today=DAY, rules=RULES)
            is None
        )

    def test_a_chain_of_another_underlying_is_refused(self) -> None:
        with pytest.raises(InvalidInputError, match="QQQ chain was given for a SPY signal"):
            choose_contract(
                signal(), chain(underlying="QQQ"), underlying_price=500.0, today=DAY, rules=RULES
            )


class TestSizeEntry:
    def test_an_option_buys_the_contracts_the_budget_pays_for_at_the_ask(self) -> None:
        pick = quote(500.0, 1.00, 1.04)
        out = sized(
            size_entry(
                signal(),
                instrument=Instrument.OPTION,
                equity=100_000.0,
                rules=RULES,
                last_price=500.0,
                contract=pick,
            )
        )
        intent = out.intent
        assert intent.qty == 4  # floor(500 / 104)
        assert (intent.symbol, intent.underlying) == (pick.contract.symbol, "SPY")
        assert intent.side is OrderSide.BUY and intent.purpose is OrderPurpose.ENTRY
        assert intent.est_price == intent.limit_price == 1.04
        assert intent.fees == pytest.approx(4 * 0.65)
        assert out.risk == pytest.approx(1.04 * 4 * 100 + 4 * 0.65)
        assert out.last_price == 1.04 and out.quote == pick
        assert intent.client_order_id == f"mt-{intent.signal_id}-entry"

    def test_a_short_signal_buys_a_put_but_an_equity_short_sells(self) -> None:
        put = quote(500.0, 1.00, 1.04, OptionRight.PUT)
        opt = sized(
            size_entry(
                signal(Direction.SHORT),
                instrument=Instrument.OPTION,
                equity=100_000.0,
                rules=RULES,
                last_price=500.0,
                contract=put,
            )
        )
        eq = sized(
            size_entry(
                signal(Direction.SHORT),
                instrument=Instrument.EQUITY,
                equity=100_000.0,
                rules=RULES,
                last_price=500.0,
            )
        )
        assert opt.intent.side is OrderSide.BUY
        assert eq.intent.side is OrderSide.SELL and eq.intent.qty == 500  # $500 / $1 risk
        assert eq.intent.limit_price is None and eq.intent.fees == 0.0
        assert eq.risk == pytest.approx(500.0) and eq.last_price == 500.0

    def test_the_budget_is_one_percent_of_equity_below_the_cap(self) -> None:
        out = sized(
            size_entry(
                signal(risk=2.0),
                instrument=Instrument.EQUITY,
                equity=30_000.0,
                rules=RULES,
                last_price=500.0,
            )
        )
        assert out.intent.qty == 150  # $300 budget / $2 risk

    def test_no_contract_and_below_one_unit_are_typed_reasons(self) -> None:
        none = size_entry(
            signal(), instrument=Instrument.OPTION, equity=1e5, rules=RULES, last_price=500.0
        )
        assert isinstance(none, NotSent) and none.reason is NotSentReason.NO_CONTRACT
        dear = size_entry(
            signal(),
            instrument=Instrument.OPTION,
            equity=1e5,
            rules=RULES,
            last_price=500.0,
            contract=quote(480.0, 20.0, 20.4),  # $2,040 a contract > $500
        )
        assert isinstance(dear, NotSent) and dear.reason is NotSentReason.BELOW_ONE_UNIT
        broke = size_entry(
            signal(), instrument=Instrument.EQUITY, equity=-5.0, rules=RULES, last_price=500.0
        )
        assert isinstance(broke, NotSent) and broke.reason is NotSentReason.BELOW_ONE_UNIT
        assert NotSentReason.NO_CONTRACT.value == "no_tradeable_contract"

    def test_the_exact_budget_still_buys(self) -> None:
        out = sized(
            size_entry(
                signal(),
                instrument=Instrument.OPTION,
                equity=1e5,
                rules=RULES,
                last_price=500.0,
                contract=quote(500.0, 4.9, 5.0),  # exactly $500 a contract
            )
        )
        assert out.intent.qty == 1

    def test_non_finite_equity_is_refused(self) -> None:
        with pytest.raises(InvalidInputError, match="equity must be finite"):
            size_entry(
                signal(), instrument=Instrument.EQUITY, equity=math.nan, rules=RULES, last_price=1.0
            )


def test_entry_market_carries_the_sized_price_and_the_signal_reward_risk() -> None:
    out = sized(
        size_entry(
            signal(), instrument=Instrument.EQUITY, equity=1e5, rules=RULES, last_price=500.1
        )
    )
    market = entry_market(
        out,
        signal(),
        regime=Regime.NORMAL_VOL,
        equity=1e5,
        start_of_day_equity=99_000.0,
        account=AccountFlags(),
        buying_power=4e5,
    )
    assert market.last_price == 500.1 and market.reward_risk == pytest.approx(2.0)
    assert market.buying_power == 4e5
    assert market.start_of_day_equity == 99_000.0 and market.regime is Regime.NORMAL_VOL


money = st.floats(min_value=1.0, max_value=5e6, allow_nan=False)


@pytest.mark.property
@settings(max_examples=300, deadline=None)
@given(equity=money, ask=st.floats(0.01, 60.0), risk=st.floats(0.01, 40.0))
def test_sizing_never_exceeds_the_budget_and_wastes_no_unit(equity, ask, risk):
    budget = min(RULES.risk_pct * equity, RULES.risk_abs)
    opt = size_entry(
        signal(risk=risk),
        instrument=Instrument.OPTION,
        equity=equity,
        rules=RULES,
        last_price=500.0,
        contract=quote(500.0, max(ask - 0.01, 0.0), ask),
    )
    eq = size_entry(
        signal(risk=risk),
        instrument=Instrument.EQUITY,
        equity=equity,
        rules=RULES,
        last_price=500.0,
    )
    for result, unit in (
        (opt, ask * 100),
        (eq, abs(signal(risk=risk).entry - signal(risk=risk).stop)),
    ):
        if isinstance(result, NotSent):
            assert unit > budget  # not even one unit fits
            continue
        qty = result.intent.qty
        assert qty * unit <= budget + 1e-9
        assert (qty + 1) * unit > budget  # and no whole unit is left on the table
