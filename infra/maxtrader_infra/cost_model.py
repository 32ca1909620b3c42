"""What a stage costs a month, from its call counts: ``python -m maxtrader_infra.cost_model``.

Invocations come from the stack's own definitions: each schedule's fire times (schedules.py),
the session's bar count (symbols x 390 minutes) for ingest and the bars queue, and an assumed
number of signals. What one invocation asks of DynamoDB and SQS is measured: the request units
and requests per invocation of every function over ``make demo``'s simulated session
(``session_usage.json``, refreshed by ``make cost``; tests/e2e checks it still matches a fresh
simulation). Durations and metric cardinalities are stated assumptions (``ASSUMED``, ``SERIES``).
docs/cost.md prints this module's table and tests/infra/test_cost.py checks they agree.

Prices: us-east-1 list prices (USD) as published in 2025, free tiers applied once per account
(one account per stage). Check https://aws.amazon.com/pricing before relying on a figure.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from maxtrader.config.loader import load_config
from maxtrader.config.stage import StageConfig
from maxtrader_infra import metric_names
from maxtrader_infra.alarms import metric_alarm_specs
from maxtrader_infra.function_specs import FUNCTIONS
from maxtrader_infra.schedules import crons

TRADING_DAYS_PER_MONTH: Final = 21  # 252 a year
SESSION_MINUTES: Final = 390
SESSION_HOURS_PER_MONTH: Final = 6.5 * TRADING_DAYS_PER_MONTH
SIGNALS_PER_DAY: Final = 20  # assumed: at most max_daily_trades (10) approved, as many refused

# --- prices (USD)
LAMBDA_PER_MILLION_REQUESTS: Final = 0.20
LAMBDA_ARM_PER_GB_SECOND: Final = 0.0000133334
LAMBDA_FREE_GB_SECONDS: Final = 400_000
LAMBDA_FREE_REQUESTS: Final = 1_000_000
DYNAMODB_PER_MILLION_WRITES: Final = 0.625
DYNAMODB_PER_MILLION_READS: Final = 0.125
DYNAMODB_PITR_GB: Final = 0.20  # per GB-month (storage itself: 25 GB free)
TABLE_GB: Final = 0.1  # assumed, high: a day writes well under 1 MB and bars expire
SQS_FIFO_PER_MILLION: Final = 0.50
SQS_FREE_REQUESTS: Final = 1_000_000
SCHEDULER_FREE_INVOCATIONS: Final = 14_000_000
KMS_KEY_MONTH: Final = 1.00
SECRET_MONTH: Final = 0.40
SECRETS_PER_10K_CALLS: Final = 0.05
METRIC_MONTH: Final = 0.30  # per custom metric series, prorated by the hour it is sent
METRIC_FREE: Final = 10
ALARM_METRIC_MONTH: Final = 0.10
ALARM_FREE: Final = 10
COMPOSITE_ALARM_MONTH: Final = 0.50
LOGS_PER_GB: Final = 0.50
HOURS_PER_MONTH: Final = 730


USAGE_FILE: Final = Path(__file__).with_name("session_usage.json")


@dataclass(frozen=True, slots=True)
class PerInvocation:
    """What one invocation of a function asks for: assumed (``ASSUMED``) or measured."""

    seconds: float
    reads: float  # DynamoDB read request units
    writes: float  # DynamoDB write request units (a transactional write counts twice)
    sqs: float = 0.0  # SQS requests the function itself makes (sends)


# Durations are assumed, deliberately high; reads and writes are used only for a function the
# measured session did not invoke.
ASSUMED: Final = {
    "ingest": PerInvocation(0.10, 2, 8),
    "signals": PerInvocation(0.30, 6, 4),
    "execute": PerInvocation(1.00, 12, 12),
    "regime": PerInvocation(0.50, 2, 2),
    "monitor": PerInvocation(1.00, 12, 4),
    "health": PerInvocation(0.50, 4, 2),
    "premarket": PerInvocation(5.00, 20, 10),
    "eod": PerInvocation(3.00, 20, 10),
    "killswitch": PerInvocation(1.00, 6, 4),
    "parity": PerInvocation(30.0, 800, 10),
}
LOG_BYTES_PER_INVOCATION: Final = 4_000  # JSON lines, EMF blob, START/END/REPORT
# Series per metric beyond one (dimension values): checks, order error kinds, breakers, services.
SERIES: Final = {"EntriesRejected": 16, "OrderErrors": 4, "BreakerTripped": 4, "DataAgeSeconds": 2}
EVENT_METRICS: Final = {"EntriesRejected", "OrderErrors", "KillSwitchChanges"}  # ~2 h a day
SQS_POLLS_PER_QUEUE_MONTH: Final = 3 * 60 * 24 * 30  # a 20 s long poll, always on


def load_usage(path: Path = USAGE_FILE) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def per_invocation(usage: dict[str, Any] | None = None) -> dict[str, PerInvocation]:
    """Each function's figures: measured where the session invoked it, else assumed."""
    measured = (usage if usage is not None else load_usage())["functions"]
    out: dict[str, PerInvocation] = {}
    for name, assumed in ASSUMED.items():
        m = measured.get(name, {})
        n = m.get("invocations", 0)
        out[name] = (
            PerInvocation(
                assumed.seconds,
                m["dynamodb_read_units"] / n,
                m["dynamodb_write_units"] / n,
                m["sqs_requests"] / n,
            )
            if n
            else assumed
        )
    return out


