"""The Scheduler event every scheduled function parses (runtime/schedule_event.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maxtrader.domain.errors import InvalidInputError
from maxtrader.runtime.schedule_event import (
    SCHEDULE_NAMES,
    parse_schedule_event,
    schedule_event,
    scheduler_input,
)

DUE = datetime(2024, 6, 3, 13, 31, tzinfo=UTC)


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_an_event_built_for_a_schedule_parses_back_to_its_time(name: str) -> None:
    parsed = parse_schedule_event(schedule_event(name, DUE), name)
    assert (parsed.schedule, parsed.scheduled_time) == (name, DUE)


def test_a_local_time_is_carried_as_the_same_instant() -> None:
    new_york = timezone(timedelta(hours=-4))
    event = schedule_event("monitor", DUE.astimezone(new_york))
    assert event["scheduled_time"] == "2024-06-03T13:31:00+00:00"


def test_another_schedules_event_is_refused_by_name() -> None:
    with pytest.raises(InvalidInputError, match="schedule 'eod' given to the monitor function"):
        parse_schedule_event(schedule_event("eod", DUE), "monitor")


@pytest.mark.parametrize(
    ("event", "named"),
    [
        ({}, "schedule"),
        ({"schedule": "monitor"}, "scheduled_time"),
        ({"schedule": "nightly", "scheduled_time": DUE.isoformat()}, "schedule"),
        ({"schedule": "monitor", "scheduled_time": "2024-06-03T13:31:00"}, "scheduled_time"),
        ({"schedule": "monitor", "scheduled_time": "soon"}, "scheduled_time"),
        ({"schedule": "monitor", "scheduled_time": DUE.isoformat(), "extra": 1}, "extra"),
        ([], "(event)"),
        (None, "(event)"),
    ],
)
def test_a_malformed_event_names_the_field(event: object, named: str) -> None:
    with pytest.raises(InvalidInputError, match=r"schedule event: .*" + re.escape(named)):
        parse_schedule_event(event, "monitor")


def test_the_input_template_names_schedulers_context_attribute() -> None:
    assert scheduler_input("health") == {
        "schedule": "health",
        "scheduled_time": "<aws.scheduler.scheduled-time>",
    }
    with pytest.raises(InvalidInputError, match="unknown schedule"):
        scheduler_input("nightly")


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="timezone-aware"):
        schedule_event("monitor", datetime(2024, 6, 3, 9, 31))


@pytest.mark.fuzz
@given(st.dictionaries(st.text(max_size=20), st.one_of(st.text(), st.integers(), st.none())))
def test_arbitrary_mappings_parse_or_raise_invalid_input(event: dict[str, object]) -> None:
    try:
        parsed = parse_schedule_event(event, "monitor")
    except InvalidInputError:
        return
    assert parsed.schedule == "monitor" and parsed.scheduled_time.tzinfo is not None
