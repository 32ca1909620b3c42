"""The end-of-day logic on memory adapters: when it acts (from the calendar, early closes
included), cancel / close / confirm flat with a broker that fails, and the daily report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.adapters.alert_cooldown import Cooldown
from maxtrader.adapters.memory_alerts import InMemoryAlerts
from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import NEW_YORK, FixedClock
from maxtrader.domain.errors import BrokerUnavailableError
from maxtrader.domain.models import AuditKind, AuditRecord
from maxtrader.domain.ports import Broker
from maxtrader.operations.eod import EodDependencies, flatten_due, run_eod
from tests.support.ops_fakes import FakeBroker, order
from tests.support.safety import make_engine

CALENDAR = MarketCalendar.xnys()
BEFORE = timedelta(minutes=15)
CADENCE = timedelta(minutes=15)


def ny(day: date, hh: int, mm: int) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=NEW_YORK).astimezone(UTC)


SECOND_CHANCE = timedelta(minutes=5)


def firings(day: date) -> list[datetime]:
    """The deployed schedule (infra/maxtrader_infra/schedules.py, tied to ``flatten_due`` in
    tests/infra/test_schedules.py): the flatten minute of both possible closes, 13:00 and 16:00,
    and a second chance 5 minutes after each."""
    minutes = [(12, 45), (12, 50), (15, 45), (15, 50)]
    return [ny(day, hh, mm) for hh, mm in minutes]


@pytest.mark.parametrize(
    ("day", "due"),
    [
        (date(2024, 6, 3), "15:45"),  # a regular day
        (date(2024, 7, 3), "12:45"),  # early close at 13:00
        (date(2024, 11, 29), "12:45"),  # the day after Thanksgiving
        (date(2024, 12, 24), "12:45"),
    ],
)
def test_the_flatten_firing_and_its_second_chance_act_and_the_other_closes_do_not(
    day: date, due: str
) -> None:
    acting = [t for t in firings(day) if flatten_due(CALENDAR, t, BEFORE, CADENCE)[0]]
    hh, mm = (int(part) for part in due.split(":"))
    second = (datetime.combine(day, time(hh, mm)) + SECOND_CHANCE).strftime("%H:%M")
    assert [t.astimezone(NEW_YORK).strftime("%H:%M") for t in acting] == [due, second]


def test_a_holiday_and_the_wrong_minute_say_why_nothing_is_done() -> None:
    session, why = flatten_due(CALENDAR, ny(date(2024, 7, 4), 15, 45), BEFORE, CADENCE)
    assert session is None and "no session on 2024-07-04" in why
    session, why = flatten_due(CALENDAR, ny(date(2024, 7, 3), 15, 45), BEFORE, CADENCE)
    assert session is None and "today's is 12:45 New York (early close)" in why


@pytest.mark.property
@settings(max_examples=60, deadline=None)
@given(st.dates(min_value=date(2016, 1, 1), max_value=date(2030, 12, 31)))
def test_every_session_is_flattened_at_its_own_close_and_no_other_day_is(day: date) -> None:
    acting = [t for t in firings(day) if flatten_due(CALENDAR, t, BEFORE, CADENCE)[0]]
    session = CALENDAR.session(day)
    if session is None:
        assert acting == []
    else:
        flatten_at = session.close - BEFORE
        assert acting == [flatten_at, flatten_at + SECOND_CHANCE]


SESSION_DAY = date(2024, 7, 3)
FLATTEN = ny(SESSION_DAY, 12, 45)


class Rig:
    def __init__(self, at: datetime = FLATTEN) -> None:
        self.clock = FixedClock(at)
        self.store = InMemoryStateStore()
        self.engine = make_engine(self.store, self.clock, calendar=CALENDAR)
        self.broker = FakeBroker(
            self.clock, CALENDAR, held={"SPY": 10, "QQQ": -5}, working=[order("SPY", at)]
        )
        self.alerts = InMemoryAlerts(self.clock, Cooldown(timedelta(minutes=15)))
        self.waits: list[float] = []
        self.broker_error: Exception | None = None
        self.deps = EodDependencies(
            self.store,
            self._broker,
            self.alerts,
            CALENDAR,
            self.clock,
            BEFORE,
            wait=self.waits.append,
        )

    def _broker(self) -> Broker:
        if self.broker_error is not None:
            raise self.broker_error
        return self.broker

    def run(self) -> None:
        self.result = run_eod(self.deps, self.clock.now())

    def subjects(self) -> list[str]:
        return [s.alert.subject for s in self.alerts.sent]


def test_an_early_close_is_flattened_at_12_45_confirmed_flat_reported_and_stored() -> None:
    rig = Rig()
    rig.broker.fills_after = 2  # the closing orders fill between the first and second reads
    rig.run()
    assert rig.broker.calls[:2] == ["cancel_all", "close_all_positions"]
    assert rig.broker.held == {} and rig.broker.working == []
    flatten = rig.result.detail["flatten"]
    assert isinstance(flatten, dict) and flatten["flat"] is True and flatten["reads"] == 2
    assert rig.waits == [2.0]
    assert rig.subjects() == ["Daily report 2024-07-03"]
    assert rig.alerts.sent[0].alert.line.startswith("EOD 2024-07-03: flat, P&L +0.00")
    kinds = [r.kind for r in rig.store.audit_log("2024-07-03")]
    assert kinds[-2:] == [AuditKind.BROKER_RESPONSE, AuditKind.DAILY_REPORT]


def test_not_flat_after_every_re_check_alerts_at_once_naming_what_is_left() -> None:
    rig = Rig()
    rig.broker.fills_after = None  # the closing orders never fill
    rig.run()
    assert len(rig.waits) == rig.deps.confirm_checks - 1
    assert rig.subjects() == ["EOD NOT FLAT 2024-07-03", "Daily report 2024-07-03"]
    line = rig.alerts.sent[0].alert.line
    assert "12:45 NY" in line and "SPY +10" in line and "QQQ -5" in line
    assert "NOT FLAT" in rig.alerts.sent[1].alert.line


def test_a_failing_cancel_does_not_stop_the_close_and_is_reported() -> None:
    rig = Rig()
    rig.broker.fail = {"cancel_all"}
    rig.run()
    flatten = rig.result.detail["flatten"]
    assert isinstance(flatten, dict) and flatten["flat"] is True
    assert "cancel all orders: BrokerUnavailableError" in str(flatten["errors"])


def test_positions_that_cannot_be_read_are_not_flat() -> None:
    rig = Rig()
    rig.broker.fail = {"positions"}
    rig.run()
    assert rig.subjects()[0] == "EOD NOT FLAT 2024-07-03"
    assert "unknown: BrokerUnavailableError" in rig.alerts.sent[0].alert.line


def test_a_broker_that_cannot_be_built_is_not_flat() -> None:
    rig = Rig()
    rig.broker_error = BrokerUnavailableError("alpaca: connection refused")
    rig.run()
    assert "unknown: broker unavailable" in rig.alerts.sent[0].alert.line


def test_the_report_counts_pnl_entries_trips_and_rejections_by_check() -> None:
    rig = Rig()
    at = FLATTEN - timedelta(hours=2)
    rig.store.append_audit(
        [
            AuditRecord(
                ts=at,
                kind=AuditKind.VERDICT,
                subject="c1",
                detail={
                    "approved": False,
                    "failures": [{"name": "daily_trades"}, {"name": "safe_mode"}],
                },
            ),
            AuditRecord(
                ts=at,
                kind=AuditKind.VERDICT,
                subject="c2",
                detail={"approved": False, "failures": [{"name": "safe_mode"}]},
            ),
            AuditRecord(
                ts=at,
                kind=AuditKind.VERDICT,
                subject="c3",
                detail={"approved": True, "failures": []},
            ),
            AuditRecord(
                ts=at,
                kind=AuditKind.BREAKER_TRIP,
                subject="rapid_loss",
                detail={"reason": "3 losing trades in 30 min"},
            ),
        ]
    )
    rig.run()
    detail = rig.result.detail
    assert detail["rejections_by_check"] == {"daily_trades": 1, "safe_mode": 2}
    assert detail["breaker_trips"] == [
        {"breaker": "rapid_loss", "at": at.isoformat(), "reason": "3 losing trades in 30 min"}
    ]
    assert detail["start_of_day_equity"] == 100_000.0 and detail["pnl_pct"] == 0.0
    assert "1 trips, 3 rejections" in rig.alerts.sent[-1].alert.line
    stored = [r for r in rig.store.audit_log("2024-07-03") if r.kind is AuditKind.DAILY_REPORT]
    assert stored[0].detail["rejections_by_check"] == {"daily_trades": 1, "safe_mode": 2}


@pytest.mark.parametrize(
    "at", [ny(date(2024, 7, 4), 12, 45), ny(SESSION_DAY, 15, 45), ny(SESSION_DAY, 12, 30)]
)
def test_any_other_firing_touches_nothing(at: datetime) -> None:
    rig = Rig(at)
    rig.run()
    assert not rig.result.acted and rig.broker.calls == [] and rig.alerts.sent == []
    assert rig.broker.held == {"SPY": 10, "QQQ": -5}


def test_a_retry_that_runs_after_the_close_sends_no_order_and_alerts_what_is_left() -> None:
    rig = Rig()
    rig.clock.set(ny(SESSION_DAY, 13, 2))  # the 12:45 firing, retried after the 13:00 close
    rig.result = run_eod(rig.deps, FLATTEN)
    assert "cancel_all" not in rig.broker.calls and "close_all_positions" not in rig.broker.calls
    assert rig.subjects()[0] == "EOD NOT FLAT 2024-07-03"
    flatten = rig.result.detail["flatten"]
    assert isinstance(flatten, dict) and "ran after the close" in str(flatten["errors"])


def test_not_flat_is_alerted_even_when_the_state_store_then_fails() -> None:
    from maxtrader.domain.errors import StateUnavailableError

    rig = Rig()
    rig.broker.fills_after = None

    def down(day: str) -> list[AuditRecord]:
        raise StateUnavailableError("query: throttled")

    rig.store.audit_log = down  # type: ignore[method-assign]
    with pytest.raises(StateUnavailableError):
        rig.run()  # Lambda retries the run; the page has gone out already
    assert rig.subjects() == ["EOD NOT FLAT 2024-07-03"]


def _with_settle(rig: Rig, settle: Callable[[], object]) -> None:
    rig.deps = replace(rig.deps, settle=settle)


def test_the_systems_own_exits_come_first_and_leave_no_broker_side_flatten() -> None:
    """Exits under the tickets' own ids book their fills; a broker-side "close all" order would
    belong to no ticket. When the monitor's pass leaves the broker flat, none is sent."""
    rig = Rig()
    passes: list[int] = []

    def monitor_pass() -> None:
        passes.append(1)
        if len(passes) == 2:  # the exits of the first pass fill before the second
            rig.broker.held.clear()
            rig.broker.working.clear()

    _with_settle(rig, monitor_pass)
    rig.run()
    assert len(passes) == 2
    assert "close_all_positions" not in rig.broker.calls and "cancel_all" not in rig.broker.calls
    flatten = rig.result.detail["flatten"]
    assert isinstance(flatten, dict) and flatten["flat"] is True


def test_own_exits_that_leave_positions_open_fall_back_to_the_broker_side_flatten() -> None:
    rig = Rig()
    rig.broker.fills_after = 1
    passes: list[int] = []
    _with_settle(rig, lambda: passes.append(1))  # the monitor sends nothing that fills
    rig.run()
    assert len(passes) == rig.deps.confirm_checks
    assert rig.broker.calls.count("close_all_positions") == 1
    assert rig.broker.held == {}


def test_a_failing_own_exits_pass_is_reported_and_the_fallback_still_flattens() -> None:
    rig = Rig()
    rig.broker.fills_after = 1

    def broken() -> None:
        raise BrokerUnavailableError("monitor: broker down")

    _with_settle(rig, broken)
    rig.run()
    flatten = rig.result.detail["flatten"]
    assert isinstance(flatten, dict)
    errors = flatten["errors"]
    assert isinstance(errors, list) and any("own exits" in str(e) for e in errors)
    assert "close_all_positions" in rig.broker.calls and rig.broker.held == {}
