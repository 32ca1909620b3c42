"""The three circuit breakers as pure transitions: record an event, trip, notice the reset.

A trip sets ``until`` (now + pause) and clears the event window, so the losses or errors that
tripped a breaker cannot trip it again after the pause. The reset is recorded lazily, by the first
caller that sees ``now >= until`` (a later entry or the monitor).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from maxtrader.config.safety import Breakers
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.safety.state import BreakerName, BreakerState


def record_event(
    state: BreakerState, at: datetime, config: Breakers, *, recorded: bool = False
) -> tuple[BreakerState, bool]:
    """Add one losing close / order error; returns the new state and whether it tripped.

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
    start = at - timedelta(minutes=window)
    # "within 30 min": an event exactly `window` old has left the window.
    events = tuple(e for e in state.events if e > start)
    if not recorded:
        events = (*events, at)
    if len(events) >= threshold and not state.paused(at):
        reason = f"{len(events)} {_noun(state.name)} within {window} min (limit {threshold})"
        return trip(state, at, timedelta(minutes=pause), reason), True
    return replace(state, events=events, version=state.version + 1), False


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
    return BreakerState(name=state.name, events=state.events, version=state.version + 1)


def _noun(name: BreakerName) -> str:
    return "losing closes" if name is BreakerName.RAPID_LOSS else "order errors"
