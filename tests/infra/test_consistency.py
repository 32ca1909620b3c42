"""What the stack expects of the code, checked against the code.

- every metric the dashboard and the alarms read is emitted somewhere (the literal name in
  layers/core or functions), and they read no metric outside metric_names.METRICS;
- every function the stack deploys has its ``functions/<name>/handler.py`` and a test naming it;
- the state table's keys are the code's (maxtrader/state_schema.py).

Metrics and handlers other branches bring are ``xfail(strict=True)`` below: the merge that brings
them turns the xfail into a failure, and the name comes off the list.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from maxtrader import state_schema
from maxtrader_infra.function_specs import FUNCTIONS, FunctionSpec
from maxtrader_infra.metric_names import METRIC_NAMES, METRICS, MetricUse
from tests.support.templates import resources_of_type, template

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.xdist_group("cdk")
CODE_DIRS = (REPO / "layers" / "core" / "maxtrader", REPO / "functions")

# Emitted by the monitor, health, signals and execute functions, written on other branches now.
NOT_YET_EMITTED: frozenset[str] = frozenset()
NOT_ON_THIS_BRANCH: frozenset[str] = frozenset()


def _code() -> str:
    return "\n".join(
        path.read_text()
        for directory in CODE_DIRS
        for path in sorted(directory.rglob("*.py"))
        if "emulators" not in path.parts
    )


_CODE = _code()


def _pending(names: frozenset[str], items: tuple[Any, ...], key: str) -> list[Any]:
    return [
        pytest.param(
            item,
            id=getattr(item, key),
            marks=[pytest.mark.xfail(strict=True, reason="arrives with another branch")]
            if getattr(item, key) in names
            else [],
        )
        for item in items
    ]


@pytest.mark.parametrize("metric", _pending(NOT_YET_EMITTED, METRICS, "name"))
def test_every_metric_the_stack_reads_is_emitted_by_the_code(metric: MetricUse) -> None:
    assert f'"{metric.name}"' in _CODE, f"nothing emits {metric.name} ({metric.emitter})"


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for inner in value.values() for s in _strings(inner)]
    if isinstance(value, list):
        return [s for inner in value for s in _strings(inner)]
    return []


def _used_metric_names(stage: str) -> set[str]:
    used: set[str] = set()
    for dashboard in resources_of_type(stage, "AWS::CloudWatch::Dashboard").values():
        text = "".join(_strings(dashboard["Properties"]["DashboardBody"]))
        used |= set(re.findall(r'MetricName=\\"(\w+)\\"', text))  # SEARCH expressions
        used |= set(re.findall(r'\["MaxTrader","(\w+)"', text))  # plain metric lines, if any
    for alarm in resources_of_type(stage, "AWS::CloudWatch::Alarm").values():
        for query in alarm["Properties"].get("Metrics", []):
            used |= set(re.findall(r"\((\w+)\) FROM MaxTrader", query.get("Expression", "")))
        if alarm["Properties"].get("Namespace") == "MaxTrader":
            used.add(alarm["Properties"]["MetricName"])
    return used


@pytest.mark.parametrize("stage", ["staging", "production"])
def test_dashboard_and_alarms_read_exactly_the_listed_metrics(stage: str) -> None:
    used = _used_metric_names(stage)
    assert used == set(METRIC_NAMES)
    assert len(METRIC_NAMES) == len(set(METRIC_NAMES))


@pytest.mark.parametrize("spec", _pending(NOT_ON_THIS_BRANCH, FUNCTIONS, "name"))
def test_every_deployed_function_has_a_handler_and_a_test(spec: FunctionSpec) -> None:
    assert spec.handler_file().is_file(), f"{spec.handler_file()} is missing"
    assert spec.has_handler(), f"{spec.handler_file()} defines no lambda_handler"
    # An import of the handler (functions.<name>.handler, from functions.<name> import handler)
    # or its path, in a test outside tests/infra or in the support code the tests drive it with.
    mention = re.compile(rf"functions[./]{re.escape(spec.name)}\b")
    exercised = [
        path
        for path in (REPO / "tests").rglob("*.py")
        if path.parent.name != "infra" and mention.search(path.read_text())
    ]
    assert exercised, f"no test exercises functions/{spec.name}"


def test_the_deployed_functions_are_the_table() -> None:
    deployed = {
        r["Properties"]["FunctionName"].removeprefix("maxtrader-staging-")
        for r in resources_of_type("staging", "AWS::Lambda::Function").values()
    }
    assert deployed == {spec.name for spec in FUNCTIONS}


def test_the_state_table_keys_and_index_are_the_codes() -> None:
    props = template("production")["Resources"][state_schema.TABLE_LOGICAL_ID]["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": state_schema.PARTITION_KEY, "KeyType": "HASH"},
        {"AttributeName": state_schema.SORT_KEY, "KeyType": "RANGE"},
    ]
    assert {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]} == {
        state_schema.PARTITION_KEY: state_schema.KEY_TYPE,
        state_schema.SORT_KEY: state_schema.KEY_TYPE,
        state_schema.OPEN_TICKET_ATTRIBUTE: state_schema.KEY_TYPE,
    }
    (index,) = props["LocalSecondaryIndexes"]
    assert index["IndexName"] == state_schema.OPEN_TICKETS_INDEX
    assert index["KeySchema"][1] == {
        "AttributeName": state_schema.OPEN_TICKET_ATTRIBUTE,
        "KeyType": "RANGE",
    }
