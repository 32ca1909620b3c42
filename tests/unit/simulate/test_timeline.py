"""The simulated day's order: New York time, market before schedules before pushes."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from maxtrader.config.stage import Schedules
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import NEW_YORK
from maxtrader.simulate.synthetic import synthetic_session
from maxtrader.simulate.timeline import (
    SCHEDULE_ORDER,
    StepKind,
    bars_by_close,
    build_timeline,
    schedule_times,
)

CAL = MarketCalendar.xnys()


def _steps(day: date, **kw):  # type: ignore[no-untyped-def]
    session = CAL.session(day)
    assert session is not None
    bars = synthetic_session(day).bars
    return session, build_timeline(session, bars_by_close(bars, session), Schedules(), **kw)


def _ny(at: datetime) -> time:
    return at.astimezone(NEW_YORK).time()


def test_steps_are_in_time_order_with_market_then_schedules_then_push() -> None:
    _, steps = _steps(date(2024, 6, 12))
    assert [s.at for s in steps] == sorted(s.at for s in steps)
    at_1000 = [s for s in steps if _ny(s.at).replace(second=0) == time(10, 0)]
    kinds = [s.kind for s in at_1000]
    assert kinds[0] is StepKind.MARKET and kinds[-1] is StepKind.PUSH
    names = [s.schedule for s in at_1000 if s.kind is StepKind.SCHEDULE]
    assert names == sorted(names, key=SCHEDULE_ORDER.index)
    assert names == ["regime", "health", "monitor", "signals-poll"]


def test_cadences_and_the_first_and_last_step() -> None:
    session, steps = _steps(date(2024, 6, 12))
    times = schedule_times(session, Schedules())
    assert [_ny(t) for t in times["premarket"]] == [time(9, 0)]
    assert len(times["regime"]) == 78 and len(times["monitor"]) == 390  # 09:30 .. 15:59
    assert _ny(times["health"][0]) == time(9, 0) and _ny(times["health"][-1]) == time(15, 59)
    assert [_ny(t) for t in times["parity"]] == [time(16, 30)]
    assert _ny(steps[0].at) == time(9, 0) and steps[0].schedule == "premarket"
    pushes = [s for s in steps if s.kind is StepKind.PUSH]
    assert len(pushes) == 390 and all(len(p.bars) == 2 for p in pushes)
    assert _ny(pushes[0].at) == time(9, 31, 1)
    assert pushes[0].bars[0].closed_at == pushes[0].at - timedelta(seconds=1)


def test_eod_fires_at_both_possible_flatten_minutes_and_pushes_stop_at_the_real_close() -> None:
    _, steps = _steps(date(2024, 7, 3))  # an early close: 13:00 New York
    eod = [_ny(s.at) for s in steps if s.schedule == "eod"]
    # as the stack's cron: 15 minutes before 13:00 and 16:00, and 5 minutes later each
    assert eod == [time(12, 45), time(12, 50), time(15, 45), time(15, 50)]
    assert max(_ny(s.at) for s in steps if s.kind is StepKind.PUSH) == time(13, 0, 1)
    assert _ny(steps[-1].at) == time(16, 30) and steps[-1].schedule == "parity"


def test_withheld_pushes_vanish_and_duplicates_come_later() -> None:
    session, plain = _steps(date(2024, 6, 12))
    gone = session.open + timedelta(minutes=61)
    twice = session.open + timedelta(minutes=90)
    _, steps = _steps(
        date(2024, 6, 12), withheld=frozenset({gone}), pushed_twice=frozenset({twice})
    )
    pushes = [s for s in steps if s.kind is StepKind.PUSH]
    assert len(pushes) == len([s for s in plain if s.kind is StepKind.PUSH])  # -1 +1
    assert not [p for p in pushes if p.bars[0].closed_at == gone]
    repeated = [p for p in pushes if p.bars[0].closed_at == twice]
    assert len(repeated) == 2 and repeated[1].at > repeated[0].at
    markets = [s for s in steps if s.kind is StepKind.MARKET and s.at == gone]
    assert len(markets) == 1  # the emulators still see the withheld minute
