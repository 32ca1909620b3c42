"""--vix as an intraday series: the regime moves bar by bar as live, exits continue across it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from maxtrader.backtest.engine import Backtester
from maxtrader.backtest.results import BacktestResult
from maxtrader.config.strategies import StrategiesConfig
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import Direction, Instrument, Regime
from maxtrader.domain.ports import VixReading
from tests.unit.backtest.synth import CALENDAR, Scripted, flat_session, ny, run_config

DAY = date(2024, 6, 4)
LONG = Direction.LONG
PLAN = {"10:30": (LONG, 499.0, 503.0), "11:30": (LONG, 499.0, 503.0)}


def vix_minutes(*spans: tuple[str, str, float]) -> list[VixReading]:
    """A reading every minute of each [start, end) span, stamped when it was true."""
    out = []
    for start, end, value in spans:
        t = ny(DAY, start)
        while t < ny(DAY, end):
            out.append(VixReading(value=value, observed_at=t))
            t += timedelta(minutes=1)
    return out


def two_strategies(instrument: Instrument = Instrument.EQUITY) -> tuple[Scripted, Scripted, Any]:
    trend = Scripted(dict(PLAN), name="wave_renko", instrument=instrument)
    revert = Scripted(dict(PLAN), name="vwap_reversion", instrument=instrument)
    by_regime = {Regime.NORMAL_VOL: trend, Regime.ULTRA_LOW_VOL: revert}

    def router(regime: Regime, cfg: StrategiesConfig) -> Any:
        return by_regime.get(regime)

    return trend, revert, router


def replay(readings: list[VixReading], router: Any, *overrides: str) -> BacktestResult:
    bars = flat_session(DAY)
    return Backtester(run_config(*overrides), CALENDAR, router=router).run(
        {"SPY": bars}, vix_intraday=readings
    )


def test_a_mid_session_change_hands_entries_over_and_the_open_position_keeps_its_exits() -> None:
    _, _, router = two_strategies()
    result = replay(vix_minutes(("09:30", "11:00", 15.0), ("11:00", "16:00", 11.0)), router)
    got = [(t.strategy, t.entry_time, t.exit_reason) for t in result.trades]
    assert got == [
        ("wave_renko", ny(DAY, "10:31"), "flatten"),  # NORMAL_VOL at 10:31; kept after the switch
        ("vwap_reversion", ny(DAY, "11:31"), "flatten"),  # ULTRA_LOW_VOL at 11:31
    ]
    assert [t.regime for t in result.trades] == [Regime.NORMAL_VOL, Regime.ULTRA_LOW_VOL]
    (session,) = result.sessions
    assert session.regime is Regime.NORMAL_VOL and session.strategy == "wave_renko"
    assert result.settings["regime_source"] == "intraday"


def test_a_stale_series_stops_entries_but_not_exits() -> None:
    _, _, router = two_strategies()
    result = replay(vix_minutes(("09:30", "10:40", 15.0)), router)  # stale from 10:55 on
    assert [(t.strategy, t.entry_time) for t in result.trades] == [("wave_renko", ny(DAY, "10:31"))]
    assert result.trades[0].exit_reason == "flatten"


def test_a_pause_that_flattens_closes_open_positions_at_the_next_bar() -> None:
    _, _, router = two_strategies()
    readings = vix_minutes(("09:30", "11:00", 15.0), ("11:00", "16:00", 7.0))
    kept = replay(readings, router)
    flattened = replay(readings, router, "strategies.pause.flatten_on_pause=true")
    assert [t.exit_reason for t in kept.trades] == ["flatten"]
    (trade,) = flattened.trades
    assert trade.exit_reason == "regime_flatten"
    assert trade.exit_time == ny(DAY, "11:00")  # the 11:00 tick reads the 11:00 value


def test_a_constant_intraday_series_replays_the_daily_default_exactly() -> None:
    trend = Scripted(dict(PLAN), name="wave_renko", instrument=Instrument.OPTION)

    def router(regime: Regime, cfg: StrategiesConfig) -> Any:
        return trend

    bars = flat_session(DAY)
    bt = Backtester(run_config(), CALENDAR, router=router)
    prior = CALENDAR.previous_sessions(DAY, 1)[0].day
    daily = bt.run({"SPY": bars}, {prior: 15.0})
    intraday = bt.run({"SPY": bars}, vix_intraday=vix_minutes(("09:30", "16:00", 15.0)))
    assert daily.trades and daily.trades == intraday.trades
    assert daily.sessions == intraday.sessions


def test_option_premiums_follow_the_reading_at_the_entry() -> None:
    trend = Scripted({"10:30": PLAN["10:30"]}, name="wave_renko", instrument=Instrument.OPTION)

    def router(regime: Regime, cfg: StrategiesConfig) -> Any:
        return trend

    calm = replay(vix_minutes(("09:30", "16:00", 14.0)), router)
    wild = replay(vix_minutes(("09:30", "10:00", 14.0), ("10:00", "16:00", 28.0)), router)
    assert wild.trades[0].entry_price > calm.trades[0].entry_price


def test_daily_and_intraday_together_are_refused() -> None:
    bt = Backtester(run_config(), CALENDAR)
    with pytest.raises(InvalidInputError, match="not both"):
        bt.run({"SPY": flat_session(DAY)}, {DAY: 15.0}, vix_intraday=vix_minutes())


def test_a_naive_reading_is_refused_naming_it() -> None:
    naive = VixReading(value=15.0, observed_at=ny(DAY, "09:30").replace(tzinfo=None))
    bt = Backtester(run_config(), CALENDAR)
    with pytest.raises(InvalidInputError, match=r"VIX reading 1 .* naive timestamp"):
        bt.run(
            {"SPY": flat_session(DAY)}, vix_intraday=[*vix_minutes(("09:30", "09:31", 15.0)), naive]
        )


def test_unsorted_readings_replay_as_sorted_ones() -> None:
    _, _, router = two_strategies()
    readings = vix_minutes(("09:30", "11:00", 15.0), ("11:00", "16:00", 11.0))
    ordered, shuffled = replay(readings, router), replay(readings[::-1], router)
    assert ordered.trades == shuffled.trades and len(ordered.trades) == 2


def test_the_prior_close_before_the_open_anchors_the_day_as_the_premarket_run_does() -> None:
    """The series' last reading before the open (the prior close, 14.0: NORMAL_VOL) classifies
    the 09:30 to 09:40 ticks, as live's pre-market regime does; a day of 12.9 then stays
    NORMAL_VOL by hysteresis (not below 13 - 0.5), as live's ticks anchored on it do."""
    _, _, router = two_strategies()
    prior = CALENDAR.previous_sessions(DAY, 1)[0].day
    close = VixReading(value=14.0, observed_at=ny(prior, "16:15"))
    result = replay([close, *vix_minutes(("09:31", "16:00", 12.9))], router)
    assert [(t.strategy, t.regime) for t in result.trades] == [
        ("wave_renko", Regime.NORMAL_VOL),
        ("wave_renko", Regime.NORMAL_VOL),
    ]
    (session,) = result.sessions
    assert session.regime is Regime.NORMAL_VOL and session.vix == 14.0  # the open's state
    unanchored = replay(vix_minutes(("09:31", "16:00", 12.9)), router)  # no pre-open reading
    assert {t.strategy for t in unanchored.trades} == {"vwap_reversion"}
