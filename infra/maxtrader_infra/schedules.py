"""The EventBridge Scheduler schedules, in New York time, derived from the stage's ``schedules``.

Each scheduled function gets the input ``scheduler_input(name)`` (its name and the instant it
was due) and decides from the calendar what that instant means: the schedules fire on every
weekday and a holiday or an early close is handled in code, which says so in its log. Every
schedule has its flexible window off (a run is due at its minute, not within an hour), bounded
retries, a short maximum event age (a late monitor run is dropped, not run stale) and the
schedules' dead-letter queue.

Windows (New York, Monday to Friday):
  premarket     once, at ``schedules.premarket`` (09:00)
  regime        every ``regime_every_minutes`` from 09:30 to 15:59
  signals-poll  every minute from 09:30 to 15:59
  monitor       every ``monitor_every_minutes`` from 09:30 to 15:59
  health        every ``health_every_minutes`` from 09:00 to 15:59 (from the pre-market run on)
  eod           at the flatten minute of both possible closes, 13:00 (early) and 16:00, i.e.
                ``eod_before_close_minutes`` before them (12:45 and 15:45), and 5 minutes later
                as a second chance; the handler flattens on the day's real close only
  parity        once, at 16:30, after the close
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Final

from aws_cdk import Duration, Stack, TimeZone
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from maxtrader.config.stage import Schedules
from maxtrader.runtime.schedule_event import scheduler_input
from maxtrader_infra.function_specs import SCHEDULED

TIME_ZONE: Final = TimeZone.AMERICA_NEW_YORK
WEEKDAYS: Final = "MON-FRI"
SCHEDULER_RETRIES: Final = 2  # Scheduler's own retries of a failed invoke (throttling, errors)
PARITY_AT: Final = time(16, 30)
EARLY_CLOSE_HOUR: Final = 13  # NYSE early closes are at 13:00 New York, normal closes at 16:00
CLOSE_HOUR: Final = 16
EOD_SECOND_CHANCE_MINUTES: Final = 5


@dataclass(frozen=True, slots=True)
class Cron:
    """One cron line in New York time (minute and hour fields as Scheduler reads them)."""

    minute: str
    hour: str

    @property
    def expression(self) -> str:
        return f"cron({self.minute} {self.hour} ? * {WEEKDAYS} *)"

    def fire_times(self) -> list[time]:
        """The New York times of day this line fires (the forms this module writes)."""
        return [time(h, m) for h in _field(self.hour, 23) for m in _field(self.minute, 59)]


def _field(field: str, last: int) -> list[int]:
    """Values of one cron field: ``*``, ``a-b``, ``a/step``, ``a,b,...`` or a number."""
    values: list[int] = []
    for part in field.split(","):
        if part == "*":
            values += range(last + 1)
        elif "/" in part:
            start, step = part.split("/")
            values += range(int(start), last + 1, int(step))
        elif "-" in part:
            low, high = part.split("-")
            values += range(int(low), int(high) + 1)
        else:
            values.append(int(part))
    return sorted(set(values))


def _every(minutes: int, key: str, *, first_hour: int, from_half_past: bool) -> list[Cron]:
    if not 1 <= minutes <= 30:
        raise ValueError(f"schedules.{key}: {minutes} must be 1 to 30 minutes")
    step = "*" if minutes == 1 else f"0/{minutes}"
    if not from_half_past:
        return [Cron(step, f"{first_hour}-15")]
    opening = "30-59" if minutes == 1 else f"30/{minutes}"
    return [Cron(opening, str(first_hour)), Cron(step, f"{first_hour + 1}-15")]


def _eod(before_close: int) -> list[Cron]:
    if not EOD_SECOND_CHANCE_MINUTES < before_close < 60:
        raise ValueError(
            f"schedules.eod_before_close_minutes: {before_close} must be "
            f"{EOD_SECOND_CHANCE_MINUTES + 1} to 59 minutes"
        )
    minute = 60 - before_close
    hours = f"{EARLY_CLOSE_HOUR - 1},{CLOSE_HOUR - 1}"
    return [Cron(f"{minute},{minute + EOD_SECOND_CHANCE_MINUTES}", hours)]


def crons(schedule: str, config: Schedules) -> list[Cron]:
    """The cron lines of ``schedule`` for a stage's ``schedules`` config."""
    match schedule:
        case "premarket":
            return [Cron(str(config.premarket.minute), str(config.premarket.hour))]
        case "regime":
            minutes = config.regime_every_minutes
            return _every(minutes, "regime_every_minutes", first_hour=9, from_half_past=True)
        case "signals-poll":
            return _every(1, "signals-poll", first_hour=9, from_half_past=True)
        case "monitor":
            minutes = config.monitor_every_minutes
            return _every(minutes, "monitor_every_minutes", first_hour=9, from_half_past=True)
        case "health":
            minutes = config.health_every_minutes
            return _every(minutes, "health_every_minutes", first_hour=9, from_half_past=False)
        case "eod":
            return _eod(config.eod_before_close_minutes)
        case "parity":
            return [Cron(str(PARITY_AT.minute), str(PARITY_AT.hour))]
    raise ValueError(f"no schedule window for {schedule!r}")


class FunctionSchedules(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage_name: str,
        config: Schedules,
        functions: dict[str, lambda_.Function],
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.group = scheduler.ScheduleGroup(
            self, "Group", schedule_group_name=f"maxtrader-{stage_name}"
        )
        # One role for every schedule: invoke these functions, write the dead-letter queue.
        self.role = iam.Role(
            self,
            "Role",
            # Only schedules of this account may assume it (the confused-deputy guard).
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            ),
            description=f"EventBridge Scheduler: invokes the maxtrader-{stage_name} functions",
        )
        self.schedules: dict[str, list[scheduler.Schedule]] = {}
        for spec in SCHEDULED:
            name = str(spec.schedule)
            target = targets.LambdaInvoke(
                functions[spec.name],
                input=scheduler.ScheduleTargetInput.from_object(scheduler_input(name)),
                dead_letter_queue=dead_letter_queue,
                max_event_age=Duration.seconds(spec.max_event_age_seconds),
                retry_attempts=SCHEDULER_RETRIES,
                role=self.role,
            )
            self.schedules[name] = [
                scheduler.Schedule(
                    self,
                    f"{name}-{index}",
                    schedule_name=f"maxtrader-{stage_name}-{name}-{index}",
                    description=f"{name} -> {spec.name}: {cron.expression} America/New_York",
                    schedule_group=self.group,
                    schedule=scheduler.ScheduleExpression.cron(
                        minute=cron.minute,
                        hour=cron.hour,
                        week_day=WEEKDAYS,
                        time_zone=TIME_ZONE,
                    ),
                    target=target,
                    time_window=scheduler.TimeWindow.off(),
                )
                for index, cron in enumerate(crons(name, config))
            ]
