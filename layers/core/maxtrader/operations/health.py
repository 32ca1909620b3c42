"""The health function's logic (every minute in the session): observe, then let the engine judge.

    run_health(HealthDependencies(...), scheduled_time) -> RunResult

It gathers what ``domain/safety/health.py`` checks (specs/safety.md, "Health checks") and hands
it to ``SafetyEngine.evaluate_health``, which turns automatic safe mode on at a failure and off
once every check passes again (never an operator's safe mode):

- market hours: the calendar's session at the scheduled minute, and its regular hours as the
  window (outside the session the function does nothing and says so: a closed market is not a
  failure to alert about every minute of the night);
- data freshness: each traded symbol's newest bar in the session store (what ingest stored),
  and the vendor's latest VIX (a NaN, zero or negative value is no reading). The data clock
  starts at the open: in the first minutes of a session, before any bar of the day can have
  closed, the open stands in for data not yet due (a symbol still without a bar
  ``max_staleness`` after the open fails as "no bar");
- broker connectivity (``account()``, then ``clock()``): one failure is counted, the check fails
  after ``max_consecutive_failures`` in a row; account flags; the broker's clock against the
  calendar (open/closed) and against ours (skew).

The scheduled minute decides whether to check, and so does the instant it runs (the engine's
clock): a retry that runs after the close skips rather than failing ``market_hours``.

A failure alerts (key: the failing checks, so a persisting failure pages once per cooldown and a
new one at once); clearing the automatic safe mode alerts too. Each check's outcome is in the
result for the handler's metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import JsonValue

from maxtrader.domain.calendar import MarketCalendar, Session
from maxtrader.domain.errors import BrokerError, SecretUnavailableError
from maxtrader.domain.models import AuditKind, CheckResult
from maxtrader.domain.ports import Alerts, Broker, MarketData, SessionStore
from maxtrader.domain.regime import is_valid_vix
from maxtrader.domain.safety.audit import check_detail
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.domain.safety.health import HealthInputs, HealthReport
from maxtrader.domain.safety.state import SwitchName
from maxtrader.operations import alert_kinds
from maxtrader.operations.regime import latest_reading
from maxtrader.operations.run_result import RunResult

FUNCTION = "health"
BAR_LOOKBACK = timedelta(minutes=30)  # bars older than this are stale whatever the limit


@dataclass(frozen=True, slots=True)
class HealthDependencies:
    engine: SafetyEngine  # built with the calendar (the market-hours check needs it)
    sessions: SessionStore
    market: Callable[[], MarketData]  # built on first use (see regime.latest_reading)
    broker: Callable[[], Broker]  # built on first use: a secret that fails is a broker failure
    alerts: Alerts
    calendar: MarketCalendar
    symbols: Sequence[str]


def _newest_bars(
    sessions: SessionStore, symbols: Sequence[str], session: Session, now: datetime
) -> dict[str, datetime | None]:
    """Each symbol's newest bar close, in one read of the store for all of them. Up to a
    minute ahead: a bar stamped in the future must be seen, to fail as skewed."""
    start = max(session.open, now - BAR_LOOKBACK)
    newest = sessions.newest_bars(symbols, start, now + timedelta(minutes=1))
    return {s: bar.closed_at if bar is not None else None for s, bar in newest.items()}


def _since_open(
    stamp: datetime | None, session: Session, now: datetime, grace: timedelta
) -> datetime | None:
    """Within ``grace`` of the open, the open stands in for data not yet due."""
    if now - session.open >= grace:
        return stamp
    return session.open if stamp is None else max(stamp, session.open)


def observe(deps: HealthDependencies, session: Session, now: datetime) -> HealthInputs:
    config = deps.engine.config.health
    bar_grace = timedelta(seconds=config.max_staleness_seconds)
    vix_grace = timedelta(seconds=config.vix_max_age_seconds)
    newest = {
        s: _since_open(stamp, session, now, bar_grace)
        for s, stamp in _newest_bars(deps.sessions, deps.symbols, session, now).items()
    }
    reading, _ = latest_reading(deps.market)
    usable = reading is not None and is_valid_vix(reading.value)  # a NaN is no reading at all
    vix_at = _since_open(
        reading.observed_at if usable and reading else None, session, now, vix_grace
    )
    try:
        broker = deps.broker()
        account = broker.account()
        clock = broker.clock()
    except (BrokerError, SecretUnavailableError):
        return HealthInputs(
            newest_bars=newest, vix_at=vix_at, broker_ok=False, window=(session.open, session.close)
        )
    return HealthInputs(
        newest_bars=newest,
        vix_at=vix_at,
        broker_ok=True,
        account=account.flags,
        broker_clock_open=clock.is_open,
        broker_time=clock.timestamp,
        window=(session.open, session.close),
    )


def _checks_view(checks: Sequence[CheckResult]) -> list[JsonValue]:
    return [{"passed": c.passed, **check_detail(c)} for c in checks]


def run_health(deps: HealthDependencies, now: datetime) -> RunResult:
    session = deps.calendar.session_at(now)
    if session is None:
        return RunResult.skipped(FUNCTION, now, f"market closed at {now.isoformat()}")
    # The engine judges at its own clock: a retry that runs after the close must not turn a
    # closed market into a health failure (and a page) for a minute that was in the session.
    running = deps.engine.clock.now()
    if not session.contains(running):
        return RunResult.skipped(FUNCTION, now, f"ran at {running.isoformat()}, after the session")
    inputs = observe(deps, session, now)
    with deps.engine.invocation() as inv:
        report: HealthReport = deps.engine.evaluate_health(inputs)
    failed = [c.name for c in report.failures]
    result = RunResult(
        FUNCTION,
        now,
        acted=True,
        summary=("healthy" if report.healthy else "FAILED: " + ", ".join(failed))
        + (", safe mode on" if report.safe_mode else ""),
        detail={
            "healthy": report.healthy,
            "safe_mode": report.safe_mode,
            "safe_mode_changed": report.safe_mode_changed,
            "broker_failures": report.broker_failures,
            # The VIX reading's age as health judged it (counted from the open at first);
            # None: no usable reading. The VixAgeSeconds metric and its alarm read it.
            "vix_age_seconds": (
                None if inputs.vix_at is None else (now - inputs.vix_at).total_seconds()
            ),
            "checks": _checks_view(report.checks),
            "events": [e.kind.value for e in inv.events],
        },
    )
    if not report.healthy:
        result.publish(deps.alerts, alert_kinds.health_failure(report.failures, result.detail))
    elif report.safe_mode_changed and not report.safe_mode:
        cleared = [e for e in inv.events if e.kind is AuditKind.SAFE_MODE]
        version = deps.engine.store.switch(SwitchName.SAFE_MODE).version if cleared else 0
        result.publish(deps.alerts, alert_kinds.health_restored(version, result.detail))
    return result


def check_outcomes(result: RunResult) -> dict[str, bool]:
    """Each check's name -> passed, from a health run's result (the handler's metrics)."""
    checks = result.detail.get("checks")
    if not isinstance(checks, list):
        return {}
    return {
        str(c["name"]): bool(c["passed"])
        for c in checks
        if isinstance(c, dict) and "name" in c and "passed" in c
    }


__all__ = ["FUNCTION", "HealthDependencies", "check_outcomes", "observe", "run_health"]
