"""Smart Money + Homma on hand-built hours and 5-minute candles."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pytest

from maxtrader.config.strategies import HighVol, SessionRules
from maxtrader.domain.models import Bar, Direction, Regime, Signal
from maxtrader.domain.strategies.smart_money import SmartMoneyState, SmartMoneyStrategy
from maxtrader.domain.strategies.zones import DEMAND, SUPPLY, Zone
from tests.unit.strategies.builders import (
    DAY,
    MIRROR,
    at,
    candle_minutes,
    mirror,
    prior_days,
    session,
)

HOURS = ["09:30", "10:30", "11:30", "12:30", "13:30", "14:30", "15:30"]
QUIET = (100.0, 100.4, 99.7, 100.1)  # body 0.1 of a 0.7 range: a base candle, TR 0.7
HIGH_QUIET = (102.4, 102.8, 102.1, 102.5)
DISPLACEMENT = (100.1, 102.5, 100.0, 102.4)  # body 2.3 >= 1.5 x 0.7, closes above the base


def hours(
    day: date, candles: Sequence[tuple[float, float, float, float]], first: int = 0
) -> list[Bar]:
    out: list[Bar] = []
    for i, ohlc in enumerate(candles, start=first):
        out += candle_minutes(day, HOURS[i], *ohlc, minutes=30 if i == 6 else 60)
    return out


def quiet_session(day: date, ohlc: tuple[float, float, float, float] = QUIET) -> list[Bar]:
    return hours(day, [ohlc] * 7)


def fives(day: date, start: str, candles: Sequence[tuple[float, float, float, float]]) -> list[Bar]:
    h, m = map(int, start.split(":"))
    out: list[Bar] = []
    for i, ohlc in enumerate(candles):
        minute = h * 60 + m + 5 * i
        out += candle_minutes(day, f"{minute // 60:02d}:{minute % 60:02d}", *ohlc, minutes=5)
    return out


DROP = [(102.4, 102.4, 101.0, 101.0), (101.0, 101.0, 100.6, 100.6)]
TOUCH = (100.6, 100.7, 100.3, 100.4)  # low 100.3 reaches the zone's top 100.4
HAMMER = (100.35, 100.5, 99.9, 100.48)
NEUTRAL = (100.4, 100.6, 100.3, 100.5)  # no pattern


def strategy(**overrides: object) -> SmartMoneyStrategy:
    return SmartMoneyStrategy(HighVol.model_validate(overrides), SessionRules())


def run(
    after_zone: Sequence[tuple[float, float, float, float]],
    *,
    mirrored: bool = False,
    extra_zone: Zone | None = None,
    **overrides: object,
) -> tuple[SmartMoneyState, list[Signal], SmartMoneyState]:
    """Two quiet prior sessions; today a quiet hour, the displacement, then 5-minute candles."""
    hist = [b for d in prior_days(DAY, 2) for b in quiet_session(d)]
    today = hours(DAY, [QUIET, DISPLACEMENT]) + fives(DAY, "11:30", after_zone)
    if mirrored:
        hist, today = mirror(hist), mirror(today)
    s = strategy(**overrides)
    state = s.start_session("SPY", session(), hist)
    signals: list[Signal] = []
    at_formation = state
    for b in today:
        state, out = s.step(state, b)
        signals += out
        if b.ts == at(DAY, "11:29"):
            at_formation = state
            if extra_zone is not None:
                state = state.model_copy(update={"zones": (*state.zones, extra_zone)})
    return state, signals, at_formation


def test_displacement_creates_a_demand_zone_that_exists_from_its_close() -> None:
    _, _, formed = run([])
    [zone] = formed.zones  # the 10:30 five-minute low of 100.0 did not consume it: not yet a zone
    assert zone.kind == DEMAND and (zone.low, zone.high) == (99.7, 100.4)
    assert zone.formed_at == at(DAY, "11:30") and zone.age == 0


def test_touch_then_hammer_gives_a_long() -> None:
    state, signals, _ = run([*DROP, TOUCH, HAMMER])
    [sig] = signals
    assert (
        sig.side is Direction.LONG
        and sig.regime is Regime.HIGH_VOL
        and sig.strategy == "smart_money"
    )
    assert sig.bar_ts == at(DAY, "11:49") and sig.entry == 100.48
    assert sig.stop == pytest.approx(99.7 - 0.2 * 0.7)
    assert sig.target == 102.5  # no supply zone: the highest high of the prior htf candles
    assert "hammer" in sig.reason
    assert state.zones == ()  # consumed by its touch


def test_mirror_gives_a_short_with_a_shooting_star() -> None:
    _, signals, formed = run([*DROP, TOUCH, HAMMER], mirrored=True)
    [zone] = formed.zones
    assert zone.kind == SUPPLY
    [sig] = signals
    assert sig.side is Direction.SHORT and "shooting star" in sig.reason
    assert sig.stop == pytest.approx(MIRROR - 99.7 + 0.2 * 0.7)
    assert sig.target == pytest.approx(MIRROR - 102.5)


def test_pattern_must_complete_within_two_ltf_bars_of_the_touch() -> None:
    assert len(run([*DROP, TOUCH, NEUTRAL, NEUTRAL, HAMMER])[1]) == 0  # third bar after
    assert len(run([*DROP, TOUCH, NEUTRAL, HAMMER])[1]) == 1  # second bar after


def test_a_consumed_zone_never_triggers_again() -> None:
    # the first touch passes without a pattern; a later hammer at the zone is not a trigger
    assert run([*DROP, TOUCH, NEUTRAL, NEUTRAL, NEUTRAL, *DROP, TOUCH, HAMMER])[1] == []


def test_nearest_fresh_opposing_zone_is_the_target() -> None:
    # above every later high (a touch would consume it), below the 102.5 fallback
    supply = Zone(kind=SUPPLY, low=102.45, high=103.0, formed_at=at(DAY, "11:30"))
    [sig] = run([*DROP, TOUCH, HAMMER], extra_zone=supply)[1]
    assert sig.target == 102.45


def test_min_rr_filters() -> None:
    assert run([*DROP, TOUCH, HAMMER], min_rr=3.0)[1] == []


def test_zones_expire_after_zone_max_sessions() -> None:
    def zones_today(later_sessions: int) -> tuple[Zone, ...]:
        days = prior_days(DAY, 3 + later_sessions)
        hist = quiet_session(days[0]) + quiet_session(days[1])
        hist += hours(days[2], [QUIET, DISPLACEMENT, *[HIGH_QUIET] * 5])
        for d in days[3:]:
            hist += quiet_session(d, HIGH_QUIET)
        return strategy().start_session("SPY", session(), hist).zones

    [alive] = zones_today(3)  # formed 4 sessions ago: still fresh today
    assert alive.kind == DEMAND and alive.age == 4
    assert zones_today(4) == ()  # 5 sessions ago: expired


def test_state_round_trips_exactly() -> None:
    s = strategy()
    hist = [b for d in prior_days(DAY, 2) for b in quiet_session(d)]
    state = s.start_session("SPY", session(), hist)
    for b in hours(DAY, [QUIET, DISPLACEMENT]) + fives(DAY, "11:30", [*DROP, TOUCH]):
        state, _ = s.step(state, b)
        assert s.load_state(state.model_dump_json()) == state
    assert state.pending  # a trigger window is open: it survives the round trip too
