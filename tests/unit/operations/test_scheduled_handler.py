"""The scheduled handlers' one place for errors (runtime/scheduled.py): any event either runs
the logic at its scheduled time or is refused naming the problem; a failing run is re-raised
(Lambda retries it); and the four handlers import neither the AWS SDK nor alpaca at load."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maxtrader.domain.errors import StateUnavailableError
from maxtrader.operations.run_result import RunResult
from maxtrader.runtime.scheduled import scheduled_handler

REPO = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")


@dataclass(frozen=True)
class Context:
    function_name: str = "health"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:health"
    aws_request_id: str = "r-1"


class Recorder:
    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[datetime] = []
        self.error = error

    def __call__(self, when: datetime) -> RunResult:
        self.calls.append(when)
        if self.error is not None:
            raise self.error
        return RunResult("health", when, acted=False, summary="nothing to do: test")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=15), inner,
                                                                max_size=4),
    max_leaves=12,
)  # fmt: skip
EVENTS = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {"schedule": st.sampled_from(["health", "eod", "Health", ""]) | st.text(max_size=12)},
        optional={
            "scheduled_time": st.datetimes(timezones=st.none() | st.just(UTC)).map(
                lambda d: d.isoformat()
            )
            | JSON,
            "extra": JSON,
        },
    ),
)


@pytest.mark.fuzz
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EVENTS)
def test_any_event_runs_at_its_aware_time_or_is_refused_naming_the_problem(event: Any) -> None:
    run = Recorder()
    answer = scheduled_handler("health", run)(event, Context())  # type: ignore[arg-type]
    if answer["ok"]:
        (when,) = run.calls
        assert when.tzinfo is not None and event["schedule"] == "health"
        assert answer["scheduled_time"] == when.isoformat()
    else:
        assert run.calls == [] and answer["error"] == "invalid_event"
        assert answer["message"].startswith("schedule event: ")


def test_a_failing_run_is_re_raised_for_lambdas_retry() -> None:
    run = Recorder(StateUnavailableError("get_item: throttled"))
    event = {"schedule": "health", "scheduled_time": "2024-06-03T14:00:00Z"}
    with pytest.raises(StateUnavailableError):
        scheduled_handler("health", run)(event, Context())  # type: ignore[arg-type]
    assert run.calls == [datetime(2024, 6, 3, 14, 0, tzinfo=UTC)]


def test_the_handlers_load_no_aws_sdk_client_nor_alpaca_until_they_run() -> None:
    code = (
        "import sys, json\n"
        "import functions.regime.handler, functions.health.handler\n"
        "import functions.premarket.handler, functions.eod.handler\n"
        "print(json.dumps(sorted(m for m in ('alpaca', 'pandas') if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO,
        env={"PYTHONPATH": f"{REPO / 'layers' / 'core'}:{REPO}", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert json.loads(out.stdout) == []
