"""A handler in a fresh interpreter, as a cold Lambda container runs it: what it answered to
each event, what it printed (its EMF documents and log lines), and which of the watched
modules it had loaded by then."""

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
import importlib, json, sys
from datetime import datetime
from maxtrader.domain.clock import FixedClock

request = json.loads(sys.stdin.read())
handler = importlib.import_module(f"functions.{request['function']}.handler")

class Context:
    function_name, memory_limit_in_mb, aws_request_id = request["function"], 256, "r1"
    invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"

handler.clock = FixedClock(datetime.fromisoformat(request["now"]))
answers = [handler.lambda_handler(event, Context()) for event in request["events"]]
print(json.dumps({"answers": answers,
                  "loaded": sorted(m for m in request["watch"] if m in sys.modules)}))
"""


def handle_cold(
    function: str, events: list[dict[str, Any]], now: datetime, *,
    watch: tuple[str, ...] = (), env: dict[str, str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """``{"answers": [...], "loaded": [...], "printed": [...]}`` of ``functions/<function>``
    run in a new Python (this process's environment, plus ``env``) on ``events`` at ``now``;
    ``printed`` is every JSON line it wrote to stdout before its answers."""
    child_env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'layers' / 'core'}",
                 **(env or {})}  # fmt: skip
    request = {"function": function, "now": now.isoformat(), "events": events,
               "watch": list(watch)}  # fmt: skip
    child = subprocess.run(
        [sys.executable, "-c", _CHILD], input=json.dumps(request), capture_output=True,
        text=True, env=child_env, cwd=REPO, timeout=120, check=False,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr
    *printed, last = child.stdout.strip().splitlines()
    result: dict[str, Any] = json.loads(last)
    result["printed"] = [json.loads(line) for line in printed if line.startswith("{")]
    return result
