"""The signals path loads no pandas/numpy, nor alpaca: a fresh interpreter imports the handler,
handles a bars-queue event and a poll (the real massive client against the emulator, on moto),
then lists what it loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from maxtrader.emulators.massive import MassiveEmulator
from maxtrader.ingest import deduplication_id, encode_bar_message
from tests.support.signals_stage import SignalsStage, poll_event, sqs_event, sqs_record
from tests.support.signals_world import DAY, minute, session_bars, session_of

pytest_plugins = ("tests.support.signals_fixtures",)
HEAVY = ("pandas", "numpy", "alpaca", "pyarrow", "exchange_calendars")
REPO = Path(__file__).resolve().parents[2]

_CHILD = """
import json, sys
from datetime import datetime
from functions.signals import handler
from maxtrader.domain.clock import FixedClock

class Context:
    function_name, memory_limit_in_mb, aws_request_id = "signals", 256, "r1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:signals"

request = json.loads(sys.stdin.read())
handler.clock = FixedClock(datetime.fromisoformat(request["now"]))
answers = [handler.lambda_handler(event, Context()) for event in request["events"]]
print(json.dumps({"answers": answers,
                  "loaded": sorted(m for m in request["watch"] if m in sys.modules)}))
"""


def test_a_bars_event_and_a_poll_load_no_pandas_numpy_or_alpaca(
    signals_stage: SignalsStage, massive: MassiveEmulator
) -> None:
    session = session_of(DAY)
    massive.add_bars(session_bars("SPY", DAY - timedelta(days=1)) + session_bars("SPY", DAY))
    massive.add_bars(session_bars("QQQ", DAY - timedelta(days=1)) + session_bars("QQQ", DAY))
    bar = minute("SPY", DAY, 2)
    arn = "arn:aws:sqs:us-east-1:123456789012:b.fifo"
    record = sqs_record(encode_bar_message(bar), group="SPY", dedup=deduplication_id(bar),
                        queue_arn=arn)  # fmt: skip
    event = sqs_event([record])
    now = session.open + timedelta(minutes=6)
    request = {"now": now.isoformat(), "events": [event, poll_event(now)],
               "watch": [*HEAVY, "boto3", "massive"]}  # fmt: skip
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'layers' / 'core'}"}
    child = subprocess.run([sys.executable, "-c", _CHILD], input=json.dumps(request),
                           capture_output=True, text=True, env=env, cwd=REPO, timeout=120,
                           check=False)  # fmt: skip
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout.strip().splitlines()[-1])
    bars_answer, poll_answer = result["answers"]
    assert bars_answer == {"batchItemFailures": []}
    assert poll_answer["stepped"] == 2 + 5  # SPY 3..4 after the pushed 0..2; QQQ 0..4
    assert result["loaded"] == ["boto3", "massive"]  # the watch list works; nothing heavy
