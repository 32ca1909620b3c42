"""The regime a session trades under: the live regime function's decision, and its replays.

regime_tick(detector, state, reading, now, session_open=...) -> RegimeState
    What the live "regime" function does every ``REGIME_EVERY`` (5 minutes): a new New York
    day starts a new session state (no hysteresis across sessions), then the latest reading
    is classified with staleness (``vix_max_age_minutes``) and hysteresis. From the open until
    open + that max age (exclusive, like health's grace), a reading observed before the open is
    judged as if observed at the open: at 09:30 the vendor's latest VIX is still the prior close
    (no intraday print is due yet), the value the pre-market run classified. From open + max
    age on (09:45, the first entry minute) it is stale as before (fail closed).
RegimeTimeline.intraday(detector, session, readings) / RegimeTimeline.constant(state)
    The regime in force at any instant of one session: the tick schedule replayed over an
    intraday VIX series (a tick sees only readings observed at or before it), or one state
    for the whole session (the prior daily close, the backtest default).
DailyVix(closes, calendar).prior_close(day) -> float | None
    The prior session's daily close; an older close is missing (fail closed: UNKNOWN).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

from maxtrader.domain.calendar import MarketCalendar, Session
from maxtrader.domain.clock import trading_date
from maxtrader.domain.errors import CalendarError, InvalidInputError
from maxtrader.domain.models import Regime
from maxtrader.domain.ports import VixReading
from maxtrader.domain.regime import RegimeDetector, RegimeState

__all__ = ["REGIME_EVERY", "DailyVix", "RegimeTimeline", "regime_tick"]

REGIME_EVERY = timedelta(minutes=5)  # the live regime function's schedule


def regime_tick(
    detector: RegimeDetector,
    state: RegimeState | None,
    reading: VixReading | None,
    now: datetime,
    *,
    session_open: datetime,
) -> RegimeState:
    """One run of the live regime function at ``now`` with the latest VIX ``reading``, in the
    session that opened at ``session_open``."""
    day = trading_date(now)
    if state is None or state.day.isoformat() != day:
        state = detector.start_session(date.fromisoformat(day))
    if reading is None:
        return detector.update(state, None)
    judged_at = _open_stands_in(reading.observed_at, session_open, now, detector.max_age)
    after = detector.update(state, reading.value, observed_at=judged_at, now=now)
    if judged_at == reading.observed_at:
        return after
    # The stored state keeps the true observation time; the reason says why it still counts.
    reason = after.reason
    if after.regime is not Regime.UNKNOWN:
        reason = f"{reason}, observed before the open (fresh until open + {detector.max_age})"
    return after.model_copy(update={"observed_at": reading.observed_at, "reason": reason})


def _open_stands_in(
    observed_at: datetime, session_open: datetime, now: datetime, grace: timedelta
) -> datetime:
    """Within ``grace`` of the open, the open stands in for a reading observed before it: the
    first intraday print is not due yet (as health treats data at the open)."""
    if not timedelta(0) <= now - session_open < grace:
        return observed_at
    return max(observed_at, session_open)


class RegimeTimeline:
    """The regime states of one session by the instant each took effect, oldest first."""

    __slots__ = ("_at", "_states")

    def __init__(self, changes: Sequence[tuple[datetime, RegimeState]]) -> None:
        if not changes:
            raise InvalidInputError("a regime timeline needs at least one state")
        self._at = [t for t, _ in changes]
        self._states = [s for _, s in changes]

    @classmethod
    def constant(cls, state: RegimeState, since: datetime) -> RegimeTimeline:
        return cls([(since, state)])

    @classmethod
    def intraday(
        cls,
        detector: RegimeDetector,
        session: Session,
        readings: Sequence[VixReading],
        *,
        every: timedelta = REGIME_EVERY,
    ) -> RegimeTimeline:
        """Ticks at the open and every ``every`` until the close; ``readings`` sorted by
        ``observed_at``. Only a change of regime (or of its reason) adds an entry."""
        stamps = [r.observed_at for r in readings]
        state: RegimeState | None = None
        changes: list[tuple[datetime, RegimeState]] = []
        now = session.open
        while now < session.close:
            i = bisect.bisect_right(stamps, now)
            latest = readings[i - 1] if i else None
            state = regime_tick(detector, state, latest, now, session_open=session.open)
            if not changes or _differs(changes[-1][1], state):
                changes.append((now, state))
            now += every
        return cls(changes)

    @property
    def states(self) -> tuple[RegimeState, ...]:
        return tuple(self._states)

    @property
    def single(self) -> bool:
        return len(self._states) == 1

    def at(self, now: datetime) -> RegimeState:
        """The state in force at ``now`` (the first one before the first tick)."""
        i = bisect.bisect_right(self._at, now)
        return self._states[i - 1] if i else self._states[0]


def _differs(a: RegimeState, b: RegimeState) -> bool:
    # A new reading with the same regime changes nothing a decision reads but the VIX level,
    # which prices options: keep it.
    return a.regime is not b.regime or a.vix != b.vix


class DailyVix:
    """Daily VIX closes by date, read as of the session before a day."""

    def __init__(self, closes: Mapping[date, float], calendar: MarketCalendar) -> None:
        self._days = sorted(closes)
        self._closes = closes
        self._calendar = calendar

    def prior_close(self, day: date) -> float | None:
        i = bisect.bisect_left(self._days, day)
        if i == 0:
            return None
        found = self._days[i - 1]
        try:
            prior = self._calendar.previous_sessions(day, 1)[0].day
        except CalendarError:  # before the calendar's range: no prior session known
            return None
        return self._closes[found] if found >= prior else None
