"""The replayed market quotes options with the backtester's model at the VIX the market is
printing, on the cent grid a broker quotes on: a live entry sizes from its backtest's quote."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from maxtrader.backtest.options_model import OptionModel
from maxtrader.config.loader import default_config_dir, load_strategies
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.models import Bar, OptionRight
from maxtrader.domain.options import backtest_quote, contracts_for_budget, occ_symbol
from maxtrader.emulators.alpaca import AlpacaEmulator
from maxtrader.emulators.massive import MassiveEmulator
from maxtrader.simulate.market import ReplayMarket, constant_vix_minutes, on_cent_grid
from maxtrader.simulate.synthetic import synthetic_session

CAL = MarketCalendar.xnys()
RULES = load_strategies(default_config_dir()).options
DAY = date(2024, 6, 12)
OPEN = datetime(2024, 6, 12, 13, 30, tzinfo=UTC)


def _bar(symbol: str, minute: int, close: float) -> Bar:
    return Bar(
        symbol=symbol,
        ts=OPEN + timedelta(minutes=minute),
        open=close,
        high=close + 0.05,
        low=close - 0.05,
        close=close,
        volume=1000,
    )


def _market(prior_close: float, prints: float) -> ReplayMarket:
    day = [_bar("QQQ", m, 457.27) for m in range(30)]
    return ReplayMarket(
        DAY,
        {"QQQ": day},
        {date(2024, 6, 11): prior_close},
        constant_vix_minutes(OPEN, 30, prints),
        RULES,
        CAL,
    )


def _emulators() -> tuple[AlpacaEmulator, MassiveEmulator]:
    clock = FixedClock(OPEN - timedelta(hours=1))
    return AlpacaEmulator(clock=clock, calendar=CAL), MassiveEmulator()


def test_quotes_are_the_backtest_model_at_the_latest_vix_print_on_the_cent_grid() -> None:
    market = _market(prior_close=11.0, prints=14.0)
    alpaca, massive = _emulators()
    market.prepare(alpaca, massive, OPEN - timedelta(minutes=5))
    bar = _bar("QQQ", 10, 457.27)
    market.feed_vix(massive, bar.closed_at)
    contract = alpaca.book.contracts[occ_symbol("QQQ", DAY, OptionRight.PUT, 457.0)]
    bid, ask = market.quote(contract, bar)
    model = backtest_quote(contract, spot=457.27, vix=14.0, now=bar.closed_at, calendar=CAL,
                           rules=RULES)  # fmt: skip
    assert model.bid - 0.01 < bid <= model.bid and model.ask <= ask < model.ask + 0.01
    assert round(bid * 100) == pytest.approx(bid * 100) and round(ask * 100) == pytest.approx(
        ask * 100
    )


@pytest.mark.parametrize(
    ("price", "down", "expected"),
    [(0.6317, False, 0.64), (0.6317, True, 0.63), (0.62, False, 0.62), (0.62, True, 0.62),
     (1.0049999, True, 1.0), (0.0, True, 0.0)],
)  # fmt: skip
def test_a_price_moves_to_the_cent_in_the_direction_asked(
    price: float, down: bool, expected: float
) -> None:
    assert on_cent_grid(price, down=down) == expected


def test_before_any_print_the_prior_close_prices_the_chain() -> None:
    market = _market(prior_close=11.0, prints=14.0)
    assert market.quote_vix == 11.0


def test_an_entry_sizes_the_same_contracts_live_and_in_the_backtest() -> None:
    """The synthetic day's short of 14:35 under the old quotes: the emulator priced it at the
    prior close (11.37, not the day's 11.6 prints the regime and the backtest use) with the ask
    rounded to the nearest cent, so live bought 8 contracts (premium 501.20 > 500: rejected)
    where the backtest bought 7 and was approved."""
    market = _market(prior_close=11.37, prints=11.6)
    alpaca, massive = _emulators()
    market.prepare(alpaca, massive, OPEN - timedelta(minutes=5))
    bar = Bar(symbol="QQQ", ts=datetime(2024, 6, 12, 18, 34, tzinfo=UTC), open=457.27,
              high=457.3, low=457.2, close=457.27, volume=1000)  # fmt: skip
    market.feed_vix(massive, bar.closed_at)
    model = OptionModel(RULES, 1.0, CAL)
    chain, _ = model.chain(
        "QQQ", OptionRight.PUT, spot=457.27, now=bar.closed_at, vix=11.6, day=DAY
    )
    put = next(q for q in chain.quotes if q.contract.strike == 457.0)
    _, live_ask = market.quote(alpaca.book.contracts[put.contract.symbol], bar)
    assert contracts_for_budget(500.0, live_ask) == contracts_for_budget(500.0, put.ask) == 7


def test_the_synthetic_day_prints_its_prior_close_all_day() -> None:
    session = synthetic_session()
    prior = session.vix_daily[max(d for d in session.vix_daily if d < session.day)]
    assert {b.close for b in session.vix_minutes} == {prior}
