"""What docs/ingest.md and docs/signals.md promise about the market-data path is what the code
does: the documented message examples are valid messages of their schema version, and the
metrics tables list exactly the metrics (and units) the telemetry emits."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
from aws_lambda_powertools import Metrics

from maxtrader.ingest import decode_bar_message
from maxtrader.ingest.contract import IngestRejectedError
from maxtrader.ingest.service import IngestResult
from maxtrader.ingest.telemetry import record_rejection, record_result
from maxtrader.runtime.signals_metrics import record_failure, record_outcome, set_trigger
from maxtrader.signals import SignalsOutcome
from maxtrader.trading.signal_message import decode_signal_message

DOCS = Path(__file__).resolve().parents[2] / "docs"
_METRIC_ROW = re.compile(r"^\| `(\w+)` +\| (\w+) +\|", re.MULTILINE)


class RecordedMetrics:
    """What a telemetry function asks Powertools for (Powertools' own sets are shared)."""

    def __init__(self) -> None:
        self.units: dict[str, str] = {}
        self.dimensions: dict[str, str] = {}

    def add_metric(self, *, name: str, unit: Any, value: float) -> None:
        self.units[name] = unit.value

    def add_dimension(self, *, name: str, value: str) -> None:
        self.dimensions[name] = value


def section(doc: str, heading: str) -> str:
    text = (DOCS / doc).read_text()
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end != -1 else None]


def documented_metrics(doc: str) -> dict[str, str]:
    return dict(_METRIC_ROW.findall(section(doc, "## Metrics")))


def test_the_documented_bar_message_is_a_version_1_bar_message() -> None:
    text = section("ingest.md", "## Storage and the hand-off guarantee")
    block = re.search(r"Message body \(version 1[^\n]*\n\n((?: {4}[^\n]*\n)+)", text)
    assert block is not None, "the example is an indented block after 'Message body'"
    bar = decode_bar_message("".join(line[4:] for line in block.group(1).splitlines(True)))
    assert (bar.symbol, bar.ts.isoformat(), bar.minutes) == ("SPY", "2024-06-03T13:30:00+00:00", 1)


def test_the_documented_signal_message_is_a_version_1_signal_message() -> None:
    text = section("signals.md", "## The signal message, schema v1")
    block = re.search(r"```json\n(.*?)```", text, re.DOTALL)
    assert block is not None
    message = decode_signal_message(block.group(1))
    assert (message.signal.symbol, message.signal.strategy) == ("SPY", "vwap_reversion")


def ingest_emits(metrics: Metrics) -> None:
    record_result(metrics, IngestResult(accepted=1, data_age_seconds=2.0))
    record_rejection(metrics, IngestRejectedError("replay", "signed long ago"))


def signals_emit(metrics: Metrics) -> None:
    set_trigger(metrics, "poll")
    record_outcome(metrics, SignalsOutcome(stepped=1, data_age_seconds=2.0))
    record_failure(metrics)


@pytest.mark.parametrize(
    ("doc", "emit"), [("ingest.md", ingest_emits), ("signals.md", signals_emit)],
    ids=["ingest", "signals"],
)  # fmt: skip
def test_the_metrics_tables_are_what_the_telemetry_emits(
    doc: str, emit: Callable[[Metrics], None]
) -> None:
    recorded = RecordedMetrics()
    emit(cast(Metrics, recorded))
    assert recorded.units == documented_metrics(doc)
    assert set(recorded.dimensions) <= {"reason", "trigger"}  # besides ``service``: documented
    for name in recorded.dimensions:
        assert f"`{name}`" in section(doc, "## Metrics")
