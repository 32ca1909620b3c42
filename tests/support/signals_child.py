"""The signals handler in a fresh interpreter, as a cold Lambda container runs it: what it
answered to each event and which of the watched modules it had loaded by then."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

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


def signals_in_fresh_interpreter(
    events: list[dict[str, Any]], now: datetime, *, watch: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """``{"answers": [...], "loaded": [...]}`` of the handler run in a new Python (this
    process's environment, plus ``env``) on ``events`` at ``now``."""
    child_env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'layers' / 'core'}",
                 **(env or {})}  # fmt: skip
    request = {"now": now.isoformat(), "events": events, "watch": list(watch)}
    child = subprocess.run(
        [sys.executable, "-c", _CHILD], input=json.dumps(request), capture_output=True,
        text=True, env=child_env, cwd=REPO, timeout=120, check=False,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return result
