"""Every Lambda function the stack deploys, in one table: what it is, how big, what it may touch.

The stack builds one function, one role and one log group per row (functions.py), the
schedules from ``schedule`` (schedules.py), the alarms from the rows (alarms.py), and
tests/infra reads the same rows: a function added here is deployed, granted, alarmed and
checked for a handler without anything else to edit. A role gets exactly the access its row
names (``state``, ``secrets``, ``sends_to``, ``consumes``), nothing by default.

The handler of ``name`` is ``functions/<name>/handler.py`` exposing ``lambda_handler``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from maxtrader.runtime.schedule_event import SCHEDULE_NAMES

REPO: Final = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR: Final = REPO / "functions"
HANDLER: Final = "handler.lambda_handler"
# A function (`def lambda_handler(`) or a module-level name bound to one (`lambda_handler = ...`).
_ENTRY_POINT: Final = re.compile(r"^(def lambda_handler\(|lambda_handler\s*=)", re.MULTILINE)

StateAccess = Literal["read", "read_write"]
SecretName = Literal["alpaca", "massive", "webhook"]
QueueName = Literal["bars", "signals"]
UrlAuth = Literal["NONE", "AWS_IAM"]


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    name: str
    purpose: str
    timeout_seconds: int
    memory_mb: int
    # The state table. Every function that alerts needs read_write: the alert cooldown lives there.
    state: StateAccess | None = "read_write"
    idempotency: bool = False  # Powertools idempotency records (get, put, update, delete)
    alerts: bool = True  # sns:Publish on the alerts topic (and its key)
    secrets: frozenset[SecretName] = frozenset()
    sends_to: frozenset[QueueName] = frozenset()
    consumes: QueueName | None = None  # an SQS event source
    batch_size: int = 1
    schedule: str | None = None  # the EventBridge Scheduler schedule that invokes it
    url_auth: UrlAuth | None = None  # a Function URL
    reserved_concurrency: int | None = None
    # Scheduled (asynchronous) invocations: an event older than this is dropped, not run late.
    max_event_age_seconds: int = 120

    def handler_file(self, functions_dir: Path = FUNCTIONS_DIR) -> Path:
        return functions_dir / self.name / "handler.py"

    def has_handler(self, functions_dir: Path = FUNCTIONS_DIR) -> bool:
        """The handler file exists and defines the entry point the stack names (HANDLER)."""
        path = self.handler_file(functions_dir)
        return path.is_file() and _ENTRY_POINT.search(path.read_text()) is not None

    @property
    def service_name(self) -> str:
        """POWERTOOLS_SERVICE_NAME: logs, traces and metrics carry it as ``service``."""
        return f"maxtrader-{self.name}"


_BROKER: Final[frozenset[SecretName]] = frozenset({"alpaca"})
_MARKET: Final[frozenset[SecretName]] = frozenset({"massive"})

FUNCTIONS: Final[tuple[FunctionSpec, ...]] = (
    FunctionSpec(
        "ingest",
        "signed minute bars from the relay (Function URL, HMAC) -> state table and bars queue",
        timeout_seconds=10,
        memory_mb=256,
        alerts=False,
        secrets=frozenset({"webhook"}),
        sends_to=frozenset({"bars"}),
        url_auth="NONE",
    ),
    FunctionSpec(
        "signals",
        "bars queue (and a poll each session minute) -> strategies -> signal queue",
        timeout_seconds=30,
        memory_mb=512,
        idempotency=True,
        secrets=_MARKET,
        sends_to=frozenset({"signals"}),
        consumes="bars",
        batch_size=10,
        schedule="signals-poll",
        max_event_age_seconds=60,
    ),
    FunctionSpec(
        "execute",
        "signal queue -> safety checks -> orders at the broker",
        # The worst case of one run (every broker request timing out: execution/budget.py,
        # about 90 s with a 500-contract chain) with margin; below the signal queue's 120 s
        # visibility timeout (queues.py), which must exceed it.
        timeout_seconds=110,
        memory_mb=1024,  # alpaca-py brings pandas: its import is CPU-bound, CPU scales with memory
        idempotency=True,
        secrets=_BROKER,
        consumes="signals",
        batch_size=1,
        reserved_concurrency=2,  # at most two orders in flight; never starved by other functions
    ),
    FunctionSpec(
        "regime",
        "the session's volatility regime from VIX, every few minutes",
        timeout_seconds=30,
        memory_mb=256,
        secrets=_MARKET,
        schedule="regime",
        max_event_age_seconds=300,
    ),
    FunctionSpec(
        "monitor",
        "open positions, exits, breakers and P&L, every minute of the session",
        timeout_seconds=45,
        memory_mb=1024,
        idempotency=True,
        secrets=_BROKER | _MARKET,
        schedule="monitor",
        max_event_age_seconds=60,
    ),
    FunctionSpec(
        "health",
        "broker connectivity, data and VIX freshness, every minute of the session",
        timeout_seconds=30,
        memory_mb=1024,
        secrets=_BROKER | _MARKET,
        schedule="health",
        max_event_age_seconds=60,
    ),
    FunctionSpec(
        "premarket",
        "start-of-day equity, reconciliation and the day's calendar, before the open",
        timeout_seconds=120,
        memory_mb=1024,
        idempotency=True,
        secrets=_BROKER | _MARKET,
        schedule="premarket",
        max_event_age_seconds=900,
    ),
    FunctionSpec(
        "eod",
        "flattens before the close the calendar gives (early closes included)",
        timeout_seconds=120,
        memory_mb=1024,
        idempotency=True,
        secrets=_BROKER,
        schedule="eod",
        max_event_age_seconds=300,
    ),
    FunctionSpec(
        "killswitch",
        "the operator's kill switch (Function URL, AWS_IAM)",
        timeout_seconds=60,
        memory_mb=1024,
        secrets=_BROKER,
        url_auth="AWS_IAM",
        reserved_concurrency=2,  # always room for the operator, whatever else runs
    ),
    FunctionSpec(
        "parity",
        "after the close: the day's live decisions against a backtest of the same bars",
        timeout_seconds=300,
        memory_mb=1024,
        secrets=_MARKET,
        schedule="parity",
        max_event_age_seconds=3600,
    ),
)

BY_NAME: Final = {spec.name: spec for spec in FUNCTIONS}
SCHEDULED: Final = tuple(spec for spec in FUNCTIONS if spec.schedule is not None)


def missing_handlers(functions_dir: Path = FUNCTIONS_DIR) -> list[str]:
    """The functions without a usable handler in ``functions_dir`` (deploying is refused)."""
    return [spec.name for spec in FUNCTIONS if not spec.has_handler(functions_dir)]


def _check() -> None:
    names = [spec.name for spec in FUNCTIONS]
    schedules = sorted(str(spec.schedule) for spec in SCHEDULED)
    if len(set(names)) != len(names):
        raise ValueError(f"function names repeat: {names}")
    if schedules != sorted(SCHEDULE_NAMES):
        raise ValueError(f"scheduled functions {schedules} != the schedules {SCHEDULE_NAMES}")


_check()
