"""What the execute function tells the world: its EMF metrics, and never a secret — not in a
log line (every library's debug output included), an answer, the audit log, the idempotency
records or an X-Ray segment — with the real Alpaca key values read from Secrets Manager."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from maxtrader.emulators.alpaca import Fault
from maxtrader.runtime import factory
from tests.support.alpaca_env import KEY, SECRET
from tests.support.execute_harness import ExecuteStage, sqs_record
from tests.support.execution import message
from tests.support.xray_daemon import received

pytest_plugins = (
    "tests.support.alpaca_fixtures",
    "tests.support.execute_fixtures",
    "tests.support.xray_daemon",
)


@pytest.fixture
def stage(execute_stage: ExecuteStage) -> ExecuteStage:
    """This module's ``stage``: each support plugin names its own (plugins are global, and three
    defined ``stage``: which one a module got depended on the collection order)."""
    return execute_stage


pytestmark = [
    pytest.mark.xdist_group("cdk"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]
REPO = Path(__file__).resolve().parents[2]
REJECT = '{"code": 40310000, "message": "insufficient buying power"}'


def emf(out: str) -> list[dict[str, Any]]:
    docs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [d for d in docs if "_aws" in d]


def metric_values(docs: list[dict[str, Any]]) -> dict[tuple[str, str], list[float]]:
    """(metric, its non-service dimension value or "") -> the values recorded."""
    found: dict[tuple[str, str], list[float]] = {}
    for doc in docs:
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            dims = [d for group in directive["Dimensions"] for d in group if d != "service"]
            label = str(doc[dims[0]]) if dims else ""
            for metric in directive["Metrics"]:
                value = doc[metric["Name"]]
                values = value if isinstance(value, list) else [value]
                found.setdefault((metric["Name"], label), []).extend(values)
    return found


def test_the_emf_metrics_of_a_batch(
    stage: ExecuteStage, capsys: pytest.CaptureFixture[str]
) -> None:
    stage.clock.advance(61)
    now = stage.clock.now()
    rejected = message(minute=-1, risk=50.0, decided_at=now)
    fresh = message(risk=50.0, decided_at=now - timedelta(seconds=1.5))
    stale = message(minute=-5, risk=50.0)  # decided 6 minutes ago
    stage.emulator.inject("submit_order", Fault.body(403, REJECT))  # the first order sent
    capsys.readouterr()
    answer = stage.invoke(sqs_record(rejected), sqs_record(fresh), sqs_record(stale))
    assert answer == {"batchItemFailures": []}
    values = metric_values(emf(capsys.readouterr().out))
    assert values[("EntriesApproved", "")] == [1.0, 1.0]  # the refused one was approved too
    assert values[("OrdersSubmitted", "")] == [1.0]
    assert values[("OrderLatencyMs", "")] == [1500.0]  # decision to acknowledgement
    assert values[("EntriesRejected", "stale_signal")] == [1]
    assert values[("OrderErrors", "BrokerRejectedError")] == [1]
    assert ("EntriesRejected", "") not in values and ("OrderErrors", "") not in values


@pytest.fixture
def real_broker(stage: ExecuteStage, monkeypatch: pytest.MonkeyPatch) -> None:
    """The factory's own broker: the Alpaca secret read from Secrets Manager (moto)."""
    monkeypatch.setattr(stage.handler.factory, "broker", factory.broker)
    factory.broker.cache_clear()


def test_no_secret_reaches_a_log_line_an_answer_or_a_record(
    stage: ExecuteStage,
    real_broker: None,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # botocore's and urllib3's debug output included
    stage.emulator.inject("submit_order", Fault.of_status(500))
    stage.emulator.inject("submit_order", Fault.of_status(429))
    stage.emulator.inject("submit_order", Fault.malformed())
    stage.emulator.inject("account", Fault.of_status(500), times=3)  # a failed read
    answers: list[Any] = []
    with pytest.raises(BatchProcessingError):  # the account read failed: retried later
        stage.invoke(sqs_record(message(minute=-3, risk=50.0, decided_at=stage.clock.now())))
    for n in range(3):
        msg = message(minute=-n, risk=50.0, decided_at=stage.clock.now())
        if n == 2:
            stage.emulator.inject("submit_order", Fault.body(403, REJECT))
        answers.append(stage.invoke(sqs_record(msg)))
    assert len(stage.entry_orders()) == 2  # the broker was really talked to
    seen = capsys.readouterr().out + capsys.readouterr().err + caplog.text
    assert "GetSecretValue" in seen and "POST" in seen.upper()  # debug output was captured
    records = [r.model_dump_json() for r in stage.audit()]
    items = json.dumps(stage.idempotency_items())
    for value in (KEY, SECRET):
        assert value not in seen
        assert value not in json.dumps(answers)
        assert not any(value in r for r in records)
        assert value not in items
        assert value not in repr(factory.broker())


_CHILD = """
import json, sys
from datetime import datetime
from maxtrader.domain.clock import FixedClock
from maxtrader.runtime.clock import use_clock

request = json.loads(sys.stdin.read())
use_clock(FixedClock(datetime.fromisoformat(request["now"])))
from functions.execute import handler
handler.sleep = lambda seconds: None

class Context:
    function_name, memory_limit_in_mb, aws_request_id = "execute", 256, "r1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:execute"
    def get_remaining_time_in_millis(self):
        return 30000

print(json.dumps([handler.lambda_handler(event, Context()) for event in request["events"]]))
"""


def test_no_secret_reaches_a_trace_segment(
    stage: ExecuteStage,
    daemon: socket.socket,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configs = tmp_path / "configs"
    shutil.copytree(REPO / "configs", configs)  # equity entries: no option chain needed
    strategies = configs / "strategies.yaml"
    text = strategies.read_text()
    wave = "  instrument: option\n  brick_atr_mult"
    assert wave in text
    strategies.write_text(text.replace(wave, "  instrument: equity\n  brick_atr_mult"))
    stage.emulator.inject("submit_order", Fault.of_status(500))
    msg = message(risk=50.0, decided_at=stage.clock.now())
    env = {
        **os.environ,
        "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'layers' / 'core'}",
        "MAXTRADER_CONFIG_DIR": str(configs),
        "LAMBDA_TASK_ROOT": "/var/task",
        "AWS_LAMBDA_FUNCTION_NAME": "maxtrader-staging-execute",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;"
        "Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
    }
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    child = subprocess.run(
        [sys.executable, "-c", _CHILD],
        input=json.dumps({"now": stage.clock.now().isoformat(),
                          "events": [{"Records": [sqs_record(msg)]}]}),
        capture_output=True, text=True, env=env, cwd=REPO, timeout=120, check=False,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr[-3000:]
    assert json.loads(child.stdout.strip().splitlines()[-1]) == [{"batchItemFailures": []}]
    segments = received(daemon)
    assert "## functions.execute.handler.record_handler" in segments
    assert '"GetSecretValue"' in segments and "/v2/orders" in segments  # the calls were traced
    for value in (KEY, SECRET):
        assert value not in segments
        assert value not in child.stdout and value not in child.stderr
    assert len(stage.entry_orders()) == 1  # on the parent's emulator and moto state
