"""The regime function's logic (every 5 minutes in the session): VIX -> regime -> stored state.

    run_regime(RegimeDependencies(...), scheduled_time) -> RunResult

The step is ``trading.regime.regime_tick``, the very function the backtester replays over an
intraday VIX series (``RegimeTimeline.intraday``): a new New York day starts a new session
state, the reading is classified with staleness and hysteresis. The state of the day (the
pre-market run's, then each tick's) is the hysteresis anchor; the result is stored
(``SessionStore.save_regime``) for the signals function to route by.

At the open the vendor's latest VIX is still the prior close: ``regime_tick`` counts a reading
from before the open as observed at the open until open + the detector's max age, so the first
ticks keep the pre-market regime instead of turning it UNKNOWN (and alerting) every morning.

Fail closed: a vendor error, no reading, a NaN or a stale one is UNKNOWN, which the safety
config closes to entries (0 trades / 0 positions). A change of regime is audited
(``AuditKind.REGIME``, both sides) before it is stored, and alerted after: a retry of a run whose
write failed audits again (the same change, twice) but alerts once (the key names the day and
both regimes, within the cooldown). Outside the session it does nothing, and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pydantic import JsonValue

from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.errors import DataError, SecretUnavailableError
from maxtrader.domain.models import AuditKind, AuditRecord
from maxtrader.domain.ports import Alerts, MarketData, SessionStore, StateStore, VixReading
from maxtrader.domain.regime import RegimeDetector, RegimeState
from maxtrader.operations import alert_kinds
from maxtrader.operations.run_result import RunResult
from maxtrader.trading.regime import regime_tick

FUNCTION = "regime"


@dataclass(frozen=True, slots=True)
class RegimeDependencies:
    market: Callable[[], MarketData]  # built on first use: a vendor secret that fails is no VIX
    sessions: SessionStore
    state: StateStore  # the audit log
    alerts: Alerts
    calendar: MarketCalendar
    detector: RegimeDetector


def regime_view(state: RegimeState | None) -> dict[str, JsonValue]:
    if state is None:
        return {"regime": None}
    return {
        "regime": state.regime.value,
        "vix": state.vix,
        "observed_at": None if state.observed_at is None else state.observed_at.isoformat(),
        "reason": state.reason,
    }


def latest_reading(market: Callable[[], MarketData]) -> tuple[VixReading | None, str | None]:
    """The vendor's latest VIX, or None with why: a vendor error, or a client that cannot be
    built (its secret), is no reading, so the regime fails closed instead of the run crashing
    and leaving the last stored regime in force."""
    try:
        return market().latest_vix(), None
    except (DataError, SecretUnavailableError) as exc:
        return None, f"VIX unavailable ({type(exc).__name__}: {exc})"


def run_regime(deps: RegimeDependencies, now: datetime) -> RunResult:
    session = deps.calendar.session_at(now)
    if session is None:
        return RunResult.skipped(FUNCTION, now, f"market closed at {now.isoformat()}")
    previous = deps.sessions.regime(session.day)
    reading, problem = latest_reading(deps.market)
    state = regime_tick(deps.detector, previous, reading, now, session_open=session.open)
    if problem is not None:
        state = state.model_copy(update={"reason": problem})
    before = previous.regime if previous is not None else None
    changed = before is not state.regime
    result = RunResult(
        FUNCTION,
        now,
        acted=True,
        summary=(
            f"regime {before.value if before else 'none'} -> {state.regime.value}"
            if changed
            else f"regime {state.regime.value} (unchanged)"
        ),
        detail={
            "day": session.day.isoformat(),
            "before": regime_view(previous),
            "after": regime_view(state),
            "changed": changed,
        },
    )
    if changed:
        deps.state.append_audit(
            [
                AuditRecord(
                    ts=now,
                    kind=AuditKind.REGIME,
                    subject="regime",
                    actor=FUNCTION,
                    detail=result.detail,
                )
            ]
        )
    deps.sessions.save_regime(state)
    if changed:
        alert = alert_kinds.regime_change(
            session.day, before, state.regime, state.reason, result.detail
        )
        result.publish(deps.alerts, alert)
    return result


__all__ = ["FUNCTION", "RegimeDependencies", "latest_reading", "regime_view", "run_regime"]