def usage_from_simulation(result: dict[str, Any]) -> dict[str, Any]:
    """The ``session_usage.json`` content from a ``maxtrader simulate --json`` result."""
    drills = ", ".join(result.get("faults", {})) or "none"
    return {
        "measured_by": f"maxtrader simulate: {result['day']} ({result['source']}), stage "
        f"{result['stage']}, drills: {drills}",
        "functions": result["usage"],
    }


def monthly_invocations(stage: StageConfig) -> dict[str, int]:
    """Invocations a month of each function at the stage's schedules and symbols."""
    bars_per_day = len(stage.symbols) * SESSION_MINUTES
    per_day: dict[str, int] = {spec.name: 0 for spec in FUNCTIONS}
    for spec in FUNCTIONS:
        if spec.schedule:
            per_day[spec.name] += sum(
                len(c.fire_times()) for c in crons(spec.schedule, stage.schedules)
            )
    per_day["ingest"] += SESSION_MINUTES  # the relay posts a minute's symbols together
    per_day["signals"] += bars_per_day  # worst case: one queue-driven invocation per bar
    per_day["execute"] += SIGNALS_PER_DAY
    month = {name: count * TRADING_DAYS_PER_MONTH for name, count in per_day.items()}
    month["killswitch"] += 20  # status checks and drills
    return month


def _memory_gb(name: str) -> float:
    return next(spec.memory_mb for spec in FUNCTIONS if spec.name == name) / 1024


