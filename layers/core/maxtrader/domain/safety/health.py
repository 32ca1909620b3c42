"""Health evaluation (the health function, every minute in the session), as a pure function.

Checks: market hours (calendar session and, when given, the trading window), data freshness of
each traded symbol, VIX freshness, broker connectivity (failing only after
``max_consecutive_failures`` failed probes in a row), account flags and the broker's clock
agreeing with the calendar. Any failure puts the engine into automatic safe mode.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, Field

from maxtrader.config.safety import Health
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.errors import CalendarError
from maxtrader.domain.models import CheckResult, DomainModel, Symbol
from maxtrader.domain.safety.checks.base import failed, passed, verdict_of
from maxtrader.domain.safety.context import AccountFlags
from maxtrader.domain.safety.state import HealthState


class HealthInputs(DomainModel):
    """What the health function observed this minute.

    ``newest_bars`` maps each traded symbol to the close time of its newest bar (a symbol with
    no bar at all maps to None and fails). ``window`` is today's [start, end) trading window.
    ``account`` None fails closed, unless the broker could not be reached this minute: then
    ``broker_connectivity`` counts the failure (a flag cannot be read from a broker that does
    not answer, and failing on it would make the consecutive-failure allowance meaningless).
    """

    newest_bars: dict[Symbol, AwareDatetime | None] = Field(default_factory=dict)
    vix_at: AwareDatetime | None = None
    broker_ok: bool
    account: AccountFlags | None = None
    broker_clock_open: bool | None = None
    broker_time: AwareDatetime | None = None  # the broker clock's timestamp (skew check)
    window: tuple[AwareDatetime, AwareDatetime] | None = None


class HealthReport(DomainModel):
    checked_at: AwareDatetime
    checks: tuple[CheckResult, ...]
    safe_mode: bool  # safe mode after this evaluation
    safe_mode_changed: bool
    broker_failures: Annotated[int, Field(ge=0)]

    @property
    def healthy(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.passed)


def evaluate(
    inputs: HealthInputs,
    state: HealthState,
    config: Health,
    calendar: MarketCalendar | None,
    now: datetime,
) -> tuple[tuple[CheckResult, ...], HealthState]:
    failures = 0 if inputs.broker_ok else state.broker_failures + 1
    new_state = replace(state, broker_failures=failures, checked_at=now, version=state.version + 1)
    checks = (
        _market_hours(inputs, calendar, now),
        *_freshness(inputs, config, now),
        _vix(inputs, config, now),
        verdict_of(
            "broker_connectivity",
            failures < config.max_consecutive_failures,
            f"{failures} consecutive broker failures",
            failures,
            config.max_consecutive_failures,
        ),
        _account(inputs.account, observed=inputs.broker_ok),
        _broker_clock(inputs, config, calendar, now),
    )
    return checks, new_state


def _market_hours(
    inputs: HealthInputs, calendar: MarketCalendar | None, now: datetime
) -> CheckResult:
    if calendar is None:
        return failed("market_hours", "no exchange calendar configured (fail closed)")
    try:
        session = calendar.session_at(now)
    except CalendarError as exc:
        return failed("market_hours", str(exc))
    if session is None:
        return failed("market_hours", f"market closed at {now.isoformat()}")
    if inputs.window is not None and not inputs.window[0] <= now < inputs.window[1]:
        return failed("market_hours", "outside the trading window")
    return passed("market_hours")


def _freshness(inputs: HealthInputs, config: Health, now: datetime) -> list[CheckResult]:
    lim = float(config.max_staleness_seconds)
    if not inputs.newest_bars:  # nothing observed is not "all fresh"
        return [failed("data_freshness", "no traded symbol reported (fail closed)", limit=lim)]
    results = []
    for symbol, newest in sorted(inputs.newest_bars.items()):
        name = f"data_freshness:{symbol}"
        if newest is None:
            results.append(failed(name, f"no bar for {symbol}", limit=lim))
            continue
        what = f"{symbol} newest bar"
        results.append(_age_check(name, what, newest, lim, config=config, now=now))
    return results


def _vix(inputs: HealthInputs, config: Health, now: datetime) -> CheckResult:
    lim = float(config.vix_max_age_seconds)
    if inputs.vix_at is None:
        return failed("vix_freshness", "no VIX value", limit=lim)
    return _age_check("vix_freshness", "VIX", inputs.vix_at, lim, config=config, now=now)


def _age_check(
    name: str, what: str, stamped: datetime, limit: float, *, config: Health, now: datetime
) -> CheckResult:
    """Fresh: at most ``limit`` old, and not from the future beyond the allowed clock skew (a
    future stamp is a bad clock or a bad record, and would otherwise look fresh forever)."""
    age = (now - stamped).total_seconds()
    if age < -config.max_clock_skew_seconds:
        return failed(name, f"{what} stamped {-age:.0f}s in the future", age, limit)
    return verdict_of(name, age < limit, f"{what} {age:.0f}s old", age, limit)


def marks_check(refused: dict[str, str]) -> CheckResult:
    """Fails while any held symbol's latest mark was refused by its collar (the data is suspect)."""
    if refused:
        listed = "; ".join(f"{sym}: {why}" for sym, why in sorted(refused.items()))
        return failed("marks", f"refused marks: {listed}", observed=len(refused), limit=0)
    return passed("marks")


def _account(flags: AccountFlags | None, *, observed: bool) -> CheckResult:
    if flags is None and not observed:
        return passed("account_flags")  # the broker did not answer: broker_connectivity counts it
    if flags is None:
        return failed("account_flags", "account flags unknown (fail closed)")
    if flags.blocked:
        return failed("account_flags", "account flags set: " + ", ".join(flags.blocked))
    return passed("account_flags")


def _broker_clock(
    inputs: HealthInputs, config: Health, calendar: MarketCalendar | None, now: datetime
) -> CheckResult:
    if inputs.broker_clock_open is None or calendar is None:
        return passed("broker_clock")  # not observed this minute: nothing to disagree with
    try:
        ours = calendar.is_open(now)
    except CalendarError:
        return passed("broker_clock")  # market_hours already reports the calendar's gap
    if inputs.broker_clock_open != ours:
        return failed(
            "broker_clock", f"broker says open={inputs.broker_clock_open}, calendar says {ours}"
        )
    if inputs.broker_time is not None:
        skew = (inputs.broker_time - now).total_seconds()
        if abs(skew) > config.max_clock_skew_seconds:
            return failed(
                "broker_clock",
                f"broker clock {skew:+.0f}s from ours",
                abs(skew),
                float(config.max_clock_skew_seconds),
            )
    return passed("broker_clock")
