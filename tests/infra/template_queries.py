"""Questions the infra tests ask of a synthesized template (functions, roles, queues)."""

from __future__ import annotations

from typing import Any

from maxtrader_infra.function_specs import FUNCTIONS, FunctionSpec
from tests.support.templates import resources_of_type, template


def function_name(stage: str, spec: FunctionSpec) -> str:
    return f"maxtrader-{stage}-{spec.name}"


def function(stage: str, spec: FunctionSpec) -> tuple[str, dict[str, Any]]:
    """(logical id, resource) of the function deployed for ``spec``."""
    found = [
        (logical_id, resource)
        for logical_id, resource in resources_of_type(stage, "AWS::Lambda::Function").items()
        if resource["Properties"]["FunctionName"] == function_name(stage, spec)
    ]
    assert len(found) == 1, (spec.name, len(found))
    return found[0]


def function_ids(stage: str) -> dict[str, str]:
    """Function name (the spec's) -> logical id."""
    return {spec.name: function(stage, spec)[0] for spec in FUNCTIONS}


def role_statements(stage: str, spec: FunctionSpec) -> list[dict[str, Any]]:
    """Every policy statement attached to the function's role (inline policies only)."""
    role_id = function(stage, spec)[1]["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in resources_of_type(stage, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def referenced_ids(value: Any) -> set[str]:
    """Logical ids a template value refers to (Ref, Fn::GetAtt, nested in Fn::Join...)."""
    found: set[str] = set()
    if isinstance(value, dict):
        if "Ref" in value:
            found.add(value["Ref"])
        if "Fn::GetAtt" in value:
            found.add(value["Fn::GetAtt"][0])
        for inner in value.values():
            found |= referenced_ids(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= referenced_ids(inner)
    return found


def queue_id(stage: str, queue_name: str) -> str:
    found = [
        logical_id
        for logical_id, queue in resources_of_type(stage, "AWS::SQS::Queue").items()
        if queue["Properties"].get("QueueName") == queue_name
    ]
    assert len(found) == 1, queue_name
    return found[0]


def resource(stage: str, logical_id: str) -> dict[str, Any]:
    found: dict[str, Any] = template(stage)["Resources"][logical_id]
    return found