def estimate(stage: StageConfig) -> list[tuple[str, str, float]]:
    """(item, how it is counted, USD a month)."""
    calls = monthly_invocations(stage)
    each = per_invocation()
    total_calls = sum(calls.values())
    gb_seconds = sum(n * each[f].seconds * _memory_gb(f) for f, n in calls.items())
    reads = round(sum(n * each[f].reads for f, n in calls.items()))
    writes = round(sum(n * each[f].writes for f, n in calls.items()))
    bars = len(stage.symbols) * SESSION_MINUTES * TRADING_DAYS_PER_MONTH
    signals = SIGNALS_PER_DAY * TRADING_DAYS_PER_MONTH
    sends = round(sum(n * each[f].sqs for f, n in calls.items()))
    # The event sources: a receive and a delete per message at worst, and their long polls.
    sqs_requests = sends + 2 * (bars + signals) + 2 * SQS_POLLS_PER_QUEUE_MONTH
    session_series = sum(
        SERIES.get(m.name, 1) for m in metric_names.METRICS if m.name not in EVENT_METRICS
    )
    event_series = sum(SERIES.get(name, 1) for name in EVENT_METRICS)
    metric_months = (
        session_series * SESSION_HOURS_PER_MONTH + event_series * 2 * TRADING_DAYS_PER_MONTH
    ) / HOURS_PER_MONTH
    alarm_metrics = (
        len(FUNCTIONS)  # errors
        + sum(1 for spec in FUNCTIONS if spec.reserved_concurrency is not None)  # throttles
        + 1  # the account's throttles
        + 5  # dead-letter queues
        + sum(SERIES.get(spec.metric.name, 1) for spec in metric_alarm_specs(load_config().safety))
    )
    log_gb = total_calls * LOG_BYTES_PER_INVOCATION / 1e9
    return [
        ("Lambda", f"{total_calls:,} invocations, {gb_seconds:,.0f} GB-s (free tier covers it)",
         max(0, total_calls - LAMBDA_FREE_REQUESTS) * LAMBDA_PER_MILLION_REQUESTS / 1e6
         + max(0, gb_seconds - LAMBDA_FREE_GB_SECONDS) * LAMBDA_ARM_PER_GB_SECOND),
        ("EventBridge Scheduler", "under the 14 M free invocations", 0.0),
        ("DynamoDB (on demand)", f"{reads:,} read units, {writes:,} write units (measured per "
         f"invocation), {TABLE_GB} GB with PITR",
         reads * DYNAMODB_PER_MILLION_READS / 1e6 + writes * DYNAMODB_PER_MILLION_WRITES / 1e6
         + TABLE_GB * DYNAMODB_PITR_GB),
        ("SQS (FIFO)", f"{sqs_requests:,} requests incl. the event sources' long polls",
         max(0, sqs_requests - SQS_FREE_REQUESTS) * SQS_FIFO_PER_MILLION / 1e6),
        ("KMS", "the alerts topic's key", KMS_KEY_MONTH),
        ("Secrets Manager", "3 secrets, cached 5 minutes per container",
         3 * SECRET_MONTH + 10_000 * SECRETS_PER_10K_CALLS / 10_000),
        ("CloudWatch metrics", f"{session_series} session series, {event_series} event series "
         f"= {metric_months:.1f} metric-months",
         max(0.0, metric_months - METRIC_FREE) * METRIC_MONTH),
        ("CloudWatch alarms", f"{alarm_metrics} alarm metrics and 1 composite",
         max(0, alarm_metrics - ALARM_FREE) * ALARM_METRIC_MONTH + COMPOSITE_ALARM_MONTH),
        ("CloudWatch dashboard", "one (three are free per account)", 0.0),
        ("CloudWatch Logs", f"{log_gb:.2f} GB ingested", log_gb * LOGS_PER_GB),
        ("X-Ray", "under the 100 k free traces", 0.0),
    ]  # fmt: skip


def markdown(stage_name: str) -> str:
    stage = load_config(stage=stage_name).stage
    assert stage is not None  # noqa: S101 - load_config returns the stage it was asked for
    rows = estimate(stage)
    calls = monthly_invocations(stage)
    lines = [
        f"Invocations a month ({stage_name}, {TRADING_DAYS_PER_MONTH} trading days):",
        "",
        "| function | invocations |",
        "|---|---:|",
        *(f"| {name} | {count:,} |" for name, count in calls.items()),
        "",
        "| item | counted | USD / month |",
        "|---|---|---:|",
        *(f"| {item} | {how} | {usd:.2f} |" for item, how, usd in rows),
        f"| **total** | | **{sum(usd for _, _, usd in rows):.2f}** |",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """``cost_model.py [STAGE]`` prints the table; ``cost_model.py --measured RESULT.json``
    stores a simulation's usage as the measurement first (``make cost``)."""
    if argv[:1] == ["--measured"] and len(argv) >= 2:
        result = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
        text = json.dumps(usage_from_simulation(result), indent=2, sort_keys=True)
        USAGE_FILE.write_text(text + "\n", encoding="utf-8")
        argv = argv[2:]
    print(markdown(argv[0] if argv else "production"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
