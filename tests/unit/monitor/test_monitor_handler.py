"""The handler: a Scheduler event in, one run, a metric per concern out, errors mapped in one place
(the service on the memory adapters; the moto/emulator wiring is tests/integration)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maxtrader.domain.errors import SecretUnavailableError
from maxtrader.runtime import factory
from maxtrader.runtime.schedule_event import schedule_event
from tests.support.monitor_fakes import FakeContext, MonitorWorld


@pytest.fixture
def handler(world: MonitorWorld, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "monitor")
    monkeypatch.setattr(factory, "monitor_service", world.service)
    from functions.monitor import handler as module

    return module


def emitted(out: str) -> dict[str, float]:
    """The EMF metrics Powertools printed: name -> value."""
    metrics: dict[str, float] = {}
    for line in out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            blob = json.loads(line)
            for spec in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                value = blob[spec["Name"]]
                metrics[spec["Name"]] = value[0] if isinstance(value, list) else value
    return metrics


def test_a_run_answers_its_report_and_emits_a_metric_per_concern(
    world: MonitorWorld, handler: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    world.broker.move_position("QQQ", 5, 440.0)  # opened by hand
    answer = handler.lambda_handler(schedule_event("monitor", world.clock.now()), FakeContext())
    assert answer["ok"] is False and [d["kind"] for d in answer["drift"]] == ["unknown_position"]
    metrics = emitted(capsys.readouterr().out)
    assert metrics["ReconciliationDrift"] == 1.0
    assert metrics["Equity"] == 100_000.0
    for name in ("FillsApplied", "InFlightReleased", "ExitsSubmitted", "DrawdownPct"):
        assert name in metrics
    # The drift turned safe mode on in this very run: the gauge the alarm watches says so.
    assert metrics["SafeModeOn"] == 1.0 and metrics["KillSwitchEngaged"] == 0.0
    assert "BreakerTripped" in metrics and "DailyLossStopHit" in metrics


@pytest.mark.parametrize(
    "event",
    [
        {"schedule": "health", "scheduled_time": "2024-06-03T14:00:00+00:00"},
        {"schedule": "monitor", "scheduled_time": "2024-06-03T14:00:00"},  # naive
        {"schedule": "monitor"},
        {"schedule": "monitor", "scheduled_time": "2024-06-03T14:00:00Z", "extra": 1},
        [],
    ],
)
def test_a_malformed_event_is_refused_naming_the_problem_and_runs_nothing(
    world: MonitorWorld, handler: Any, event: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = handler.lambda_handler(event, FakeContext())
    assert answer["ok"] is False and answer["error"].startswith("schedule event")
    assert sum(world.broker.calls.values()) == 0
    assert emitted(capsys.readouterr().out) == {"MonitorEventRefused": 1.0}


def test_a_run_that_cannot_start_is_raised_for_the_errors_alarm(
    handler: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_secret() -> Any:
        raise SecretUnavailableError("maxtrader/staging/alpaca: not found")

    monkeypatch.setattr(factory, "monitor_service", no_secret)
    with pytest.raises(SecretUnavailableError):
        handler.lambda_handler(schedule_event("monitor", factory.clock().now()), FakeContext())
    assert emitted(capsys.readouterr().out) == {"MonitorFailed": 1.0}


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=15), inner,
                                                                 max_size=4),
    max_leaves=12,
)  # fmt: skip


@pytest.mark.fuzz
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    event=_JSON
    | st.fixed_dictionaries(
        {"schedule": st.sampled_from(["monitor", "eod", "", "MONITOR"]), "scheduled_time": _JSON}
    )
)
def test_any_event_is_either_refused_naming_the_problem_or_run(
    world: MonitorWorld, handler: Any, event: Any
) -> None:
    calls = sum(world.broker.calls.values())
    answer = handler.lambda_handler(event, FakeContext())
    if answer.get("error"):
        assert answer["ok"] is False and answer["error"].startswith("schedule event")
        assert sum(world.broker.calls.values()) == calls  # refused: nothing was asked
    else:
        assert "reconciled" in answer  # a valid event: one whole run
