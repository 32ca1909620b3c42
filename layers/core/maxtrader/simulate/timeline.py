"""The simulated day as Lambda would see it: every invocation, in New York time order.

    steps = build_timeline(session, bars_by_minute, schedules)   # sorted, immutable

What happens at a minute boundary T of the session (the bar [T-1m, T) has just closed):

1. ``MARKET`` (T + 0 s): the closed bars reach the broker emulator (it fills what they fill)
   and the market-data emulator (the REST poll sees them from now on);
2. the schedules due at T (T + 0 s), in the order the stack's jobs read each other's results:
   premarket, regime, health, monitor, signals-poll (``SCHEDULE_ORDER``);
3. ``PUSH`` (T + 1 s): the relay's signed POST of the closed bars to ingest; the queue messages
   it leaves are carried to signals, then execute, right after (the runner drains the queues).

The schedules fire as the stack's do (``infra/maxtrader_infra/schedules.py``, cadences from the
stage's ``schedules``): premarket once at its time; regime, monitor and signals-poll every N
minutes from 09:30 to 15:59 New York, health from the pre-market time; eod at the flatten minute
of both possible closes (12:45 and 15:45 for 15 minutes) and 5 minutes later, the handler acting
on the day's real close only; parity once at 16:30. A cron fires on an early-close afternoon
too: the handlers read the calendar and say so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum

from maxtrader.config.stage import Schedules
from maxtrader.domain.calendar import Session
from maxtrader.domain.models import Bar

SIGNALS_POLL_EVERY_MINUTES = 1  # the stack's REST poll cadence (not a stage setting)
SCHEDULE_ORDER = ("premarket", "regime", "health", "monitor", "signals-poll", "eod", "parity")
PARITY_AT = time(16, 30)
PUSH_DELAY = timedelta(seconds=1)


class StepKind(StrEnum):
    MARKET = "market"  # closed bars to the emulators
    SCHEDULE = "schedule"  # a Scheduler invocation
    PUSH = "push"  # a signed ingest POST


@dataclass(frozen=True, slots=True)
class Step:
    at: datetime  # UTC instant the step happens (the runtime clock is set to it)
    kind: StepKind
    schedule: str = ""  # SCHEDULE: the schedule's name
    bars: tuple[Bar, ...] = ()  # MARKET / PUSH: the bars that closed at ``at``

    @property
    def sort_key(self) -> tuple[datetime, int, int]:
        rank = {StepKind.MARKET: 0, StepKind.SCHEDULE: 1, StepKind.PUSH: 2}[self.kind]
        order = SCHEDULE_ORDER.index(self.schedule) if self.schedule else 0
        return (self.at, rank, order)


def every(session: Session, minutes: int, *, start: time = time(9, 30)) -> list[datetime]:
    """The stack's cron window: every ``minutes`` from ``start`` to 15:59 New York, whatever
    the day's close (on an early close the handlers see the calendar and do nothing)."""
    out, at, last = [], session.at(start), session.at(time(15, 59))
    while at <= last:
        out.append(at)
        at += timedelta(minutes=minutes)
    return out


def schedule_times(session: Session, schedules: Schedules) -> dict[str, list[datetime]]:
    """When the stack's schedules fire on ``session``'s day (infra/maxtrader_infra/schedules.py):
    eod at the flatten minute of both possible closes and 5 minutes later (the handler acts on
    the day's real close only), parity once after the close."""
    flatten = timedelta(minutes=schedules.eod_before_close_minutes)
    closes = [session.at(time(13, 0)), session.at(time(16, 0))]
    return {
        "premarket": [session.at(schedules.premarket)],
        "regime": every(session, schedules.regime_every_minutes),
        "health": every(session, schedules.health_every_minutes, start=schedules.premarket),
        "monitor": every(session, schedules.monitor_every_minutes),
        "signals-poll": every(session, SIGNALS_POLL_EVERY_MINUTES),
        "eod": sorted(c - flatten + timedelta(minutes=m) for c in closes for m in (0, 5)),
        "parity": [session.at(PARITY_AT)],
    }


def bars_by_close(bars: Mapping[str, Sequence[Bar]], session: Session) -> dict[datetime, list[Bar]]:
    """The session's bars of every symbol, grouped by the instant they close."""
    out: dict[datetime, list[Bar]] = {}
    for symbol in sorted(bars):
        for bar in bars[symbol]:
            if session.contains(bar.ts):
                out.setdefault(bar.closed_at, []).append(bar)
    return out


def build_timeline(
    session: Session,
    closed: Mapping[datetime, Sequence[Bar]],
    schedules: Schedules,
    *,
    withheld: frozenset[datetime] = frozenset(),
    pushed_twice: frozenset[datetime] = frozenset(),
) -> list[Step]:
    """Every step of the day, sorted. ``withheld``: closes whose push never arrives (the
    REST poll must fill them in); ``pushed_twice``: closes pushed a second time, later."""
    steps: list[Step] = []
    for name, times in schedule_times(session, schedules).items():
        steps.extend(Step(at, StepKind.SCHEDULE, schedule=name) for at in times)
    for at, group in closed.items():
        bars = tuple(group)
        steps.append(Step(at, StepKind.MARKET, bars=bars))
        if at not in withheld:
            steps.append(Step(at + PUSH_DELAY, StepKind.PUSH, bars=bars))
        if at in pushed_twice:  # the relay's retry of a POST whose answer it never saw
            steps.append(Step(at + PUSH_DELAY * 20, StepKind.PUSH, bars=bars))
    return sorted(steps, key=lambda s: s.sort_key)
