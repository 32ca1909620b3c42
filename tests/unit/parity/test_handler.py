"""The parity handler on memory ports (``factory.parity_ports`` replaced): its answers for a
session, a holiday and a malformed event, and the metric it emits. The same handler against
DynamoDB and SNS on moto: tests/integration/test_parity_handler.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from functions.parity import handler
from maxtrader.runtime import factory
from maxtrader.runtime.schedule_event import schedule_event
from tests.support.ingest_events import LambdaContext

from .test_nightly import AFTER_CLOSE, Day, live_signal


@pytest.fixture
def day(monkeypatch: pytest.MonkeyPatch) -> Day:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    built = Day()
    monkeypatch.setattr(factory, "parity_ports", lambda: built.ports)
    return built


def metric(out: str) -> list[float]:
    blobs = [json.loads(line) for line in out.splitlines() if '"_aws"' in line]
    return [v for b in blobs for v in b.get("ParityDifferences", [])]


def test_a_session_is_checked_for_the_day_it_was_scheduled(
    day: Day, capsys: pytest.CaptureFixture[str]
) -> None:
    day.state.append_audit([live_signal()])
    answer = handler.lambda_handler(schedule_event("parity", AFTER_CLOSE), LambdaContext())
    assert answer == {"day": "2024-07-02", "ok": False, "differences": 1, "alerted": True,
                      "stored": True}  # fmt: skip
    assert metric(capsys.readouterr().out) == [1.0]
    assert [r.ts for r in day.parity_records()] == [AFTER_CLOSE]


def test_a_late_run_after_midnight_utc_still_checks_its_new_york_day(day: Day) -> None:
    late = datetime(2024, 7, 3, 1, 30, tzinfo=UTC)  # 21:30 New York, 2024-07-02
    answer = handler.lambda_handler(schedule_event("parity", late), LambdaContext())
    assert answer["day"] == "2024-07-02" and answer["ok"] is True


def test_a_holiday_is_skipped(day: Day) -> None:
    holiday = datetime(2024, 7, 4, 20, 30, tzinfo=UTC)
    answer = handler.lambda_handler(schedule_event("parity", holiday), LambdaContext())
    assert answer == {"skipped": "not a session"}


@pytest.mark.parametrize(
    "event",
    [{}, {"schedule": "eod", "scheduled_time": "2024-07-02T20:30:00Z"},
     {"schedule": "parity", "scheduled_time": "2024-07-02T20:30:00"}],  # naive: refused
)  # fmt: skip
def test_a_malformed_event_is_answered_and_changes_nothing(day: Day, event: dict) -> None:  # type: ignore[type-arg]
    answer = handler.lambda_handler(event, LambdaContext())
    assert answer["error"] == "invalid_event" and answer["message"].startswith("schedule event")
    assert day.parity_records() == [] and day.alerts.sent == []
