"""The kill-switch handler stays light: the operator's path when everything else is failing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_handler_loads_no_broker_sdk_until_a_flatten_needs_it() -> None:
    # A fresh interpreter: what importing the handler (a cold start) really loads.
    code = (
        "import sys, functions.killswitch.handler; "
        "heavy = ('alpaca', 'pandas', 'massive', 'websockets'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "layers" / "core"), str(REPO)])}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, check=True
    )
    assert result.stdout.strip() == "[]", result.stderr
