"""The synthetic session: deterministic, valid, U-shaped, and routed to a traded regime."""

from __future__ import annotations

from datetime import date, timedelta
from statistics import mean

import pytest

from maxtrader.domain.calendar import MarketCalendar
from maxtrader.simulate.synthetic import DEFAULT_DAY, synthetic_session, u_shape

CAL = MarketCalendar.xnys()


def test_the_same_seed_gives_the_same_bars_and_another_seed_other_bars() -> None:
    first, again = synthetic_session(), synthetic_session()
    assert first.bars == again.bars and first.vix_daily == again.vix_daily
    other = synthetic_session(seed=7)
    assert other.bars["SPY"] != first.bars["SPY"]


def test_every_bar_is_a_whole_minute_of_the_session_and_consistent() -> None:
    session = synthetic_session()
    day = CAL.session(DEFAULT_DAY)
    assert day is not None
    for symbol, bars in session.day_bars.items():
        assert len(bars) == 390, symbol
        assert [b.ts for b in bars] == [day.open + timedelta(minutes=m) for m in range(390)]
        for b in bars:
            assert b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high
            assert b.volume > 0 and b.vwap is not None and b.low <= b.vwap <= b.high


def test_history_days_are_the_prior_sessions() -> None:
    session = synthetic_session(history_days=3)
    days = sorted({b.ts.date() for b in session.bars["SPY"]})
    assert days[-1] == DEFAULT_DAY
    assert days[:-1] == [s.day for s in CAL.previous_sessions(DEFAULT_DAY, 3)]
    assert set(session.vix_daily) == set(days)


def test_volume_and_range_are_u_shaped_over_the_day() -> None:
    bars = synthetic_session().day_bars["SPY"]
    volume = [b.volume for b in bars]
    ranges = [b.high - b.low for b in bars]
    open_v, lunch_v, close_v = mean(volume[:30]), mean(volume[180:240]), mean(volume[-30:])
    assert open_v > 1.8 * lunch_v and close_v > 1.5 * lunch_v
    assert mean(ranges[:30]) > 1.2 * mean(ranges[180:240])
    assert u_shape(0) > u_shape(200) < u_shape(389)


def test_the_vix_routes_the_day_to_ultra_low_vol() -> None:
    session = synthetic_session()
    prior = max(d for d in session.vix_daily if d < session.day)
    assert 8 <= session.vix_daily[prior] < 13  # configs/strategies.yaml: ULTRA_LOW_VOL
    day = CAL.session(session.day)
    assert day is not None
    assert len(session.vix_minutes) == 60 + 390  # the index prints from 08:30
    assert session.vix_minutes[0].ts == day.open - timedelta(minutes=60)


def test_a_non_session_day_and_an_unknown_symbol_are_refused() -> None:
    with pytest.raises(ValueError, match="not an XNYS session"):
        synthetic_session(date(2024, 6, 15))  # a Saturday
    with pytest.raises(ValueError, match="no synthetic profile"):
        synthetic_session(symbols=("IWM",))


def test_an_early_close_session_has_its_short_day() -> None:
    session = synthetic_session(date(2024, 7, 3))  # closes 13:00 New York
    assert len(session.day_bars["SPY"]) == 210
