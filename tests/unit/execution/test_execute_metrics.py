"""The execute function's EMF metrics of outcomes the handler tests do not reach: a safety
rejection counts EntriesRejected once per failed check, each under its own ``check``, and
neither an approval nor an order; a redelivery of a done signal counts nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools import Metrics

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.domain.clock import FixedClock
from maxtrader.execution import ExecutionResult, Outcome, execute_signal
from maxtrader.runtime.execute_telemetry import record_result
from maxtrader.runtime.observability import METRICS_NAMESPACE
from tests.support.execution import message, rig
from tests.support.safety import uniform_config


def emitted(result: ExecutionResult, capsys: pytest.CaptureFixture[str]) -> list[tuple[str, str]]:
    """(metric, its dimension value or "") of every value ``record_result`` emits."""
    metrics = Metrics(namespace=METRICS_NAMESPACE, service="execute")
    capsys.readouterr()
    record_result(metrics, result)
    metrics.flush_metrics()
    found: list[tuple[str, str]] = []
    for line in capsys.readouterr().out.splitlines():
        doc: dict[str, Any] = json.loads(line)
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            dims = [d for group in directive["Dimensions"] for d in group if d != "service"]
            for metric in directive["Metrics"]:
                values = doc[metric["Name"]]
                count = len(values) if isinstance(values, list) else 1
                found += [(metric["Name"], str(doc[dims[0]]) if dims else "")] * count
    return found


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_a_rejection_counts_each_failed_check_under_its_own_dimension(
    store: InMemoryStateStore, clock: FixedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    config = uniform_config({"min_seconds_between_trades": 0, "max_daily_trades": 1,
                             "max_concurrent_positions": 1})  # fmt: skip
    r = rig(store, clock, config=config)
    first = execute_signal(message(minute=-1), r.deps)
    assert emitted(first, capsys) == [("EntriesApproved", ""), ("OrdersSubmitted", ""),
                                      ("OrderLatencyMs", "")]  # fmt: skip
    rejected = execute_signal(message(), r.deps)
    assert rejected.outcome is Outcome.REJECTED and len(rejected.failed_checks) >= 2
    assert sorted(emitted(rejected, capsys)) == sorted(
        ("EntriesRejected", check) for check in rejected.failed_checks
    )
    done = execute_signal(message(minute=-1), r.deps)  # the first, delivered again
    assert done.outcome is Outcome.ALREADY_DONE and emitted(done, capsys) == []
