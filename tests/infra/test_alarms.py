"""Alarms: each one reaches a person (the alerts topic), every function and every dead-letter
queue is covered, the safety conditions are there, the composite joins the trading path, and
each alarm's runbook section exists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from maxtrader.config.loader import load_config
from maxtrader_infra.alarms import RUNBOOK, TRADING_PATH_FUNCTIONS, metric_alarm_specs
from maxtrader_infra.function_specs import FUNCTIONS
from tests.infra.template_queries import function_ids, referenced_ids
from tests.support.templates import resources_of_type

REPO = Path(__file__).resolve().parents[2]
STAGES = ["staging", "production"]
pytestmark = pytest.mark.xdist_group("cdk")


def _topic(stage: str) -> str:
    (topic,) = resources_of_type(stage, "AWS::SNS::Topic")
    return topic


def _alarms(stage: str) -> dict[str, dict[str, Any]]:
    """Alarm name -> properties."""
    return {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in resources_of_type(stage, "AWS::CloudWatch::Alarm").values()
    }


@pytest.mark.parametrize("stage", STAGES)
def test_every_alarm_notifies_the_alerts_topic_and_ignores_missing_data(stage: str) -> None:
    topic = {"Ref": _topic(stage)}
    alarms = list(resources_of_type(stage, "AWS::CloudWatch::Alarm").values())
    composites = list(resources_of_type(stage, "AWS::CloudWatch::CompositeAlarm").values())
    assert len(alarms) >= len(FUNCTIONS) + 5 and len(composites) == 1
    for alarm in alarms + composites:
        assert alarm["Properties"]["AlarmActions"] == [topic], alarm["Properties"]["AlarmName"]
    for alarm in alarms:
        assert alarm["Properties"]["TreatMissingData"] == "notBreaching"


def _assert_counts_lambda(alarm: dict[str, Any], metric: str) -> None:
    assert alarm["Namespace"] == "AWS/Lambda"
    assert alarm["MetricName"] == metric
    assert alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


@pytest.mark.parametrize("stage", STAGES)
def test_every_function_error_and_throttle_raises_an_alarm(stage: str) -> None:
    """Errors per function; throttles per function where it has a reserved pool of its own,
    and once for the account's shared pool (no dimension: every function in the account)."""
    alarms = _alarms(stage)
    reserved = {s.name for s in FUNCTIONS if s.reserved_concurrency is not None}
    assert reserved == {"execute", "killswitch"}
    for name, logical_id in function_ids(stage).items():
        metrics = ("Errors", "Throttles") if name in reserved else ("Errors",)
        for metric in metrics:
            alarm = alarms[f"maxtrader-{stage}-{name}-{metric.lower()}"]
            _assert_counts_lambda(alarm, metric)
            assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": logical_id}}]
        if name not in reserved:
            assert f"maxtrader-{stage}-{name}-throttles" not in alarms
    shared = alarms[f"maxtrader-{stage}-account-throttles"]
    _assert_counts_lambda(shared, "Throttles")
    assert "Dimensions" not in shared or shared["Dimensions"] == []


def _dead_letter_queues(stage: str) -> set[str]:
    """Every queue where failures end up, found from the template itself."""
    found: set[str] = set()
    for queue in resources_of_type(stage, "AWS::SQS::Queue").values():
        redrive = queue["Properties"].get("RedrivePolicy")
        if redrive:
            found |= referenced_ids(redrive)
    for kind, key in (
        ("AWS::SNS::Subscription", "RedrivePolicy"),
        ("AWS::Lambda::EventInvokeConfig", "DestinationConfig"),
    ):
        for r in resources_of_type(stage, kind).values():
            found |= referenced_ids(r["Properties"].get(key, {}))
    for schedule in resources_of_type(stage, "AWS::Scheduler::Schedule").values():
        found |= referenced_ids(schedule["Properties"]["Target"]["DeadLetterConfig"])
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_every_dead_letter_queue_alarms_on_its_first_message(stage: str) -> None:
    dlqs = _dead_letter_queues(stage)
    assert len(dlqs) == 5  # bars, signals, schedules, async failures, alert deliveries
    alarmed = {
        alarm["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for alarm in _alarms(stage).values()
        if alarm.get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and alarm["Threshold"] == 0
        and alarm["ComparisonOperator"] == "GreaterThanThreshold"
    }
    assert alarmed == dlqs


@pytest.mark.parametrize("stage", STAGES)
def test_safety_and_data_alarms_query_their_metrics(stage: str) -> None:
    config = load_config(stage=stage)
    alarms = _alarms(stage)
    for spec in metric_alarm_specs(config.safety):
        alarm = alarms[f"maxtrader-{stage}-{spec.key}"]
        (query,) = alarm["Metrics"]
        assert f"({spec.metric.name}) FROM MaxTrader" in query["Expression"]
        assert query["Period"] == 60
        assert alarm["Threshold"] == spec.threshold
        assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == spec.periods
    stale = alarms[f"maxtrader-{stage}-stale-data"]
    assert stale["Threshold"] == config.safety.health.max_staleness_seconds
    assert stale["ComparisonOperator"] == "GreaterThanThreshold"
    keys = {spec.key for spec in metric_alarm_specs(config.safety)}
    assert {"breaker-tripped", "kill-switch-engaged", "daily-loss-stop", "order-errors"} <= keys
    assert "parity-differences" in keys  # the nightly live-vs-backtest check pages a person
    assert {"stale-data"} <= keys


@pytest.mark.parametrize("stage", STAGES)
def test_trading_unhealthy_joins_safety_data_and_the_trading_path(stage: str) -> None:
    (composite,) = resources_of_type(stage, "AWS::CloudWatch::CompositeAlarm").values()
    props = composite["Properties"]
    assert props["AlarmName"] == f"maxtrader-{stage}-trading-unhealthy"
    assert props["OKActions"] == [{"Ref": _topic(stage)}]
    rule = str(props["AlarmRule"])
    by_name = {
        a["Properties"]["AlarmName"]: logical_id
        for logical_id, a in resources_of_type(stage, "AWS::CloudWatch::Alarm").items()
    }
    members = [
        "breaker-tripped",
        "kill-switch-engaged",
        "daily-loss-stop",
        "order-errors",
        "stale-data",
        "bars-dlq-depth",
        "signals-dlq-depth",
        *(f"{name}-errors" for name in TRADING_PATH_FUNCTIONS),
    ]
    for member in members:
        assert by_name[f"maxtrader-{stage}-{member}"] in rule, member


def test_every_alarm_has_its_section_in_the_runbook() -> None:
    runbook = (REPO / RUNBOOK).read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", heading.lower()).strip().replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", runbook, flags=re.MULTILINE)
    }
    described = {
        str(a["Properties"]["AlarmDescription"]).rsplit("#", 1)[1]
        for kind in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm")
        for a in resources_of_type("production", kind).values()
    }
    assert described <= anchors, sorted(described - anchors)
