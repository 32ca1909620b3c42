"""The end-of-day function's logic: at the day's flatten time, leave nothing open and report.

    run_eod(EodDependencies(...), scheduled_time) -> RunResult

The schedule fires at fixed New York clock times: the flatten minute of both possible closes
(13:00 and 16:00) and a second chance 5 minutes after each (infra/maxtrader_infra/schedules.py;
tests/infra/test_schedules.py ties those firings to ``flatten_due``); the calendar decides. It
acts only when the scheduled minute falls in ``[flatten time, flatten time + cadence)`` of
today's session (and before its close), the flatten time being
``close - Schedules.eod_before_close_minutes`` (15:45 on a 16:00 close, 12:45 on a 13:00 early
close): the flatten firing and its second chance both act, the second finding the day flat
when the first got there (no order; the report is stored again and its alert deduplicated).
Any other firing, and any firing on a holiday or weekend, does nothing and says so. A
retried invocation carries its original scheduled time and simply flattens again (idempotent);
one that really runs after the close sends no order (a market order would wait for the next
open) and only confirms, so whatever is left open is alerted.

Steps, each standing alone (a broker failure in one does not skip the next):
0. the system's own exits first (``settle``: the monitor's run, which at the flatten time exits
every ticket under its own ``mt-<signal>-exit`` order, cancelling a bracket's legs first), up
to ``confirm_checks`` passes until flat: an exit the system sends is booked to its ticket,
whereas a broker-side "close all" order belongs to no ticket, so its fill would be lost to the
P&L and reconciliation would call it drift. Only when that leaves something open:
1. cancel every open order; 2. close every position (one market order each; bracket legs are
cancelled first); 3. confirm flat: re-read positions and open orders up to ``confirm_checks``
times, ``wait`` between reads (the closing orders need the market to fill them); still not flat
-> an alert naming what is left, at once (before anything needs the state store); 4. the daily
report: realized and unrealized P&L against the start-of-day equity, entries and fills, breaker
trips, rejections by check, switch changes; stored as an audit record
(``AuditKind.DAILY_REPORT``) and sent as an email-length alert.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import JsonValue

from maxtrader.domain.calendar import MarketCalendar, Session
from maxtrader.domain.clock import NEW_YORK, Clock
from maxtrader.domain.errors import BrokerError, SecretUnavailableError
from maxtrader.domain.models import AuditKind, AuditRecord
from maxtrader.domain.ports import Alerts, Broker, StateStore
from maxtrader.operations import alert_kinds
from maxtrader.operations.run_result import RunResult

FUNCTION = "eod"
CONFIRM_CHECKS = 6
CONFIRM_WAIT_SECONDS = 2.0  # 6 reads over ~10 s: market orders in liquid ETFs fill in < 1 s
_BROKER_FAULTS = (BrokerError, SecretUnavailableError)


@dataclass(frozen=True, slots=True)
class EodDependencies:
    state: StateStore
    broker: Callable[[], Broker]
    alerts: Alerts
    calendar: MarketCalendar
    clock: Clock  # when the run really happens (a late retry must not trade after the close)
    before_close: timedelta  # Schedules.eod_before_close_minutes
    # A firing this long after the flatten minute still acts (the schedule's second chance, 5
    # minutes later, must fall inside it).
    cadence: timedelta = timedelta(minutes=15)
    wait: Callable[[float], None] = field(default=lambda _seconds: None)
    confirm_checks: int = CONFIRM_CHECKS
    confirm_wait_seconds: float = CONFIRM_WAIT_SECONDS
    # The system's own exits (the monitor's run); None: straight to the broker-side flatten.
    settle: Callable[[], object] | None = None


def flatten_due(
    calendar: MarketCalendar, now: datetime, before_close: timedelta, cadence: timedelta
) -> tuple[Session | None, str]:
    """Today's session when ``now`` is its flatten time (within one cadence), else why not."""
    day = now.astimezone(NEW_YORK).date()
    session = calendar.session(day)
    if session is None:
        return None, f"no session on {day.isoformat()} (holiday or weekend)"
    at = session.flatten_time(before_close)
    end = min(at + cadence, session.close)
    if not at <= now < end:
        local = at.astimezone(NEW_YORK).strftime("%H:%M")
        kind = "early close" if session.is_early_close else "regular close"
        return None, f"not the flatten time: today's is {local} New York ({kind})"
    return session, ""


def _left_open(broker: Broker) -> list[str]:
    """What is still open: positions (symbol qty) and open orders (order symbol)."""
    left = [f"{p.symbol} {p.qty:+d}" for p in broker.positions()]
    return left + [f"order {o.symbol} {o.side.value} {o.qty}" for o in broker.open_orders()]


def _settled(
    deps: EodDependencies, settle: Callable[[], object], broker: Broker, errors: list[str]
) -> bool:
    """Run the system's own exits until the broker is flat (True) or the passes run out."""
    for attempt in range(deps.confirm_checks):
        if attempt:
            deps.wait(deps.confirm_wait_seconds)
        try:
            settle()
            if not _left_open(broker):
                return True
        except Exception as exc:  # whatever the monitor raises, the fallback flatten runs
            errors.append(f"own exits: {type(exc).__name__}: {exc}")
    return False


