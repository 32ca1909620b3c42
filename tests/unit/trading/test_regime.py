"""The live regime function's tick and its replay over intraday VIX readings built in memory."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from maxtrader.config.strategies import RegimeRules
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import Regime
from maxtrader.domain.ports import VixReading
from maxtrader.domain.regime import RegimeDetector
from maxtrader.trading.regime import DailyVix, RegimeTimeline, regime_tick

CALENDAR = MarketCalendar.xnys("2024-05-20", "2024-06-30")
DAY = date(2024, 6, 4)
SESSION = CALENDAR.session(DAY)
DETECTOR = RegimeDetector(RegimeRules())  # bands 8/13/30, hysteresis 0.5, stale after 15 min


def ny(hhmm: str, day: date = DAY) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime.combine(day, time(h, m), tzinfo=NEW_YORK)


def readings(*points: tuple[str, float]) -> list[VixReading]:
    return [VixReading(value=v, observed_at=ny(t)) for t, v in points]


class TestTick:
    def test_a_new_day_starts_a_new_session_without_hysteresis(self) -> None:
        monday = date(2024, 6, 3)
        yesterday = regime_tick(
            DETECTOR, None, VixReading(29.0, ny("15:50", monday)), ny("15:50", monday)
        )
        yesterday = regime_tick(
            DETECTOR, yesterday, VixReading(30.4, ny("15:55", monday)), ny("15:55", monday)
        )
        assert yesterday.regime is Regime.NORMAL_VOL  # 30.4 is not beyond 30 + 0.5
        today = regime_tick(DETECTOR, yesterday, VixReading(30.4, ny("09:30")), ny("09:30"))
        assert today.day == DAY and today.regime is Regime.HIGH_VOL  # a first classification

    def test_hysteresis_within_a_session(self) -> None:
        state = regime_tick(DETECTOR, None, VixReading(29.0, ny("09:30")), ny("09:30"))
        state = regime_tick(DETECTOR, state, VixReading(30.4, ny("09:35")), ny("09:35"))
        assert state.regime is Regime.NORMAL_VOL  # not beyond 30.5
        state = regime_tick(DETECTOR, state, VixReading(30.6, ny("09:40")), ny("09:40"))
        assert state.regime is Regime.HIGH_VOL

    def test_a_stale_or_missing_reading_is_unknown(self) -> None:
        state = regime_tick(DETECTOR, None, VixReading(15.0, ny("09:30")), ny("09:46"))
        assert state.regime is Regime.UNKNOWN and "stale" in state.reason
        fresh = regime_tick(DETECTOR, None, VixReading(15.0, ny("09:31")), ny("09:46"))
        assert fresh.regime is Regime.NORMAL_VOL  # 15 minutes old is still fresh
        assert regime_tick(DETECTOR, fresh, None, ny("09:50")).regime is Regime.UNKNOWN


class TestIntradayTimeline:
    def test_the_regime_changes_mid_session_and_no_tick_sees_a_later_reading(self) -> None:
        assert SESSION is not None
        calm = [(f"{h:02d}:{m:02d}", 15.0) for h in (9, 10) for m in range(1, 60, 5)]
        series = readings(*[p for p in calm if p[0] >= "09:31"], ("11:02", 12.0), ("11:06", 12.2))
        timeline = RegimeTimeline.intraday(DETECTOR, SESSION, series)
        assert timeline.at(ny("09:30")).regime is Regime.UNKNOWN  # nothing observed yet
        assert timeline.at(ny("09:34")).regime is Regime.UNKNOWN  # the 09:35 tick has not run
        assert timeline.at(ny("09:35")).regime is Regime.NORMAL_VOL
        assert timeline.at(ny("11:04")).regime is Regime.NORMAL_VOL  # 11:02 unseen until 11:05
        assert timeline.at(ny("11:05")).regime is Regime.ULTRA_LOW_VOL  # 12 < 13 - 0.5
        assert timeline.at(ny("11:10")).vix == 12.2
        # stale from 11:25 on (11:06 + 15 min < 11:25): UNKNOWN until the close
        assert timeline.at(ny("11:20")).regime is Regime.ULTRA_LOW_VOL
        assert timeline.at(ny("11:25")).regime is Regime.UNKNOWN
        assert timeline.at(ny("15:59")).regime is Regime.UNKNOWN
        assert not timeline.single

    def test_hysteresis_keeps_the_regime_in_the_band_edge(self) -> None:
        assert SESSION is not None
        series = readings(("09:30", 14.0), ("10:00", 12.7), ("10:30", 12.4))
        timeline = RegimeTimeline.intraday(DETECTOR, SESSION, series)
        assert timeline.at(ny("10:00")).regime is Regime.NORMAL_VOL  # 12.7 is not below 12.5
        assert timeline.at(ny("10:30")).regime is Regime.ULTRA_LOW_VOL

    def test_a_constant_timeline_and_an_empty_one(self) -> None:
        state = DETECTOR.update(DETECTOR.start_session(DAY), 15.0)
        constant = RegimeTimeline.constant(state, ny("09:30"))
        assert constant.single and constant.at(ny("08:00")) == state == constant.at(ny("15:00"))
        with pytest.raises(InvalidInputError, match="at least one state"):
            RegimeTimeline([])


def test_daily_vix_is_the_prior_session_close_and_older_is_missing() -> None:
    daily = DailyVix({date(2024, 5, 31): 12.9, date(2024, 6, 4): 14.0}, CALENDAR)
    assert daily.prior_close(date(2024, 6, 3)) == 12.9  # Friday's close for Monday
    assert daily.prior_close(date(2024, 6, 4)) is None  # Monday's close is missing: no fallback
    assert daily.prior_close(date(2024, 6, 5)) == 14.0
    assert daily.prior_close(date(2024, 5, 31)) is None
    assert DailyVix({}, CALENDAR).prior_close(DAY) is None
