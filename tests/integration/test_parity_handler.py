"""The parity function in process against moto server: a real shared-data day stored in
DynamoDB as the live functions leave it (bars, regime, start-of-day equity, audit log), a
real-shaped Scheduler event after the close, the result stored in the table and any difference
alerted through SNS (read back from an SQS queue subscribed to the topic).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.parity import handler
from maxtrader.adapters.dynamodb_session_store import DynamoDBSessionStore
from maxtrader.adapters.dynamodb_store import DynamoDBStateStore
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.models import AuditKind, AuditRecord
from maxtrader.function_env import FunctionEnv
from maxtrader.runtime import factory
from maxtrader.runtime.clock import runtime_clock, use_clock
from maxtrader.runtime.schedule_event import schedule_event
from tests.support.alert_topic import AlertTopic, create_alert_topic
from tests.support.ingest_events import LambdaContext
from tests.support.moto_server import create_state_table
from tests.support.parity_day import CALENDAR, LiveDay, live_day

pytestmark = pytest.mark.slow
AFTER_CLOSE = datetime(2024, 7, 2, 20, 30, tzinfo=UTC)  # 16:30 New York


@pytest.fixture(scope="module")
def real_day() -> LiveDay:
    return live_day(AFTER_CLOSE.date())  # the shipped configuration: the function's


class Stage:
    """The stage's table and topic on moto, the function's environment set, the day stored."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, day: LiveDay) -> None:
        self.table = create_state_table()
        self.topic: AlertTopic = create_alert_topic()
        env = FunctionEnv(
            stage="staging", state_table=self.table, idempotency_table="maxtrader-staging-idem",
            alerts_topic_arn=self.topic.topic_arn,
            bars_queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/bars.fifo",
            signal_queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/signals.fifo",
            alpaca_secret_name="maxtrader/staging/alpaca",
            massive_secret_name="maxtrader/staging/massive",
            webhook_secret_name="maxtrader/staging/webhook",
        )  # fmt: skip
        for name, value in env.to_environ().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "parity")
        monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
        monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "MaxTrader")
        self.state = DynamoDBStateStore.create(self.table)
        self.sessions = DynamoDBSessionStore.create(self.table)
        self.day = day
        # The day routes to vwap_reversion, which starts each session afresh (no prior sessions'
        # bars: had the replay needed any, it would have asked Massive, which has no secret
        # here, and failed). moto's transactions slow down as the table grows: the day only.
        session = CALENDAR.session(day.day)
        assert session is not None
        bars = [b for b in day.live_bars() if b.ts >= session.open]
        self.sessions.put_bars(bars, expires_at=AFTER_CLOSE + timedelta(days=30))
        regime = day.sessions.regime(day.day)
        assert regime is not None
        self.sessions.save_regime(regime)
        equity = day.state.start_of_day_equity(day.day.isoformat())
        assert equity is not None
        self.state.put_start_of_day_equity(day.day.isoformat(), equity)

    def store_log(self, records: list[AuditRecord]) -> None:
        self.state.append_audit(records)

    def parity_records(self) -> list[AuditRecord]:
        log = self.state.audit_log(self.day.day.isoformat())
        return [r for r in log if r.kind is AuditKind.PARITY]


@pytest.fixture
def stage(aws_env: str, monkeypatch: pytest.MonkeyPatch, real_day: LiveDay) -> Iterator[Stage]:
    factory.clear()
    before = runtime_clock().delegate
    use_clock(FixedClock(AFTER_CLOSE))
    yield Stage(monkeypatch, real_day)
    use_clock(before)
    factory.clear()


def invoke(when: datetime = AFTER_CLOSE) -> dict[str, Any]:
    answer: dict[str, Any] = handler.lambda_handler(schedule_event("parity", when), LambdaContext())
    return answer


def test_a_day_in_parity_is_stored_and_nothing_is_alerted(
    stage: Stage, capsys: pytest.CaptureFixture[str]
) -> None:
    stage.store_log(stage.day.log())
    answer = invoke()
    assert answer == {"day": "2024-07-02", "ok": True, "differences": 0, "alerted": False,
                      "stored": True}  # fmt: skip
    (record,) = stage.parity_records()
    assert record.detail["ok"] is True
    assert record.detail["compared"] == {"signals_live": 2, "signals_backtest": 2,
                                         "decisions_live": 2, "decisions_backtest": 2}  # fmt: skip
    assert stage.topic.delivered() == []
    assert _metric(capsys.readouterr().out, "ParityDifferences") == 0


def test_a_signal_missing_live_is_stored_and_alerted_through_the_topic(
    stage: Stage, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = next(r for r in stage.day.log() if r.kind is AuditKind.SIGNAL).subject
    kept = [r for r in stage.day.log() if gone not in (r.subject, r.detail.get("signal_id"))]
    stage.store_log(kept)
    answer = invoke()
    assert answer == {"day": "2024-07-02", "ok": False, "differences": 1, "alerted": True,
                      "stored": True}  # fmt: skip
    (record,) = stage.parity_records()
    differences = record.detail["differences"]
    assert isinstance(differences, list) and len(differences) == 1
    first = differences[0]
    assert isinstance(first, dict)
    assert (first["kind"], first["subject"]) == ("missing_in_live", gone)
    (envelope,) = stage.topic.delivered()
    assert "parity" in envelope["Subject"].lower()
    first_line = envelope["Message"].splitlines()[0]
    assert first_line.startswith("Parity 2024-07-02: 1 difference; missing_in_live")
    assert len(first_line) <= 140
    assert _metric(capsys.readouterr().out, "ParityDifferences") == 1


def test_a_malformed_event_is_refused_and_nothing_is_stored(stage: Stage) -> None:
    answer = handler.lambda_handler({"schedule": "eod", "scheduled_time": "x"}, LambdaContext())
    assert answer["error"] == "invalid_event"
    assert stage.parity_records() == []
    assert stage.topic.delivered() == []


def _metric(stdout: str, name: str) -> float | None:
    """The value of ``name`` in the EMF blob Powertools printed (None: not emitted)."""
    for line in stdout.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            blob = json.loads(line)
            if name in blob:
                value = blob[name]
                return float(value[0] if isinstance(value, list) else value)
    return None
