"""What an EventBridge Scheduler schedule hands a function: its name and its scheduled time.

The stack gives each schedule the input (``<aws.scheduler.scheduled-time>`` is Scheduler's
context attribute, replaced at each firing by the instant it was due, UTC)::

    {"schedule": "monitor", "scheduled_time": "<aws.scheduler.scheduled-time>"}

Handlers decide with ``scheduled_time``, not with the moment they happen to run: a retried or
late invocation acts for the minute it was due (and the calendar decides whether that minute
is in the session: a schedule firing on a holiday does nothing and says so). ``maxtrader
simulate`` and the tests build the same events with ``schedule_event``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from maxtrader.domain.errors import InvalidInputError

ScheduleName = Literal["premarket", "regime", "signals-poll", "monitor", "health", "eod", "parity"]
SCHEDULE_NAMES: tuple[str, ...] = ScheduleName.__args__  # type: ignore[attr-defined]


class ScheduleEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schedule: ScheduleName
    scheduled_time: AwareDatetime


def parse_schedule_event(event: Any, expected: str) -> ScheduleEvent:
    """The event of schedule ``expected``; ``InvalidInputError`` naming the problem otherwise."""
    try:
        parsed = ScheduleEvent.model_validate(event)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(event)'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise InvalidInputError(f"schedule event: {problems}") from None
    if parsed.schedule != expected:
        raise InvalidInputError(
            f"schedule event: schedule {parsed.schedule!r} given to the {expected} function"
        )
    return parsed


def schedule_event(schedule: str, when: datetime) -> dict[str, str]:
    """The event Scheduler delivers for ``schedule`` due at ``when`` (tests, the simulator)."""
    if schedule not in SCHEDULE_NAMES:
        raise InvalidInputError(f"unknown schedule {schedule!r} (known: {SCHEDULE_NAMES})")
    if when.tzinfo is None:
        raise InvalidInputError("a schedule's time must be timezone-aware")
    return {"schedule": schedule, "scheduled_time": when.astimezone(UTC).isoformat()}


def scheduler_input(schedule: str) -> dict[str, str]:
    """The input template the stack gives ``schedule`` (Scheduler fills in the time)."""
    if schedule not in SCHEDULE_NAMES:
        raise InvalidInputError(f"unknown schedule {schedule!r} (known: {SCHEDULE_NAMES})")
    return {"schedule": schedule, "scheduled_time": "<aws.scheduler.scheduled-time>"}
