"""The simulated day as Lambda would see it: every invocation, in New York time order.

    steps = build_timeline(session, bars_by_minute, schedules)   # sorted, immutable

What happens at a minute boundary T of the session (the bar [T-1m, T) has just closed):

1. ``MARKET`` (T + 0 s): the closed bars reach the broker emulator (it fills what they fill)
   and the market-data emulator (the REST poll sees them from now on);
2. the schedules due at T (T + 0 s), in the order the stack's jobs read each other's results:
   premarket, regime, health, monitor, signals-poll (``SCHEDULE_ORDER``);
3. ``PUSH`` (T + 1 s): the relay's signed POST of the closed bars to ingest; the queue messages
   it leaves are carried to signals, then execute, right after (the runner drains the queues).

Premarket runs once at its configured New York time; regime, health and monitor every N minutes
(the stage's cadences) from the open to the close, signals-poll every minute; eod at the close
minus ``eod_before_close_minutes``, from the session's own close (an early close moves it). A
schedule firing exactly at the close still runs (the stack's cron covers the last minute), so
the monitor sees the last bar's fills and eod's flatten.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from maxtrader.config.stage import Schedules
from maxtrader.domain.calendar import Session
from maxtrader.domain.models import Bar

SIGNALS_POLL_EVERY_MINUTES = 1  # the stack's REST poll cadence (not a stage setting)
SCHEDULE_ORDER = ("premarket", "regime", "health", "monitor", "signals-poll", "eod")
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


def every(session: Session, minutes: int) -> list[datetime]:
    """The instants from the open to the close (both included) on an ``minutes`` grid."""
    out, at = [], session.open
    while at <= session.close:
        out.append(at)
        at += timedelta(minutes=minutes)
    return out


def schedule_times(session: Session, schedules: Schedules) -> dict[str, list[datetime]]:
    return {
        "premarket": [session.at(schedules.premarket)],
        "regime": every(session, schedules.regime_every_minutes),
        "health": every(session, schedules.health_every_minutes),
        "monitor": every(session, schedules.monitor_every_minutes),
        "signals-poll": every(session, SIGNALS_POLL_EVERY_MINUTES),
        "eod": [session.close - timedelta(minutes=schedules.eod_before_close_minutes)],
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
