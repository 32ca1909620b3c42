"""Each dependency of the scheduled functions failing: DynamoDB, SNS, Massive, Alpaca, Secrets
Manager, and the event itself. Each run fails closed or works around the fault, and says so."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from maxtrader.domain.errors import StateUnavailableError
from maxtrader.domain.safety.state import SwitchName
from maxtrader.emulators.alpaca import Fault
from tests.support.ops_harness import OpsStage

pytest_plugins = ("tests.support.ops_fixtures",)
pytestmark = [
    pytest.mark.faults,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:No application metrics:UserWarning"),
]

TEN = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)
FLATTEN = datetime(2024, 6, 3, 19, 45, tzinfo=UTC)


def fresh(ops: OpsStage, now: datetime) -> None:
    ops.store_bars(("SPY", "QQQ"), now - timedelta(minutes=2))
    ops.vix(15.0, now - timedelta(minutes=2))


def metric(out: str, name: str) -> list[float]:
    """Every value the EMF documents on stdout give ``name`` (EMF lists a metric's values)."""
    docs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    values: list[float] = []
    for doc in docs:
        if "_aws" in doc and name in doc:
            values += doc[name] if isinstance(doc[name], list) else [doc[name]]
    return values


# --- the event ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("event", "problem"),
    [
        ({"schedule": "health", "scheduled_time": "tomorrow"}, "scheduled_time"),
        ({"schedule": "health", "scheduled_time": "2024-06-03T14:00:00"}, "scheduled_time"),
        ({"schedule": "eod", "scheduled_time": "2024-06-03T14:00:00Z"}, "given to the health"),
        ({"schedule": "health", "scheduled_time": "2024-06-03T14:00:00Z", "x": 1}, "x"),
        ({}, "schedule"),
    ],
)
def test_a_malformed_event_is_refused_naming_the_problem_and_nothing_runs(
    ops: OpsStage, event: dict[str, Any], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    answer = ops.invoke("health", TEN, event=event)
    assert answer["ok"] is False and answer["error"] == "invalid_event"
    assert problem in answer["message"]
    assert metric(capsys.readouterr().out, "EventRefused") == [1.0]
    assert ops.alpaca.count("account") == 0 and ops.store.health().version == 0


# --- DynamoDB -----------------------------------------------------------------------------------
def test_a_state_table_that_cannot_be_reached_fails_the_run_for_lambda_to_retry(
    ops: OpsStage, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from maxtrader.function_env import function_env
    from maxtrader.runtime import factory

    monkeypatch.setenv("MAXTRADER_STATE_TABLE", "maxtrader-staging-missing")
    function_env.cache_clear()
    factory.clear()
    ops.vix(16.0, TEN - timedelta(minutes=2))
    capsys.readouterr()
    with pytest.raises(StateUnavailableError):
        ops.invoke("regime", TEN)
    assert metric(capsys.readouterr().out, "RunFailures") == [1.0]
    assert ops.alerts() == []  # nothing was decided, so nothing is announced


# --- SNS ----------------------------------------------------------------------------------------
def test_an_alert_topic_that_refuses_publishes_is_a_warning_not_a_failure(
    ops: OpsStage, capsys: pytest.CaptureFixture[str]
) -> None:
    boto3.client("sns").delete_topic(TopicArn=ops.topic.topic_arn)
    ops.vix(16.0, TEN - timedelta(minutes=2))
    capsys.readouterr()
    answer = ops.invoke("regime", TEN)
    assert answer["ok"] and answer["detail"]["after"]["regime"] == "NORMAL_VOL"
    assert "not sent" in answer["warnings"][0]
    assert metric(capsys.readouterr().out, "AlertFailures") == [1.0]
    stored = ops.sessions.regime(TEN.date())
    assert stored is not None and stored.regime.value == "NORMAL_VOL"


# --- Massive ------------------------------------------------------------------------------------
def test_a_massive_outage_makes_the_regime_unknown_and_fails_vix_freshness(ops: OpsStage) -> None:
    ops.massive.inject(503, {"status": "ERROR", "error": "maintenance"}, times=8)
    answer = ops.invoke("regime", TEN)
    assert answer["detail"]["after"]["regime"] == "UNKNOWN"
    assert "VIX unavailable" in answer["detail"]["after"]["reason"]
    ops.store_bars(("SPY", "QQQ"), TEN - timedelta(minutes=2))
    ops.massive.inject(503, {"status": "ERROR", "error": "maintenance"}, times=8)
    health = ops.invoke("health", TEN + timedelta(minutes=1))
    failed = [c["name"] for c in health["detail"]["checks"] if not c["passed"]]
    assert failed == ["vix_freshness"] and health["detail"]["safe_mode"]


# --- Alpaca -------------------------------------------------------------------------------------
def test_a_broker_outage_is_counted_and_fails_health_on_the_third_minute(ops: OpsStage) -> None:
    outcomes = []
    for minute in range(3):
        now = TEN + timedelta(minutes=minute)
        fresh(ops, now)
        ops.alpaca.inject("account", Fault.of_status(500), times=3)  # beyond the client's retries
        answer = ops.invoke("health", now)
        outcomes.append([c["name"] for c in answer["detail"]["checks"] if not c["passed"]])
    assert outcomes == [[], [], ["broker_connectivity"]]
    assert ops.store.switch(SwitchName.SAFE_MODE).on


def test_a_broker_down_at_premarket_is_a_reason_not_armed(ops: OpsStage) -> None:
    ops.alpaca.inject("account", Fault.of_status(503), times=3)
    answer = ops.invoke("premarket", datetime(2024, 6, 4, 13, 0, tzinfo=UTC))
    assert answer["ok"] and answer["detail"]["armed"] is False
    assert any("no start-of-day equity" in r for r in answer["detail"]["reasons"])
    assert ops.store.start_of_day_equity("2024-06-04") is None


def test_eod_closes_positions_even_when_the_cancel_fails(
    ops: OpsStage, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.eod import handler
    from maxtrader.domain.broker import OrderRequest
    from maxtrader.domain.models import Instrument, OrderSide
    from tests.support.ops_harness import bar

    ops.clock.set(TEN)
    ops.trader().submit(OrderRequest(client_order_id="e-1", symbol="SPY", side=OrderSide.BUY,
                                     qty=3, instrument=Instrument.EQUITY))  # fmt: skip
    ops.alpaca.feed_bar(bar("SPY", TEN))

    def wait(_seconds: float) -> None:
        start = ops.clock.now()
        ops.clock.advance(timedelta(minutes=1))
        ops.alpaca.feed_bar(bar("SPY", start))

    monkeypatch.setattr(handler, "wait", wait)
    ops.alpaca.inject("cancel_all", Fault.of_status(500), times=1)
    answer = ops.invoke("eod", FLATTEN)
    flatten = answer["detail"]["flatten"]
    assert flatten["flat"] is True and "cancel all orders" in flatten["errors"][0]
    assert ops.alpaca.positions() == {}


# --- Secrets Manager ----------------------------------------------------------------------------
def test_an_unreadable_alpaca_secret_counts_as_a_broker_failure(ops: OpsStage) -> None:
    boto3.client("secretsmanager").delete_secret(
        SecretId=ops.alpaca_secret, ForceDeleteWithoutRecovery=True
    )
    fresh(ops, TEN)
    answer = ops.invoke("health", TEN)
    assert answer["detail"]["broker_failures"] == 1 and answer["detail"]["healthy"]


def test_an_unreadable_massive_secret_makes_the_regime_unknown_not_a_stale_one(
    ops: OpsStage,
) -> None:
    ops.vix(16.0, TEN - timedelta(minutes=2))
    assert ops.invoke("regime", TEN)["detail"]["after"]["regime"] == "NORMAL_VOL"
    boto3.client("secretsmanager").delete_secret(
        SecretId=ops.massive_secret, ForceDeleteWithoutRecovery=True
    )
    from maxtrader.runtime import factory

    factory.clear()  # a new container: the client is built from the secret again
    answer = ops.invoke("regime", TEN + timedelta(minutes=5))
    assert answer["ok"] and answer["detail"]["after"]["regime"] == "UNKNOWN"
    assert "SecretUnavailableError" in answer["detail"]["after"]["reason"]
