"""The Scheduler schedules: New York time, the session windows, bounded retries, the DLQ.

The windows are checked on the cron lines themselves (no synth): which New York minutes each
schedule fires at; the synthesized schedules are then pinned to those lines.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import fields
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from maxtrader.config.stage import Schedules
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import NEW_YORK
from maxtrader.operations.eod import EodDependencies, flatten_due
from maxtrader.runtime.schedule_event import SCHEDULE_NAMES, scheduler_input
from maxtrader_infra import schedules
from maxtrader_infra.function_specs import SCHEDULED, FunctionSpec
from tests.infra.template_queries import function_ids, queue_id, resource
from tests.support.templates import resources_of_type

STAGES = ["staging", "production"]
pytestmark = pytest.mark.xdist_group("cdk")
DEFAULTS = Schedules()


def fires(name: str, config: Schedules = DEFAULTS) -> list[time]:
    return sorted(t for cron in schedules.crons(name, config) for t in cron.fire_times())


def fields_of(cls: Any) -> dict[str, Any]:
    return {f.name: f for f in fields(cls)}


def session_minutes(step: int, start: time = time(9, 30)) -> list[time]:
    first = start.hour * 60 + start.minute
    return [time(m // 60, m % 60) for m in range(first, 16 * 60, step)]


def test_signals_poll_fires_every_minute_of_the_regular_session() -> None:
    assert fires("signals-poll") == session_minutes(1)
    assert len(fires("signals-poll")) == 390


@pytest.mark.parametrize("every", [1, 2, 5, 10, 15, 30])
def test_regime_and_monitor_follow_their_cadence_from_the_open(every: int) -> None:
    config = Schedules(regime_every_minutes=every, monitor_every_minutes=every)
    for name in ("regime", "monitor"):
        times = fires(name, config)
        assert times[0] == time(9, 30)
        assert times[-1] < time(16, 0)
        assert all(time(9, 30) <= t < time(16, 0) for t in times)
        gaps = {
            (b.hour * 60 + b.minute) - (a.hour * 60 + a.minute)
            for a, b in itertools.pairwise(times)
        }
        assert max(gaps) <= every, (name, every, gaps)


def test_health_starts_with_the_premarket_run_and_ends_at_the_close() -> None:
    times = fires("health")
    assert times[0] == DEFAULTS.premarket == time(9, 0)
    assert times[-1] == time(15, 59)


def test_eod_fires_at_the_flatten_minute_of_normal_and_early_closes() -> None:
    times = fires("eod")
    assert time(15, 45) in times  # 16:00 close, 15 minutes before
    assert time(12, 45) in times  # 13:00 early close (day after Thanksgiving, Christmas Eve)
    assert all(t < time(16, 0) for t in times)
    assert len(times) == 4  # and a second chance 5 minutes after each
    other = fires("eod", Schedules(eod_before_close_minutes=30))
    assert time(15, 30) in other
    assert time(12, 30) in other


# A regular day, the three kinds of early close, a holiday and a weekend day.
EOD_DAYS = [date(2024, 6, 3), date(2024, 7, 3), date(2024, 11, 29), date(2024, 12, 24),
            date(2024, 7, 4), date(2024, 6, 8)]  # fmt: skip


@pytest.mark.parametrize("before_close", [6, 15, 30, 59])
@pytest.mark.parametrize("day", EOD_DAYS, ids=str)
def test_the_eod_handler_acts_on_exactly_the_deployed_firings_of_the_days_own_close(
    day: date, before_close: int
) -> None:
    """The stack's eod firings, as ``operations.eod.flatten_due`` reads them with the cadence
    the handler runs with: the flatten minute of the day's real close and the second chance
    act, every other firing (the other close's, a holiday's) does nothing."""
    calendar = MarketCalendar.xnys()
    cadence = fields_of(EodDependencies)["cadence"].default
    before = timedelta(minutes=before_close)
    config = Schedules(eod_before_close_minutes=before_close)
    firings = [datetime.combine(day, t, tzinfo=NEW_YORK) for t in fires("eod", config)]
    acting = [t for t in firings if flatten_due(calendar, t, before, cadence)[0] is not None]
    session = calendar.session(day)
    if session is None:
        assert acting == []
        return
    flatten_at = session.close - before
    second = flatten_at + timedelta(minutes=schedules.EOD_SECOND_CHANCE_MINUTES)
    assert acting == [flatten_at, second]
    assert all(t < session.close for t in acting)


def test_premarket_and_parity_fire_once() -> None:
    assert fires("premarket", Schedules(premarket=time(8, 45))) == [time(8, 45)]
    assert fires("parity") == [time(16, 30)]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (Schedules(regime_every_minutes=45), "regime_every_minutes: 45 must be 1 to 30"),
        (Schedules(monitor_every_minutes=60), "monitor_every_minutes: 60 must be 1 to 30"),
        (Schedules(eod_before_close_minutes=3), "eod_before_close_minutes: 3 must be 6 to 59"),
        (Schedules(eod_before_close_minutes=90), "eod_before_close_minutes: 90 must be 6 to 59"),
    ],
)
def test_a_cadence_no_cron_can_express_fails_naming_its_key(
    config: Schedules, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        for name in SCHEDULE_NAMES:
            schedules.crons(name, config)


@pytest.mark.parametrize("stage", STAGES)
def test_every_schedule_is_new_york_time_exact_bounded_and_dead_lettered(stage: str) -> None:
    deployed = resources_of_type(stage, "AWS::Scheduler::Schedule")
    dlq = queue_id(stage, f"maxtrader-{stage}-schedules-dlq")
    ids = function_ids(stage)
    seen: dict[str, list[str]] = {}
    for schedule in deployed.values():
        props = schedule["Properties"]
        assert props["ScheduleExpressionTimezone"] == "America/New_York"
        assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
        assert props["State"] == "ENABLED"
        target = props["Target"]
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dlq, "Arn"]}}
        assert target["RetryPolicy"]["MaximumRetryAttempts"] == schedules.SCHEDULER_RETRIES <= 3
        event = json.loads(target["Input"])
        seen.setdefault(event["schedule"], []).append(props["ScheduleExpression"])
        spec = next(s for s in SCHEDULED if s.schedule == event["schedule"])
        assert event == scheduler_input(event["schedule"])
        assert target["Arn"] == {"Fn::GetAtt": [ids[spec.name], "Arn"]}
        assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] == spec.max_event_age_seconds
    assert set(seen) == set(SCHEDULE_NAMES)
    for name, expressions in seen.items():
        expected = [cron.expression for cron in schedules.crons(name, DEFAULTS)]
        assert sorted(expressions) == sorted(expected), name


@pytest.mark.parametrize("stage", STAGES)
def test_only_this_accounts_scheduler_may_assume_the_schedules_role(stage: str) -> None:
    role_ids = {
        s["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]
        for s in resources_of_type(stage, "AWS::Scheduler::Schedule").values()
    }
    assert len(role_ids) == 1
    trust = resource(stage, role_ids.pop())["Properties"]["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    account = "222222222222" if stage == "production" else "111111111111"
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": account}}


@pytest.mark.parametrize("spec", SCHEDULED, ids=lambda s: s.name)
def test_a_run_ends_and_goes_stale_before_the_next_one_is_due(spec: FunctionSpec) -> None:
    """A run never overlaps the next firing, and a late event is dropped before the next one
    comes (two runs acting for neighbouring minutes at once would race on the same state)."""
    times = fires(str(spec.schedule))
    minutes = [t.hour * 60 + t.minute for t in times]
    gaps = [b - a for a, b in itertools.pairwise(minutes)]
    if not gaps:  # once a day
        assert spec.max_event_age_seconds <= 3600
        return
    shortest = min(gaps) * 60
    assert spec.timeout_seconds < shortest, (spec.name, spec.timeout_seconds, shortest)
    assert spec.max_event_age_seconds <= shortest, (spec.name, spec.max_event_age_seconds)
