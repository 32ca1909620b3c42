"""The ingest path loads no pandas/numpy (nor the broker or vendor SDKs): a fresh interpreter
imports the handler and handles one real request against moto, then lists what it loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from maxtrader.runtime import factory
from tests.support.ingest_events import OPEN, IngestStage, body_of, minute_bar, signed_event

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "numpy", "alpaca", "massive", "exchange_calendars", "pyarrow")
_CHILD = """
import json, sys
from datetime import datetime
from functions.ingest import handler
from maxtrader.domain.clock import FixedClock

class Context:
    function_name, memory_limit_in_mb, aws_request_id = "ingest", 256, "r1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ingest"

request = json.loads(sys.stdin.read())
handler.clock = FixedClock(datetime.fromisoformat(request["now"]))
response = handler.lambda_handler(request["event"], Context())
heavy = %r
print(json.dumps({"status": response["statusCode"], "body": json.loads(response["body"]),
                  "loaded": sorted(m for m in heavy if m in sys.modules)}))
"""


def test_handling_a_request_loads_no_pandas_numpy_or_sdks(
    aws_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory.clear()
    IngestStage(monkeypatch)  # the environment the child inherits
    now = OPEN + timedelta(minutes=5)
    event = signed_event(body_of(minute_bar("SPY", 1)), now)
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'layers' / 'core'}"}
    child = subprocess.run(
        [sys.executable, "-c", _CHILD % (HEAVY,)],
        input=json.dumps({"now": now.isoformat(), "event": event}),
        capture_output=True, text=True, env=env, cwd=REPO, timeout=60, check=False,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert (result["status"], result["body"]["accepted"]) == (200, 1)
    assert result["loaded"] == []
    factory.clear()
