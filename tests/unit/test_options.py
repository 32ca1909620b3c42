"""Options: contract selection rules, Black-Scholes sanity, backtest quotes and sizing."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.config.strategies import OptionRules
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.models import OptionRight
from maxtrader.domain.options import (
    OptionContract,
    OptionQuote,
    backtest_quote,
    black_scholes,
    bs_delta,
    commission,
    contracts_for_budget,
    occ_symbol,
    select_contract,
    synthetic_contract,
    trading_minutes_to_expiry,
    years_to_expiry,
)
from maxtrader.domain.sizing import risk_budget, shares_for_risk

CALL, PUT = OptionRight.CALL, OptionRight.PUT
TODAY = date(2025, 3, 14)
RULES = OptionRules()


def quote(
    strike: float, expiry: date, bid: float, ask: float, right: OptionRight = CALL
) -> OptionQuote:
    contract = OptionContract(
        symbol=occ_symbol("SPY", expiry, right, strike),
        underlying="SPY",
        right=right,
        strike=strike,
        expiry=expiry,
    )
    return OptionQuote(contract=contract, bid=bid, ask=ask)


def pick(
    chain: list[OptionQuote], spot: float = 562.79, right: OptionRight = CALL, min_dte: int = 0
) -> OptionQuote | None:
    return select_contract(
        chain, underlying_price=spot, right=right, today=TODAY, min_dte=min_dte, max_spread_pct=0.10
    )


def test_occ_symbol() -> None:
    assert occ_symbol("SPY", date(2025, 3, 14), CALL, 562) == "SPY250314C00562000"
    assert occ_symbol("QQQ", date(2025, 3, 17), PUT, 480.5) == "QQQ250317P00480500"


def test_nearest_expiry_then_nearest_strike() -> None:
    later = date(2025, 3, 17)
    chain = [
        quote(563, later, 2.00, 2.05),
        quote(560, TODAY, 3.00, 3.10),
        quote(563, TODAY, 1.00, 1.04),
        quote(570, TODAY, 0.20, 0.21),
    ]
    assert pick(chain) == chain[2]  # today's expiry first, then |563 - 562.79| is smallest


def test_min_dte_skips_near_expiries() -> None:
    later = date(2025, 3, 17)
    chain = [quote(563, TODAY, 1.00, 1.04), quote(563, later, 2.00, 2.05)]
    assert pick(chain, min_dte=1) == chain[1]
    assert pick(chain, min_dte=4) is None


def test_zero_ask_and_wide_spreads_are_skipped() -> None:
    chain = [
        quote(563, TODAY, 0.0, 0.0),  # no ask
        quote(562, TODAY, 1.00, 1.12),  # spread 0.12 > 10 % of mid 1.06
        quote(565, TODAY, 0.50, 0.54),  # spread 0.04 <= 0.052: ok
    ]
    assert pick(chain) == chain[2]
    exactly = quote(562, TODAY, 0.95, 1.05)  # spread 0.10 == 10 % of mid 1.00: allowed
    assert pick([exactly]) == exactly


def test_rights_are_not_mixed_and_ties_go_in_the_money() -> None:
    chain = [quote(562, TODAY, 1.0, 1.02, CALL), quote(563, TODAY, 1.0, 1.02, CALL)]
    chain += [quote(562, TODAY, 1.0, 1.02, PUT), quote(563, TODAY, 1.0, 1.02, PUT)]
    assert pick(chain, spot=562.5, right=CALL) == chain[0]
    assert pick(chain, spot=562.5, right=PUT) == chain[3]


def test_selection_on_the_real_chain_snapshot(shared_data: Path) -> None:
    import csv

    path = shared_data / "JRCon1_Options-Data-Retrieval" / "SPY_options_chain.csv"
    chain = []
    with path.open() as fh:
        for row in csv.DictReader(fh):
            sym = row["contractSymbol"]
            chain.append(
                OptionQuote(
                    contract=OptionContract(
                        symbol=sym,
                        underlying="SPY",
                        right=CALL if row["Option_Type"].lower().startswith("c") else PUT,
                        strike=float(row["strike"]),
                        expiry=date(2000 + int(sym[3:5]), int(sym[5:7]), int(sym[7:9])),
                    ),
                    bid=float(row["bid"]),
                    ask=float(row["ask"]),
                )
            )
    call = pick(chain, spot=562.79, right=CALL)
    put = pick(chain, spot=562.79, right=PUT)
    assert call is not None and put is not None
    for chosen, right in ((call, CALL), (put, PUT)):
        assert chosen.contract.right is right and chosen.ask > 0
        assert chosen.spread <= 0.10 * chosen.mid
        rivals = [
            q
            for q in chain
            if q.contract.right is right
            and q.contract.expiry == chosen.contract.expiry
            and q.ask > 0
            and q.spread <= 0.10 * q.mid
        ]
        best = min(abs(q.contract.strike - 562.79) for q in rivals)
        assert abs(chosen.contract.strike - 562.79) == best
        assert chosen.contract.expiry >= date(
            2025, 3, 17
        )  # the snapshot is after the close of the 14th


# --- Black-Scholes --------------------------------------------------------------------------

prices = st.floats(min_value=50, max_value=1000)
vols = st.floats(min_value=0.01, max_value=2.0)
years = st.floats(min_value=1e-5, max_value=2.0)


@settings(max_examples=300, deadline=None)
@given(spot=prices, strike=prices, t=years, vol=vols)
def test_put_call_parity_with_zero_rate(spot: float, strike: float, t: float, vol: float) -> None:
    call = black_scholes(spot, strike, t, vol, CALL)
    put = black_scholes(spot, strike, t, vol, PUT)
    assert call - put == pytest.approx(spot - strike, abs=1e-9 * max(spot, strike))
    assert call >= max(spot - strike, 0) - 1e-9 and put >= max(strike - spot, 0) - 1e-9
    assert call <= spot and put <= strike


@settings(max_examples=200, deadline=None)
@given(
    spot=prices,
    k=st.floats(min_value=0.8, max_value=1.2),
    t=years,
    vol=vols,
    right=st.sampled_from([CALL, PUT]),
)
def test_price_increases_with_vol_and_time(
    spot: float, k: float, t: float, vol: float, right: OptionRight
) -> None:
    strike = spot * k
    base = black_scholes(spot, strike, t, vol, right)
    assert black_scholes(spot, strike, t, vol * 1.1, right) >= base - 1e-12
    assert black_scholes(spot, strike, t * 1.1, vol, right) >= base - 1e-12


def test_known_value_and_limits() -> None:
    # ATM, r=0: C = S (2N(sigma sqrt(T)/2) - 1) ~ 0.4 S sigma sqrt(T)
    c = black_scholes(100, 100, 1.0, 0.2, CALL)
    assert c == pytest.approx(100 * (2 * 0.5 * math.erfc(-0.1 / math.sqrt(2)) - 1), rel=1e-12)
    assert c == pytest.approx(7.9655674, rel=1e-6)
    assert black_scholes(105, 100, 0, 0.2, CALL) == 5 and black_scholes(105, 100, 0, 0.2, PUT) == 0
    assert black_scholes(95, 100, 1.0, 0.0, PUT) == 5
    assert 0 < bs_delta(100, 100, 0.1, 0.2, CALL) < 1 and -1 < bs_delta(100, 100, 0.1, 0.2, PUT) < 0


@pytest.mark.parametrize(
    "bad", [dict(spot=0), dict(spot=math.nan), dict(strike=-1), dict(years=-1), dict(vol=math.inf)]
)
def test_bad_pricing_inputs_are_named(bad: dict[str, float]) -> None:
    args = dict(spot=100.0, strike=100.0, years=0.1, vol=0.2) | bad
    with pytest.raises(ValueError, match=next(iter(bad))):
        black_scholes(args["spot"], args["strike"], args["years"], args["vol"], CALL)


# --- time to expiry and backtest quotes ---------------------------------------------------------

CAL = MarketCalendar.xnys("2024-01-01", "2025-12-31")


def test_trading_minutes_to_expiry() -> None:
    now = datetime(2025, 3, 14, 19, 0, tzinfo=UTC)  # 15:00 New York
    assert trading_minutes_to_expiry(now, date(2025, 3, 14), CAL) == 60
    assert trading_minutes_to_expiry(now, date(2025, 3, 17), CAL) == 60 + 390  # weekend skipped
    assert (
        trading_minutes_to_expiry(datetime(2025, 3, 14, 21, tzinfo=UTC), date(2025, 3, 14), CAL)
        == 0
    )
    early = datetime(2024, 11, 29, 17, 0, tzinfo=UTC)  # 12:00 on the 13:00 early close
    assert trading_minutes_to_expiry(early, date(2024, 11, 29), CAL) == 60
    assert years_to_expiry(390 * 252) == 1.0


def test_backtest_quote_uses_vix_scale_half_spread_and_commission() -> None:
    contract = synthetic_contract("QQQ", 480.4, CALL, date(2025, 3, 14), CAL, min_dte=0)
    assert contract.strike == 480 and contract.expiry == date(2025, 3, 14)
    now = datetime(2025, 3, 14, 15, 0, tzinfo=UTC)  # 11:00 New York: 300 minutes left
    q = backtest_quote(contract, spot=480.4, vix=20.0, now=now, calendar=CAL, rules=RULES)
    mid = black_scholes(480.4, 480, 300 / (390 * 252), 0.20 * 1.2, CALL)
    assert q.mid == pytest.approx(mid)
    assert q.ask - q.mid == pytest.approx(max(0.01, 0.02 * mid))
    cheap = synthetic_contract("SPY", 500.0, PUT, date(2025, 3, 14), CAL, min_dte=0)
    cheap = cheap.model_copy(update={"strike": 450.0, "symbol": "SPY250314P00450000"})
    tiny = backtest_quote(cheap, spot=500, vix=12, now=now, calendar=CAL, rules=RULES)
    assert tiny.bid == 0 and tiny.ask == pytest.approx(0.01, abs=1e-6)  # model mid ~ 0
    assert commission(3, RULES) == pytest.approx(1.95)


def test_synthetic_contract_expiry_respects_min_dte_and_sessions() -> None:
    friday = date(2025, 3, 14)
    assert synthetic_contract("SPY", 562.79, PUT, friday, CAL, min_dte=1).expiry == date(
        2025, 3, 17
    )
    assert synthetic_contract("SPY", 562.79, PUT, friday, CAL, min_dte=0).strike == 563
    assert synthetic_contract("SPY", 562.5, CALL, friday, CAL, min_dte=0).strike == 562  # ITM tie


# --- sizing --------------------------------------------------------------------------------


def test_budget_and_contracts() -> None:
    assert risk_budget(20_000, RULES) == 200
    assert risk_budget(100_000, RULES) == 500  # capped at $500
    assert risk_budget(-5, RULES) == 0
    assert contracts_for_budget(500, 1.20) == 4  # 500 / 120 = 4.17
    assert contracts_for_budget(500, 6.00) == 0
    assert contracts_for_budget(0, 1.0) == 0
    with pytest.raises(ValueError, match="ask"):
        contracts_for_budget(500, 0.0)
    assert shares_for_risk(500, 100.0, 99.5) == 1000
    with pytest.raises(ValueError, match="differ"):
        shares_for_risk(500, 100.0, 100.0)


@settings(max_examples=300, deadline=None)
@given(
    budget=st.floats(min_value=0, max_value=1e5),
    entry=st.floats(min_value=1, max_value=1000),
    gap=st.floats(min_value=0.001, max_value=50),
    ask=st.floats(min_value=0.01, max_value=100),
)
def test_sizes_never_exceed_the_budget_and_are_maximal(
    budget: float, entry: float, gap: float, ask: float
) -> None:
    qty = shares_for_risk(budget, entry, entry - gap)
    risk = abs(entry - (entry - gap))
    assert qty * risk <= budget and (qty + 1) * risk > budget * (1 - 1e-12)
    n = contracts_for_budget(budget, ask)
    assert n * ask * 100 <= budget and (n + 1) * ask * 100 > budget * (1 - 1e-12)


def test_bad_option_inputs_are_named() -> None:
    with pytest.raises(ValueError, match="ask"):
        quote(560, TODAY, 1.10, 1.00)  # ask below bid
    with pytest.raises(ValueError, match="underlying_price"):
        pick([quote(560, TODAY, 1.0, 1.02)], spot=0.0)
    with pytest.raises(ValueError, match="strike"):
        occ_symbol("SPY", TODAY, CALL, 0)
    with pytest.raises(ValueError, match="VIX"):
        backtest_quote(
            quote(560, TODAY, 1.0, 1.02).contract,
            spot=560,
            vix=math.nan,
            now=datetime(2025, 3, 14, 15, 0, tzinfo=UTC),
            calendar=CAL,
            rules=RULES,
        )
    with pytest.raises(ValueError, match="timezone-aware"):
        trading_minutes_to_expiry(datetime(2025, 3, 14, 15, 0), TODAY, CAL)
    assert quote(560, TODAY, 0.5, 0.0).ask == 0  # no ask: allowed, and never selected
    assert pick([quote(560, TODAY, 0.5, 0.0)]) is None
