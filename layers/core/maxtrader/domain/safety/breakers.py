"""The three circuit breakers as pure transitions: record an event, trip, notice the reset.

A trip sets ``until`` (now + pause) and clears the event window, so the losses or errors that
tripped a breaker cannot trip it again after the pause. The reset is recorded lazily, by the first
caller that sees ``now >= until`` (a later entry or the monitor).
"""

from __future__ import annotations

from bisect import insort
from dataclasses import replace
from datetime import datetime, timedelta

from maxtrader.config.safety import Breakers
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.safety.state import BreakerName, BreakerState

# Events are kept this long after ``now`` whatever their order of arrival, so that a late loss
# can still complete a window with the ones before it.
RETENTION = timedelta(hours=24)


def record_event(
    state: BreakerState,
    at: datetime,
    now: datetime,
    config: Breakers,
    *,
    recorded: bool = False,
) -> tuple[BreakerState, bool]:
    """Add one losing close / order error that happened at ``at``; detected at ``now`` (the
    clock). Returns the new state and whether it tripped.

    The window is measured on event times, whatever their order of arrival: the breaker trips when
    ``threshold`` events lie within ``window`` of each other. The pause runs from ``now``, when the
    trip is detected (a late report must not trip a pause that has already ended).
    ``recorded``: the event is already in ``state.events`` (a losing close is stored with its
    fill, atomically); only the trip rule is applied.
    """
    if state.name is BreakerName.RAPID_LOSS:
        threshold, window, pause = (
            config.rapid_loss.losses,
            config.rapid_loss.window_minutes,
            config.rapid_loss.pause_minutes,
        )
    elif state.name is BreakerName.ERROR_RATE:
        threshold, window, pause = (
            config.error_rate.errors,
            config.error_rate.window_minutes,
            config.error_rate.pause_minutes,
        )
    else:
        raise InvalidInputError(f"{state.name.value} is not an event-counting breaker")
    horizon = now - RETENTION
    events = sorted(e for e in state.events if e > horizon)
    if not recorded and at > horizon:
        insort(events, at)
    span = timedelta(minutes=window)
    densest = densest_window(events, span)
    if densest >= threshold and not state.paused(now):
        reason = f"{densest} {_noun(state.name)} within {window} min (limit {threshold})"
        return trip(state, now, timedelta(minutes=pause), reason), True
    return replace(state, events=tuple(events), version=state.version + 1), False


def densest_window(events: list[datetime], span: timedelta) -> int:
    """The most events (sorted) within ``span`` of each other: "within 30 min" means an event
    exactly 30 min before another is not in its window."""
    best, first = 0, 0
    for last, at in enumerate(events):
        while at - events[first] >= span:
            first += 1
        best = max(best, last - first + 1)
    return best


def drawdown(peak: float, equity: float) -> float:
    return (peak - equity) / peak if peak > 0 else 0.0


def check_drawdown(
    state: BreakerState, peak: float, equity: float, now: datetime, config: Breakers
) -> BreakerState | None:
    """The tripped state when the drawdown reaches the limit and the breaker is not paused."""
    dd = drawdown(peak, equity)
    limit = config.drawdown.max_drawdown_pct
    if dd < limit or state.paused(now):
        return None
    reason = f"drawdown {dd:.2%} from peak {peak:.2f} (limit {limit:.2%})"
    return trip(state, now, timedelta(minutes=config.drawdown.pause_minutes), reason)


def trip(state: BreakerState, at: datetime, pause: timedelta, reason: str) -> BreakerState:
    return BreakerState(
        name=state.name,
        until=at + pause,
        tripped_at=at,
        reason=reason,
        events=(),
        version=state.version + 1,
    )


def reset(state: BreakerState) -> BreakerState:
    """The pause is over. Events from during the pause are spent with it (the pause already
    answered them); later ones count afresh."""
    until = state.until
    events = state.events if until is None else tuple(e for e in state.events if e > until)
    return BreakerState(name=state.name, events=events, version=state.version + 1)


def _noun(name: BreakerName) -> str:
    return "losing closes" if name is BreakerName.RAPID_LOSS else "order errors"
