"""The two Function URLs and the managed policy of the operators allowed to use the kill switch.

ingest: auth NONE, because the relay signs every POST (HMAC-SHA256 with the webhook secret) and
the handler refuses what does not verify (docs/ingest.md). killswitch: AWS_IAM, so every call is
SigV4-signed by a principal holding ``OperatorPolicy``. Since October 2025 a Function URL call
needs both ``lambda:InvokeFunctionUrl`` and ``lambda:InvokeFunction`` (the latter only through
the URL, ``lambda:InvokedViaFunctionUrl``): the policy grants both and nothing else, on the one
function.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from maxtrader_infra.function_specs import FUNCTIONS

_AUTH: Final = {
    "NONE": lambda_.FunctionUrlAuthType.NONE,
    "AWS_IAM": lambda_.FunctionUrlAuthType.AWS_IAM,
}


def operator_statements(killswitch: lambda_.IFunction) -> list[iam.PolicyStatement]:
    """What an operator needs to call the kill switch URL, as AWS requires it, and no more."""
    return [
        iam.PolicyStatement(
            sid="InvokeKillSwitchUrl",
            actions=["lambda:InvokeFunctionUrl"],
            resources=[killswitch.function_arn],
            conditions={"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}},
        ),
        iam.PolicyStatement(
            sid="InvokeKillSwitchViaUrlOnly",
            actions=["lambda:InvokeFunction"],
            resources=[killswitch.function_arn],
            conditions={"Bool": {"lambda:InvokedViaFunctionUrl": "true"}},
        ),
    ]


class FunctionUrls(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage_name: str,
        functions: dict[str, lambda_.Function],
    ) -> None:
        super().__init__(scope, construct_id)
        self.urls: dict[str, lambda_.FunctionUrl] = {
            spec.name: functions[spec.name].add_function_url(auth_type=_AUTH[spec.url_auth])
            for spec in FUNCTIONS
            if spec.url_auth is not None
        }
        self.operator_policy = iam.ManagedPolicy(
            self,
            "OperatorPolicy",
            managed_policy_name=f"maxtrader-{stage_name}-killswitch-operator",
            description="Call the MaxTrader kill switch Function URL (docs/runbook.md)",
            statements=operator_statements(functions["killswitch"]),
        )