def flatten(deps: EodDependencies, *, trade: bool = True) -> tuple[list[str], list[str], int]:
    """Cancel, close (unless not ``trade``), confirm: (what is left open, errors, reads made)."""
    errors: list[str] = []
    try:
        broker = deps.broker()
    except _BROKER_FAULTS as exc:
        return ["unknown: broker unavailable"], [f"broker: {type(exc).__name__}: {exc}"], 0
    steps: tuple[tuple[str, Callable[[], object]], ...] = (
        ("cancel all orders", broker.cancel_all),
        ("close all positions", broker.close_all_positions),
    )
    if not trade:
        errors.append("ran after the close: no order sent (it would wait for the next open)")
        steps = ()
    elif deps.settle is not None and _settled(deps, deps.settle, broker, errors):
        steps = ()  # the system's own exits left it flat: nothing for the broker-side flatten
    for step, action in steps:
        try:
            action()
        except _BROKER_FAULTS as exc:
            errors.append(f"{step}: {type(exc).__name__}: {exc}")
    left: list[str] = ["unknown: not read"]
    reads = 0
    for attempt in range(deps.confirm_checks):
        if attempt:
            deps.wait(deps.confirm_wait_seconds)
        reads += 1
        try:
            left = _left_open(broker)
        except _BROKER_FAULTS as exc:
            left = [f"unknown: {type(exc).__name__}"]
            continue
        if not left:
            break
    return left, errors, reads


@dataclass(frozen=True, slots=True)
class DailyReport:
    day: str
    early_close: bool
    start_of_day_equity: float | None
    realized: float
    unrealized: float
    entries: int
    fills: int
    breaker_trips: tuple[dict[str, JsonValue], ...]
    rejections_by_check: dict[str, int]
    switch_changes: int

    @property
    def pnl(self) -> float:
        return self.realized + self.unrealized

    @property
    def pnl_pct(self) -> float | None:
        return self.pnl / self.start_of_day_equity if self.start_of_day_equity else None

    def summary(self, flat: bool) -> str:
        money = f"P&L {self.pnl:+,.2f}"
        if self.pnl_pct is not None:
            money += f" ({self.pnl_pct:+.2%})"
        return (
            f"{'flat' if flat else 'NOT FLAT'}, {money}, {self.entries} entries, "
            f"{len(self.breaker_trips)} trips, {sum(self.rejections_by_check.values())} rejections"
        )

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "day": self.day,
            "early_close": self.early_close,
            "start_of_day_equity": self.start_of_day_equity,
            "realized": self.realized,
            "unrealized": self.unrealized,
            "pnl": self.pnl,
            "pnl_pct": self.pnl_pct,
            "entries": self.entries,
            "fills": self.fills,
            "breaker_trips": list(self.breaker_trips),
            "rejections_by_check": dict(self.rejections_by_check),
            "switch_changes": self.switch_changes,
        }


def daily_report(state: StateStore, session: Session) -> DailyReport:
    """The day's figures from the state store and its audit log (New York trading date)."""
    day = session.day.isoformat()
    records = state.audit_log(day)
    rejections: Counter[str] = Counter()
    breakers: list[dict[str, JsonValue]] = []
    for r in records:
        if r.kind is AuditKind.VERDICT and r.detail.get("approved") is False:
            failures = r.detail.get("failures")
            for failure in failures if isinstance(failures, list) else []:
                if isinstance(failure, dict):
                    rejections[str(failure.get("name"))] += 1
        elif r.kind is AuditKind.BREAKER_TRIP:
            breakers.append(
                {"breaker": r.subject, "at": r.ts.isoformat(), "reason": r.detail.get("reason")}
            )
    switches = {AuditKind.KILL_SWITCH, AuditKind.SAFE_MODE}
    return DailyReport(
        day=day,
        early_close=session.is_early_close,
        start_of_day_equity=state.start_of_day_equity(day),
        realized=state.realized(day),
        unrealized=state.portfolio().unrealized,
        entries=state.day_entries(day),
        # the fill itself (actor broker), not its losing-close marker
        fills=sum(1 for r in records if r.kind is AuditKind.FILL and r.actor == "broker"),
        breaker_trips=tuple(breakers),
        rejections_by_check=dict(sorted(rejections.items())),
        switch_changes=sum(1 for r in records if r.kind in switches),
    )


def run_eod(deps: EodDependencies, now: datetime) -> RunResult:
    session, why = flatten_due(deps.calendar, now, deps.before_close, deps.cadence)
    if session is None:
        return RunResult.skipped(FUNCTION, now, why)
    left, errors, reads = flatten(deps, trade=deps.clock.now() < session.close)
    flat = not left
    flatten_detail: dict[str, JsonValue] = {
        "flat": flat,
        "left_open": list(left),
        "errors": list(errors),
        "reads": reads,
    }
    result = RunResult(FUNCTION, now, acted=True, summary="", detail={"flatten": flatten_detail})
    if not flat:  # first, before anything that needs the state store: this one cannot wait
        alert = alert_kinds.eod_not_flat(session.day, now, left, flatten_detail)
        result.publish(deps.alerts, alert)
    figures = daily_report(deps.state, session)
    report = {**figures.to_dict(), "reported_at": now.isoformat(), "flatten": flatten_detail}
    flatten_record = AuditRecord(ts=now, kind=AuditKind.BROKER_RESPONSE, subject="eod_flatten",
                                 actor=FUNCTION, detail=flatten_detail)  # fmt: skip
    report_record = AuditRecord(ts=now, kind=AuditKind.DAILY_REPORT, subject="daily_report",
                                actor=FUNCTION, detail=report)  # fmt: skip
    deps.state.append_audit([flatten_record, report_record])
    result.summary, result.detail = figures.summary(flat), report
    result.publish(deps.alerts, alert_kinds.eod_report(session.day, result.summary, report))
    return result


__all__ = [
    "FUNCTION",
    "DailyReport",
    "EodDependencies",
    "daily_report",
    "flatten",
    "flatten_due",
    "run_eod",
]
