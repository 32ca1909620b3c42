"""The live regime function's tick and its replay over intraday VIX readings built in memory."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.config.strategies import RegimeRules
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import Regime
from maxtrader.domain.ports import VixReading
from maxtrader.domain.regime import RegimeDetector, RegimeState
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


def tick(
    state: RegimeState | None, reading: VixReading | None, now: datetime, day: date = DAY
) -> RegimeState:
    """The live tick on ``day`` (09:30 New York open)."""
    return regime_tick(DETECTOR, state, reading, now, session_open=ny("09:30", day))


class TestTick:
    def test_a_new_day_starts_a_new_session_without_hysteresis(self) -> None:
        monday = date(2024, 6, 3)
        yesterday = tick(None, VixReading(29.0, ny("15:50", monday)), ny("15:50", monday), monday)
        yesterday = tick(
            yesterday, VixReading(30.4, ny("15:55", monday)), ny("15:55", monday), monday
        )
        assert yesterday.regime is Regime.NORMAL_VOL  # 30.4 is not beyond 30 + 0.5
        today = tick(yesterday, VixReading(30.4, ny("09:30")), ny("09:30"))
        assert today.day == DAY and today.regime is Regime.HIGH_VOL  # a first classification

    def test_hysteresis_within_a_session(self) -> None:
        state = tick(None, VixReading(29.0, ny("09:30")), ny("09:30"))
        state = tick(state, VixReading(30.4, ny("09:35")), ny("09:35"))
        assert state.regime is Regime.NORMAL_VOL  # not beyond 30.5
        state = tick(state, VixReading(30.6, ny("09:40")), ny("09:40"))
        assert state.regime is Regime.HIGH_VOL

    def test_a_stale_or_missing_reading_is_unknown(self) -> None:
        state = tick(None, VixReading(15.0, ny("09:30")), ny("09:46"))
        assert state.regime is Regime.UNKNOWN and "stale" in state.reason
        fresh = tick(None, VixReading(15.0, ny("09:31")), ny("09:46"))
        assert fresh.regime is Regime.NORMAL_VOL  # 15 minutes old is still fresh
        assert tick(fresh, None, ny("09:50")).regime is Regime.UNKNOWN


PRIOR_CLOSE = VixReading(13.2, ny("16:15", date(2024, 6, 3)))  # Monday's last print, Tuesday's
PREMARKET = DETECTOR.update(DETECTOR.start_session(DAY), PRIOR_CLOSE.value)  # as pre-market does


class TestTheOpen:
    """At 09:30 the vendor's latest VIX is still the prior close: within the detector's max age
    of the open, the open stands in for its observation time (no intraday print is due yet)."""

    def test_the_prior_close_at_the_open_keeps_the_premarket_regime(self) -> None:
        assert PREMARKET.regime is Regime.NORMAL_VOL
        for now in ("09:30", "09:35", "09:40", "09:44"):
            state = tick(PREMARKET, PRIOR_CLOSE, ny(now))
            assert state.regime is Regime.NORMAL_VOL, now
            assert state.observed_at == PRIOR_CLOSE.observed_at  # the true time is kept
            assert "before the open" in state.reason and state.vix == 13.2

    def test_the_premarket_regime_anchors_the_hysteresis_through_the_open(self) -> None:
        state = tick(PREMARKET, PRIOR_CLOSE, ny("09:30"))
        state = tick(state, VixReading(12.8, ny("09:33")), ny("09:35"))
        assert state.regime is Regime.NORMAL_VOL  # 12.8 is within 0.5 of 13
        assert "before the open" not in state.reason

    @pytest.mark.parametrize("now", ["09:45", "09:46"])  # open + max age, and a minute after
    def test_a_reading_still_from_before_the_open_after_the_grace_is_stale(self, now: str) -> None:
        state = tick(PREMARKET, PRIOR_CLOSE, ny(now))
        assert state.regime is Regime.UNKNOWN and "stale" in state.reason
        assert state.anchor is Regime.NORMAL_VOL and state.observed_at == PRIOR_CLOSE.observed_at

    def test_no_reading_at_the_open_is_unknown(self) -> None:
        state = tick(PREMARKET, None, ny("09:30"))
        assert state.regime is Regime.UNKNOWN and state.reason == "VIX is absent"

    @pytest.mark.parametrize(("vix", "reason"), [(math.nan, "not finite"), (0.0, "not positive")])
    def test_an_invalid_prior_close_at_the_open_is_unknown(self, vix: float, reason: str) -> None:
        state = tick(PREMARKET, VixReading(vix, PRIOR_CLOSE.observed_at), ny("09:30"))
        assert state.regime is Regime.UNKNOWN and reason in state.reason
        assert state.observed_at == PRIOR_CLOSE.observed_at

    def test_before_the_open_there_is_no_grace(self) -> None:
        state = tick(PREMARKET, PRIOR_CLOSE, ny("09:29"))
        assert state.regime is Regime.UNKNOWN and "stale" in state.reason

    @pytest.mark.property
    @settings(max_examples=200, deadline=None)
    @given(
        after_open=st.integers(min_value=0, max_value=389),
        before_open=st.integers(min_value=1, max_value=4 * 24 * 60),
    )
    def test_a_pre_open_reading_classifies_exactly_within_the_grace(
        self, after_open: int, before_open: int
    ) -> None:
        now = ny("09:30") + timedelta(minutes=after_open)
        reading = VixReading(20.0, ny("09:30") - timedelta(minutes=before_open))
        state = tick(None, reading, now)
        fresh = timedelta(minutes=after_open) < DETECTOR.max_age
        assert (state.regime is Regime.NORMAL_VOL) is fresh
        assert (state.regime is Regime.UNKNOWN) is not fresh


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

    def test_the_open_is_classified_from_the_last_reading_before_it(self) -> None:
        assert SESSION is not None
        late = VixReading(12.8, ny("09:52"))  # the first intraday print, after the grace
        timeline = RegimeTimeline.intraday(DETECTOR, SESSION, [PRIOR_CLOSE, late])
        assert timeline.at(ny("09:30")).regime is Regime.NORMAL_VOL  # not UNKNOWN
        assert timeline.at(ny("09:40")).regime is Regime.NORMAL_VOL
        assert timeline.at(ny("09:45")).regime is Regime.UNKNOWN  # still the prior close: stale
        assert timeline.at(ny("09:55")).regime is Regime.NORMAL_VOL  # anchored on 13.2's band
        timely = RegimeTimeline.intraday(
            DETECTOR, SESSION, [PRIOR_CLOSE, VixReading(13.6, ny("09:31"))]
        )
        # no UNKNOWN at the open; the one 09:31 print goes stale at 09:50
        assert [(s.regime, s.vix) for s in timely.states] == [
            (Regime.NORMAL_VOL, 13.2), (Regime.NORMAL_VOL, 13.6), (Regime.UNKNOWN, 13.6)
        ]  # fmt: skip
        assert (
            timely.at(ny("09:49")).vix == 13.6 and timely.at(ny("09:50")).regime is Regime.UNKNOWN
        )

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
