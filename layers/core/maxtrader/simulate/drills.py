"""Fault drills: a failure injected into the simulated day, and a check of how the system took it.

    drills = build_drills(["broker-5xx", "late-pushes"], session)   # DrillError on an unknown name
    drill.arm(run); drill.before(run, step); drill.check(run, summary) -> "ok" | what went wrong

Each drill names the functions it exercises (``needs``); when one is not deployed the drill
reports ``not deployed: <names>`` instead of a verdict it could not reach. The checks read the
system's records (audit log, stored bars, broker emulator, delivered alerts), never a handler's
answer. Invariants every drill must keep: no duplicate ``client_order_id`` at the broker, no
lost fill (each filled broker order booked by a fill record), the store reconciled with the
broker at the end, and an alert for each breaker trip or kill-switch change.

    broker-timeouts      an order accepted while its answer never comes (one read timeout)
    broker-5xx           submissions answered 500 and 503 (after the broker acted, once)
    duplicate-pushes     every 30th minute's push arrives twice (the relay's retry)
    late-pushes          three minutes never pushed: the signals REST poll must fill them in
    store-throttling     DynamoDB throttles every call for three minutes (a botocore hook)
    kill-switch-midday   an operator engages the kill switch at 12:00 and releases it at 13:00
    loss-streak          the market turns against each held position: the rapid-loss breaker
    reconciliation-drift a position opened at the broker outside the system at 11:30
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from maxtrader.domain.calendar import Session
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import AuditKind, Bar
from maxtrader.emulators.alpaca import Fault
from maxtrader.simulate.summary import Summary
from maxtrader.simulate.timeline import Step, StepKind

if TYPE_CHECKING:
    from maxtrader.simulate.runner import Simulation

OK = "ok"


class DrillError(InvalidInputError):
    """An unknown drill name."""


class Drill:
    name = ""
    needs: tuple[str, ...] = ()

    def __init__(self, session: Session) -> None:
        self.session = session
        self.notes: list[str] = []

    def minute(self, n: int) -> datetime:
        return self.session.open + timedelta(minutes=n)

    def withheld(self) -> frozenset[datetime]:
        return frozenset()

    def pushed_twice(self) -> frozenset[datetime]:
        return frozenset()

    def arm(self, run: Simulation) -> None:
        """Before the first step."""

    def before(self, run: Simulation, step: Step) -> None:
        """Before each step (the clock already reads ``step.at``)."""

    def transform(self, run: Simulation, bars: Sequence[Bar]) -> Sequence[Bar]:
        return bars

    def check(self, run: Simulation, summary: Summary) -> str:
        problems = common_problems(run, summary)
        problems += self.own_problems(run, summary)
        return OK if not problems else "; ".join(problems)

    def own_problems(self, run: Simulation, summary: Summary) -> list[str]:
        return []


def common_problems(run: Simulation, summary: Summary) -> list[str]:
    problems = []
    if summary.duplicate_client_order_ids:
        problems.append(f"duplicate client_order_id {summary.duplicate_client_order_ids}")
    booked = {str(r.detail.get("client_order_id")) for r in run.audit(AuditKind.FILL)}
    # A position opened outside the system is no ticket's: the order that closes it (eod's
    # broker-side close) has no fill to book either. Any other filled order must be booked.
    foreign = {o.symbol for o in summary.orders if run.is_foreign(o)}
    lost = [
        o.client_order_id
        for o in summary.orders
        if o.filled_qty > 0 and o.client_order_id not in booked and o.symbol not in foreign
    ]
    if lost:
        problems.append(f"fills not booked: {lost}")
    if not summary.reconciliation.get("ok", False):
        problems.append(f"not reconciled: {summary.reconciliation.get('differences')}")
    trips = sum(1 for e in summary.breaker_events if e["event"] == "breaker_trip")
    if trips and not summary.alerts:
        problems.append(f"{trips} breaker trip(s) and no alert delivered")
    return problems


class BrokerTimeouts(Drill):
    name, needs = "broker-timeouts", ("execute",)

    def arm(self, run: Simulation) -> None:
        run.stack.alpaca.inject("submit_order", Fault.timeout_after_accept())

    def own_problems(self, run: Simulation, summary: Summary) -> list[str]:
        if run.stack.alpaca.count("submit_order") == 0:
            return ["no order was submitted: the timeout was never exercised"]
        return []


class Broker5xx(Drill):
    name, needs = "broker-5xx", ("execute",)

    def arm(self, run: Simulation) -> None:
        alpaca = run.stack.alpaca
        alpaca.inject("submit_order", Fault.of_status(500))
        alpaca.inject("submit_order", Fault.of_status(503, after_action=True))
        alpaca.inject("positions", Fault.of_status(500), times=2)

    def own_problems(self, run: Simulation, summary: Summary) -> list[str]:
        if run.stack.alpaca.count("submit_order") < 2:
            return ["fewer than two submissions: the 5xx answers were not all exercised"]
        return []


class DuplicatePushes(Drill):
    name, needs = "duplicate-pushes", ("ingest",)

    def pushed_twice(self) -> frozenset[datetime]:
        return frozenset(self.minute(m) for m in range(30, 390, 30))

    def own_problems(self, run: Simulation, summary: Summary) -> list[str]:
        problems = run.missing_bars()
        signal_ids = [r.subject for r in run.audit(AuditKind.SIGNAL)]
        if len(signal_ids) != len(set(signal_ids)):
            problems.append("a signal was recorded twice")
        return problems


class LatePushes(Drill):
    name, needs = "late-pushes", ("ingest", "signals")

    def withheld(self) -> frozenset[datetime]:
        return frozenset(self.minute(m) for m in (61, 62, 63))

    def own_problems(self, run: Simulation, summary: Summary) -> list[str]:
        missing = run.missing_bars(only=self.withheld())
        return [f"withheld bars never stored: {missing}"] if missing else []


class StoreThrottling(Drill):
    name, needs = "store-throttling", ("ingest",)
    window = (90, 93)  # minutes after the open

    def arm(self, run: Simulation) -> None:
        start, end = (self.minute(m) for m in self.window)
        clock = run.clock

        def throttle(**_: Any) -> tuple[Any, dict[str, Any]] | None:
            if not start <= clock.now() < end:
                return None
            run.throttled_calls += 1
            error = {
                "Code": "ThrottlingException",
                "Message": "Rate of requests exceeds the allowed throughput (simulated)",
            }
            return _HttpStatus(400), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}

        run.botocore_hooks.append(("before-call.dynamodb.*", throttle))

    def own_problems(self, run: Simulation, summary: Summary) -> list[str]:
        problems = run.missing_bars()
        if run.throttled_calls == 0:
            problems.append("no DynamoDB call was throttled: the drill did not bite")
        return problems


class KillSwitchMidday(Drill):
    name, needs = "kill-switch-midday", ("killswitch",)

    def before(self, run: Simulation, step: Step) -> None:
        if step.kind is StepKind.SCHEDULE and step.schedule == "health":
            if step.at == self.minute(150):  # 12:00 on a regular day
                run.operator("POST", "/engage", {"reason": "simulate: kill-switch drill"})
            elif step.at == self.minute(210):
                run.operator("POST", "/release", {"reason": "simulate: drill over"})

    def own_problems(self, run: Simulation, summary: Summary) -> list[str]:
        problems = []
        changes = run.audit(AuditKind.KILL_SWITCH)
        if len(changes) < 2:
            problems.append(f"{len(changes)} kill-switch audit record(s), expected engage+release")
        if any(r.actor == "system" for r in changes):
            problems.append("a kill-switch change has no operator ARN as its actor")
        engaged, released = self.minute(150), self.minute(210)
        during = [
            r
            for r in run.audit(AuditKind.VERDICT)
            if engaged <= r.ts < released
            and r.detail.get("approved") is True
            and r.detail.get("purpose") == "entry"
        ]
        if during:
            problems.append(f"{len(during)} entry approved while the kill switch was engaged")
        if not any("kill" in a.lower() for a in summary.alerts):
            problems.append("no kill-switch alert delivered")
        return problems


class LossStreak(Drill):
    name, needs = "loss-streak", ("execute", "monitor")
    # The market moves this much against each held position, per minute: faster than any
    # scripted move, so every position is stopped out within a few minutes.
    step_pct = 0.0025
    # Once flat in a symbol, the forced move fades (by this factor a minute): the day's later
    # episodes keep their shape, so the next entries still come.
    fade = 0.5

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.offset: dict[str, float] = {}

    def transform(self, run: Simulation, bars: Sequence[Bar]) -> Sequence[Bar]:
        held = run.stack.alpaca.positions()
        out = []
        for bar in bars:
            direction = _exposure(bar.symbol, held)
            offset = self.offset.get(bar.symbol, 0.0)
            self.offset[bar.symbol] = (
                offset - direction * self.step_pct if direction else offset * self.fade
            )
            k = 1.0 + self.offset[bar.symbol]
            out.append(
                bar.model_copy(
                    update={
                        f: round(getattr(bar, f) * k, 2) for f in ("open", "high", "low", "close")
                    }
                )
            )
        return out

    def own_problems(self, run: Simulation, summary: Summary) -> list[str]:
        trips = [
            e
            for e in summary.breaker_events
            if e["event"] == "breaker_trip" and e["breaker"] == "rapid_loss"
        ]
        return [] if trips else ["the rapid-loss breaker did not trip"]


class ReconciliationDrift(Drill):
    name, needs = "reconciliation-drift", ("monitor", "eod")
    # Late in the day: the drift's safe mode holds every later entry, and the other drills
    # need the day's entries first.
    at_minute = 330

    def before(self, run: Simulation, step: Step) -> None:
        if (
            step.kind is StepKind.SCHEDULE
            and step.schedule == "health"
            and step.at == self.minute(self.at_minute)
        ):
            run.foreign_order("SPY", 3)

    def own_problems(self, run: Simulation, summary: Summary) -> list[str]:
        since = self.minute(self.at_minute)
        drift = [r for r in run.audit(AuditKind.RECONCILIATION) if r.ts >= since]
        problems = [] if drift else ["no reconciliation record after the foreign position"]
        if not any("drift" in a.lower() or "reconcil" in a.lower() for a in summary.alerts):
            problems.append("no drift alert delivered")
        return problems


DRILLS: dict[str, type[Drill]] = {
    d.name: d
    for d in (
        BrokerTimeouts,
        Broker5xx,
        DuplicatePushes,
        LatePushes,
        StoreThrottling,
        KillSwitchMidday,
        LossStreak,
        ReconciliationDrift,
    )
}


def build_drills(names: Sequence[str], session: Session) -> list[Drill]:
    unknown = [n for n in names if n not in DRILLS]
    if unknown:
        raise DrillError(f"unknown drill(s) {unknown}; known: {', '.join(DRILLS)}, all")
    return [DRILLS[n](session) for n in dict.fromkeys(names)]


def active_drills(drills: Sequence[Drill], deployed: Collection[str]) -> list[Drill]:
    """The drills whose functions are all deployed: only these inject anything (a drill that
    could not be checked must not disturb the others)."""
    return [d for d in drills if all(n in deployed for n in d.needs)]


def missing_functions(drill: Drill, deployed: Collection[str]) -> list[str]:
    return [n for n in drill.needs if n not in deployed]


def parse_drills(text: str | None) -> list[str]:
    if not text:
        return []
    names = [n.strip() for n in text.split(",") if n.strip()]
    return list(DRILLS) if names == ["all"] else names


def _exposure(symbol: str, held: dict[str, int]) -> float:
    """+1 when the account gains as ``symbol`` rises (shares long, calls long, puts short)."""
    total = 0.0
    for held_symbol, qty in held.items():
        if held_symbol == symbol:
            total += qty
        elif held_symbol.startswith(symbol) and len(held_symbol) > len(symbol) + 6:
            right = held_symbol[len(symbol) + 6]
            total += qty if right == "C" else -qty
    return (total > 0) - (total < 0)


class _HttpStatus:
    """What botocore reads from the HTTP response a before-call hook short-circuits."""

    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.headers: dict[str, str] = {}
        self.content = b""
