"""No look-ahead through the whole engine (real strategies, regime, safety layer, real SPY data):
a backtest on data cut at D and one on the full data agree on every trade entered before D."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from maxtrader.backtest.engine import Backtester
from maxtrader.backtest.results import BacktestResult
from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.models import Bar

from .real import real_spy
from .synth import CALENDAR, run_config

pytestmark = pytest.mark.xdist_group("backtest_real_data")  # load the year once per run

START, END = date(2024, 4, 1), date(2024, 5, 31)
FIRST_HISTORY = date(2024, 3, 26)


@pytest.fixture(scope="module")
def real() -> tuple[list[Bar], dict[date, float]]:
    return real_spy(END)


def _run(bars: list[Bar], vix: dict[date, float], *overrides: str) -> BacktestResult:
    return Backtester(run_config(*overrides), CALENDAR).run({"SPY": bars}, vix, start=START)


@pytest.fixture(scope="module")
def full(real):
    bars, vix = real
    return _run(bars, vix)


def test_the_window_trades(full):
    # The property below means something only if there are trades on both sides of the cuts.
    assert len(full.trades) >= 10
    assert {t.strategy for t in full.trades} == {"wave_renko", "vwap_reversion"}


@pytest.mark.parametrize("cut", [date(2024, 4, 22), date(2024, 5, 9), date(2024, 5, 24)])
def test_trades_entered_before_a_cut_day_are_identical(real, full, cut):
    bars, vix = real
    instant = datetime.combine(cut, time(0, 0), tzinfo=NEW_YORK)
    cut_result = _run([b for b in bars if b.ts < instant], vix)
    before = [t for t in full.trades if t.entry_time < instant]
    assert before, "no trade before the cut: the test would prove nothing"
    assert cut_result.trades == before
    assert cut_result.rejections == {k: v for k, v in _rejections_before(full, cut).items() if v}


EQUITY = (
    "strategies.wave_renko.instrument=equity",
    "strategies.vwap_mean_reversion.instrument=equity",
)


@pytest.fixture(scope="module")
def full_eq(real):
    return _run(*real, *EQUITY)


@pytest.mark.parametrize("cut_hhmm", ["11:07", "14:31"])
def test_an_intraday_cut_changes_nothing_that_closed_before_it(real, full_eq, cut_hhmm):
    bars, vix = real
    day = date(2024, 5, 15)
    h, m = map(int, cut_hhmm.split(":"))
    instant = datetime.combine(day, time(h, m), tzinfo=NEW_YORK).astimezone(UTC)
    cut_eq = _run([b for b in bars if b.ts < instant], vix, *EQUITY)
    closed = [t for t in full_eq.trades if t.exit_time < instant]
    assert len(closed) >= 5
    assert closed == [t for t in cut_eq.trades if t.exit_time < instant]


def _rejections_before(result: BacktestResult, cut: date) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in result.sessions:
        if s.day < cut:
            for k, v in s.rejections.items():
                out[k] = out.get(k, 0) + v
    return out
