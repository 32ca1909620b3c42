"""The pre-market function's logic (09:00 New York): arm the day, or say why it is not armed.

    run_premarket(PremarketDependencies(...), scheduled_time) -> RunResult

1. The start-of-day equity from the broker, stored once per day by the safety engine
   (``record_start_of_day_equity``: the daily-loss limit is measured against it; a different
   figure already stored is a conflict, never overwritten).
2. The regime for the day from the prior session's VIX close: before the open the vendor's
   latest value *is* that close, so it is classified without the intraday staleness rule
   (``RegimeDetector.update`` without times, as the backtester does with daily closes) as long
   as it was observed on or after the prior session's day; anything older, absent or invalid is
   UNKNOWN. Stored for the day: the regime function's ticks anchor their hysteresis on it.
3. The strategies' session preparation from REST history (``prepare_sessions``; see the marked
   call site in functions/premarket/handler.py).
4. Readiness: one alert per day, "armed: NORMAL_VOL, limits ..., kill switch off" or "NOT
   armed: <every reason>". Any step that fails is a reason, never a crash: the alert is the
   point of the run.

On a day with no session it does nothing, and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pydantic import JsonValue

from maxtrader.domain.calendar import MarketCalendar, Session
from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.errors import BrokerError, MaxTraderError, SecretUnavailableError
from maxtrader.domain.models import AuditKind, AuditRecord, Regime
from maxtrader.domain.ports import Alerts, Broker, MarketData, SessionStore
from maxtrader.domain.regime import RegimeDetector, RegimeState
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.domain.safety.state import BreakerName, StateConflictError, SwitchName
from maxtrader.operations import alert_kinds
from maxtrader.operations.regime import latest_reading, regime_view
from maxtrader.operations.run_result import RunResult

FUNCTION = "premarket"
# Prepares every strategy's session state for ``session``; returns how many it prepared.
SessionPreparation = Callable[[Session], int]


@dataclass(frozen=True, slots=True)
class PremarketDependencies:
    engine: SafetyEngine
    broker: Callable[[], Broker]
    market: Callable[[], MarketData]  # built on first use (see regime.latest_reading)
    sessions: SessionStore
    alerts: Alerts
    calendar: MarketCalendar
    detector: RegimeDetector
    prepare_sessions: SessionPreparation | None = None  # None: not wired (a reason not armed)


def prior_close_regime(deps: PremarketDependencies, session: Session, now: datetime) -> RegimeState:
    state = deps.detector.start_session(session.day)
    reading, problem = latest_reading(deps.market)
    if reading is None:
        return deps.detector.update(state, None).model_copy(
            update={"reason": problem or "VIX is absent"}
        )
    prior = deps.calendar.previous_sessions(session.day, 1)[0]
    seen = reading.observed_at.astimezone(NEW_YORK).date()
    if seen < prior.day or reading.observed_at > now:
        unknown = deps.detector.update(state, None)
        why = f"VIX observed {reading.observed_at.isoformat()}, not the prior session's close"
        return unknown.model_copy(update={"reason": why})
    fresh = deps.detector.update(state, reading.value)  # a daily close: fresh by construction
    return fresh.model_copy(update={"observed_at": reading.observed_at})


def _record_equity(deps: PremarketDependencies, reasons: list[str]) -> float | None:
    try:
        equity = deps.broker().account().equity
    except (BrokerError, SecretUnavailableError) as exc:
        reasons.append(f"no start-of-day equity (broker: {type(exc).__name__})")
        return None
    try:
        deps.engine.record_start_of_day_equity(equity, actor=FUNCTION)
    except StateConflictError:
        reasons.append("a different start-of-day equity is already stored for today")
    except MaxTraderError as exc:  # an equity the engine refuses, or a store that is down
        reasons.append(f"start-of-day equity not stored ({type(exc).__name__}: {exc})")
    return equity


def _prepare(deps: PremarketDependencies, session: Session, reasons: list[str]) -> int | None:
    if deps.prepare_sessions is None:
        reasons.append("strategy sessions not prepared (not wired)")
        return None
    try:
        return deps.prepare_sessions(session)
    except MaxTraderError as exc:
        reasons.append(f"strategy sessions not prepared ({type(exc).__name__}: {exc})")
        return None


def _safety_reasons(deps: PremarketDependencies, now: datetime, reasons: list[str]) -> bool:
    """Adds why the switches and breakers hold entries; whether the kill switch is on."""
    store = deps.engine.store
    kill = store.switch(SwitchName.KILL_SWITCH)
    if kill.on:
        reasons.append(f"kill switch ON ({kill.reason or 'no reason given'})")
    safe = store.switch(SwitchName.SAFE_MODE)
    if safe.on:
        reasons.append(f"safe mode ON ({safe.reason or 'no reason given'})")
    for name in BreakerName:
        if store.breaker(name).paused(now):
            reasons.append(f"{name.value} breaker paused")
    if store.high_water_mark().halted:
        reasons.append("high-water-mark drawdown stop halted")
    return kill.on


def run_premarket(deps: PremarketDependencies, now: datetime) -> RunResult:
    session = deps.calendar.session(now.astimezone(NEW_YORK).date())
    if session is None:
        return RunResult.skipped(FUNCTION, now, f"no session on {now.astimezone(NEW_YORK).date()}")
    reasons: list[str] = []
    equity = _record_equity(deps, reasons)
    regime = prior_close_regime(deps, session, now)
    deps.engine.store.append_audit(
        [
            AuditRecord(
                ts=now,
                kind=AuditKind.REGIME,
                subject="regime",
                actor=FUNCTION,
                detail={"day": session.day.isoformat(), "after": regime_view(regime)},
            )
        ]
    )
    deps.sessions.save_regime(regime)
    if regime.regime is Regime.UNKNOWN:
        reasons.append(f"regime UNKNOWN ({regime.reason})")
    prepared = _prepare(deps, session, reasons)
    held: list[str] = []
    killed = _safety_reasons(deps, now, held)
    reasons = held + reasons  # what holds entries leads the line: it is what the SMS shows
    limits = deps.engine.limits_for(regime.regime)
    loss = limits.max_daily_loss_abs
    if equity is not None:
        loss = min(limits.max_daily_loss_pct * equity, loss)
    limits_text = (
        f"limits {limits.max_daily_trades} trades/{limits.max_concurrent_positions} pos, "
        f"loss stop ${loss:,.0f}"
    )
    armed = not reasons
    summary = (
        f"{regime.regime.value}, {limits_text}, kill switch {'ON' if killed else 'off'}"
        if armed
        else "; ".join(reasons)
    )
    detail: dict[str, JsonValue] = {
        "day": session.day.isoformat(),
        "early_close": session.is_early_close,
        "close": session.close.isoformat(),
        "armed": armed,
        "reasons": list(reasons),
        "start_of_day_equity": equity,
        "regime": regime_view(regime),
        "limits": limits.model_dump(mode="json"),
        "daily_loss_stop": loss,
        "strategy_sessions_prepared": prepared,
    }
    result = RunResult(
        FUNCTION,
        now,
        acted=True,
        summary=("armed: " if armed else "NOT armed: ") + summary,
        detail=detail,
    )
    result.publish(deps.alerts, alert_kinds.readiness(session.day, armed, summary, detail))
    return result


__all__ = [
    "FUNCTION",
    "PremarketDependencies",
    "SessionPreparation",
    "prior_close_regime",
    "run_premarket",
]
