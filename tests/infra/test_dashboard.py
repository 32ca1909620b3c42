"""The stage dashboard: its four sections, every listed metric, every function and DLQ."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from maxtrader_infra.dashboard import DATA, SAFETY, TRADING
from maxtrader_infra.metric_names import METRIC_NAMES
from tests.infra.template_queries import function_ids
from tests.support.templates import resources_of_type

STAGES = ["staging", "production"]
pytestmark = pytest.mark.xdist_group("cdk")


def _body(stage: str) -> tuple[dict[str, Any], list[Any]]:
    """The dashboard JSON (references replaced by their logical id) and its properties."""
    (dashboard,) = resources_of_type(stage, "AWS::CloudWatch::Dashboard").values()
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else (p.get("Ref") or p["Fn::GetAtt"][0]) for p in parts)
    return json.loads(text), parts


@pytest.mark.parametrize("stage", STAGES)
def test_sections_in_order_and_every_metric_drawn(stage: str) -> None:
    body, _ = _body(stage)
    sections = [w["properties"]["markdown"] for w in body["widgets"] if w["type"] == "text"]
    assert sections == ["## Trading", "## Safety", "## Data", "## Platform"]
    searched = set(re.findall(r'MetricName=\\"(\w+)\\"', json.dumps(body)))
    assert searched == set(METRIC_NAMES)
    titles = {w["properties"].get("title") for w in body["widgets"]}
    for name, _metrics in (*TRADING, *SAFETY, *DATA):
        assert name in titles


@pytest.mark.parametrize("stage", STAGES)
def test_platform_row_covers_every_function_dlq_and_alarm(stage: str) -> None:
    body, _ = _body(stage)
    graphs = {w["properties"].get("title"): w for w in body["widgets"]}
    ids = set(function_ids(stage).values())
    for title, metric in (
        ("Function errors", "Errors"),
        ("Function throttles", "Throttles"),
        ("Function duration (p99)", "Duration"),
    ):
        lines = graphs[title]["properties"]["metrics"]
        assert {line[3] for line in lines if line[1] == metric} == ids, title
    depth = graphs["Dead-letter queue depth"]["properties"]["metrics"]
    assert len(depth) == 5
    alarms = graphs["Alarms"]["properties"]["alarms"]
    every = set(resources_of_type(stage, "AWS::CloudWatch::Alarm")) | set(
        resources_of_type(stage, "AWS::CloudWatch::CompositeAlarm")
    )
    assert set(alarms) == every
