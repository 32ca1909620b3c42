"""The functions the simulator drives: ONE table, name -> handler module. Add a line to deploy.

    deployed = load_handlers(repo)             # name -> DeployedFunction (or absent)
    deployed["ingest"].invoke(event, at)       # in process, with a Lambda-like context

A function whose module is not in the checkout yet is "not deployed": the simulator reports it
and skips its invocations (its queue fills up instead), so a partial system still replays and
each function lights up when its module lands. An import error *inside* a present module is a
bug and is raised.

``schedules`` names the Scheduler schedules a function answers; ``sources`` the queues whose
messages it consumes (``bars``: ingest -> signals, ``signals``: signals -> execute).
"""

from __future__ import annotations

import importlib
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    name: str
    module: str
    attribute: str = "lambda_handler"
    schedules: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec("ingest", "functions.ingest.handler"),
    FunctionSpec("killswitch", "functions.killswitch.handler"),
    FunctionSpec("premarket", "functions.premarket.handler", schedules=("premarket",)),
    FunctionSpec("regime", "functions.regime.handler", schedules=("regime",)),
    FunctionSpec("health", "functions.health.handler", schedules=("health",)),
    FunctionSpec("monitor", "functions.monitor.handler", schedules=("monitor",)),
    FunctionSpec(
        "signals", "functions.signals.handler", schedules=("signals-poll",), sources=("bars",)
    ),
    FunctionSpec("execute", "functions.execute.handler", sources=("signals",)),
    FunctionSpec("eod", "functions.eod.handler", schedules=("eod",)),
    FunctionSpec("parity", "functions.parity.handler", schedules=("parity",)),
)


@dataclass(frozen=True)
class LambdaContext:
    """What Powertools reads from a Lambda context."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/simulate"
    log_stream_name: str = "simulate"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass(frozen=True)
class DeployedFunction:
    spec: FunctionSpec
    handler: Handler
    stage: str

    def invoke(self, event: dict[str, Any]) -> Any:
        name = f"maxtrader-{self.stage}-{self.spec.name}"
        context = LambdaContext(
            function_name=name,
            invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
            aws_request_id=str(uuid.uuid4()),
        )
        return self.handler(event, context)


def load_handlers(
    repo: Path, stage: str, specs: tuple[FunctionSpec, ...] = FUNCTIONS
) -> dict[str, DeployedFunction]:
    """The deployed functions, imported afresh (a cold start each run, before the clock starts)."""
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    deployed: dict[str, DeployedFunction] = {}
    for spec in specs:
        # A fresh container per run: what a handler module built at import (a Powertools
        # persistence layer's client, say) must not outlive the previous run's endpoints.
        package = spec.module.rsplit(".", 1)[0]
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]
        try:
            module = importlib.import_module(spec.module)
        except ModuleNotFoundError as exc:
            if exc.name is not None and spec.module.startswith(exc.name):
                continue  # functions/<name>/handler.py is not in the checkout yet
            raise
        if callable(getattr(module, "wait", None)):
            module.wait = _no_wait  # type: ignore[attr-defined]
        deployed[spec.name] = DeployedFunction(spec, getattr(module, spec.attribute), stage)
    return deployed


def _no_wait(_seconds: float) -> None:
    """A handler's wait for the market (eod's flat re-checks sleep between reads in Lambda):
    the simulated market moves only between steps, so sleeping would change nothing."""


def for_schedule(functions: dict[str, DeployedFunction], schedule: str) -> DeployedFunction | None:
    return next((f for f in functions.values() if schedule in f.spec.schedules), None)


def for_source(functions: dict[str, DeployedFunction], source: str) -> DeployedFunction | None:
    return next((f for f in functions.values() if source in f.spec.sources), None)


def not_deployed(functions: dict[str, DeployedFunction]) -> list[str]:
    return [s.name for s in FUNCTIONS if s.name not in functions]
