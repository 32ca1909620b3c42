"""IAM across the template: no wildcard without its acknowledged reason, the Function URLs' auth
and the kill-switch operator policy exactly as AWS requires it."""

from __future__ import annotations

from typing import Any

import pytest

from maxtrader_infra.function_specs import FUNCTIONS
from tests.infra.template_queries import as_list, function_ids, resource
from tests.support.templates import resources_of_type, template

STAGES = ["staging", "production"]
pytestmark = pytest.mark.xdist_group("cdk")
XRAY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def _documents(stage: str) -> list[tuple[str, dict[str, Any]]]:
    """(owner, statement) of every identity policy statement in the template."""
    found: list[tuple[str, dict[str, Any]]] = []
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for logical_id, policy in resources_of_type(stage, kind).items():
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                found.append((logical_id, statement))
    for logical_id, role in resources_of_type(stage, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                found.append((logical_id, statement))
    return found


def _qualifier_of_one_function(value: Any, function_ids: set[str]) -> bool:
    """``<arn of one of our functions>:*`` (its versions and aliases), as CDK grants invoke."""
    if not isinstance(value, dict) or set(value) != {"Fn::Join"}:
        return False
    separator, parts = value["Fn::Join"]
    return (
        separator == ""
        and len(parts) == 2
        and parts[1] == ":*"
        and parts[0].get("Fn::GetAtt", [None])[0] in function_ids
    )


def wildcard_violations(
    statements: list[tuple[str, dict[str, Any]]], functions: set[str]
) -> list[tuple[str, Any]]:
    """(owner, offending part) of each statement with a wildcard no acknowledgement covers."""
    found: list[tuple[str, Any]] = []
    for owner, statement in statements:
        actions = as_list(statement.get("Action", []))
        found += [(owner, a) for a in actions if "*" in a]
        for target in as_list(statement["Resource"]):
            if target == "*":
                # Acknowledged (nag_acknowledgements.XRAY_WILDCARD): X-Ray has no resource ARNs.
                if set(actions) != XRAY:
                    found.append((owner, target))
            elif isinstance(target, dict) and "Fn::Join" in target:
                joined = "".join(p for p in target["Fn::Join"][1] if isinstance(p, str))
                # Acknowledged per function on the schedules' role: one function's qualifiers.
                one_function = _qualifier_of_one_function(target, functions) and actions == [
                    "lambda:InvokeFunction"
                ]
                if "*" in joined and not one_function:
                    found.append((owner, target))
            elif "*" in str(target):
                found.append((owner, target))
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_no_wildcard_without_its_acknowledged_reason(stage: str) -> None:
    statements = _documents(stage)
    assert len(statements) > 50
    assert wildcard_violations(statements, set(function_ids(stage).values())) == []


def test_the_wildcard_check_catches_what_it_must() -> None:
    """The negative control: each of these would slip past a check that does nothing."""
    fn = {"Fn::GetAtt": ["Fn1", "Arn"]}
    bad: list[dict[str, Any]] = [
        {"Action": "s3:*", "Resource": "arn:aws:s3:::bucket"},
        {"Action": ["dynamodb:GetItem"], "Resource": "*"},
        {"Action": ["xray:PutTraceSegments", "sns:Publish"], "Resource": "*"},
        {"Action": "lambda:InvokeFunction", "Resource": {"Fn::Join": ["", [fn, ":*"]]}},
        {"Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:us-east-1:1:*"},
        {"Action": "kms:GenerateDataKey*", "Resource": {"Fn::GetAtt": ["Key", "Arn"]}},
    ]
    for statement in bad:
        assert wildcard_violations([("P", statement)], {"OtherFn"}), statement
    good: list[dict[str, Any]] = [
        {"Action": sorted(XRAY), "Resource": "*"},
        {"Action": "lambda:InvokeFunction", "Resource": {"Fn::Join": ["", [fn, ":*"]]}},
    ]
    assert wildcard_violations([("P", s) for s in good], {"Fn1"}) == []


@pytest.mark.parametrize("stage", STAGES)
def test_function_urls_ingest_is_public_behind_hmac_and_killswitch_needs_iam(stage: str) -> None:
    ids = function_ids(stage)
    urls = {
        u["Properties"]["TargetFunctionArn"]["Fn::GetAtt"][0]: u["Properties"]["AuthType"]
        for u in resources_of_type(stage, "AWS::Lambda::Url").values()
    }
    assert urls == {ids["ingest"]: "NONE", ids["killswitch"]: "AWS_IAM"}
    assert {spec.name for spec in FUNCTIONS if spec.url_auth} == {"ingest", "killswitch"}
    # Anyone may reach the ingest URL (and only through the URL); nobody else is public.
    public = [
        p["Properties"]
        for p in resources_of_type(stage, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "*"
    ]
    assert {p["FunctionName"]["Fn::GetAtt"][0] for p in public} == {ids["ingest"]}
    by_action = {p["Action"]: p for p in public}
    assert by_action["lambda:InvokeFunctionUrl"]["FunctionUrlAuthType"] == "NONE"
    assert by_action["lambda:InvokeFunction"]["InvokedViaFunctionUrl"] is True
    outputs = template(stage)["Outputs"]
    for output, name in (("IngestUrl", "ingest"), ("KillSwitchUrl", "killswitch")):
        (url_id,) = [
            logical_id
            for logical_id, u in resources_of_type(stage, "AWS::Lambda::Url").items()
            if u["Properties"]["TargetFunctionArn"]["Fn::GetAtt"][0] == ids[name]
        ]
        assert outputs[output]["Value"] == {"Fn::GetAtt": [url_id, "FunctionUrl"]}


@pytest.mark.parametrize("stage", STAGES)
def test_operator_policy_grants_the_kill_switch_url_and_nothing_else(stage: str) -> None:
    killswitch = function_ids(stage)["killswitch"]
    (policy_id, policy), *others = resources_of_type(stage, "AWS::IAM::ManagedPolicy").items()
    assert others == []
    assert policy["Properties"]["ManagedPolicyName"] == f"maxtrader-{stage}-killswitch-operator"
    statements = {s["Action"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert set(statements) == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    arn = {"Fn::GetAtt": [killswitch, "Arn"]}
    url = statements["lambda:InvokeFunctionUrl"]
    assert url["Effect"] == "Allow"
    assert url["Resource"] == arn
    assert url["Condition"] == {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}}
    invoke = statements["lambda:InvokeFunction"]
    assert invoke["Effect"] == "Allow"
    assert invoke["Resource"] == arn
    assert invoke["Condition"] == {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}}
    assert "Users" not in policy["Properties"]  # attached by an operator, not by the stack
    assert template(stage)["Outputs"]["KillSwitchOperatorPolicyArn"]["Value"] == {"Ref": policy_id}
    assert resource(stage, policy_id)["Type"] == "AWS::IAM::ManagedPolicy"
