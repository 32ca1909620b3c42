from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from cfnlint.api import ManualArgs, lint_file

from maxtrader import state_schema
from maxtrader_infra.function_specs import FUNCTIONS, missing_handlers
from maxtrader_infra.nag_acknowledgements import CFN_LINT_IGNORED
from tests.support.templates import (
    resources_of_type,
    synth,
    synth_warnings,
    template,
    validation_report,
)

REPO = Path(__file__).resolve().parents[2]
STAGES = ["staging", "production"]
pytestmark = pytest.mark.xdist_group("cdk")  # one worker synthesizes once for all of these


@pytest.mark.parametrize("stage", STAGES)
def test_state_table_key_schema_comes_from_the_core(stage: str) -> None:
    resource = template(stage)["Resources"][state_schema.TABLE_LOGICAL_ID]
    assert resource["Type"] == "AWS::DynamoDB::Table"
    Template.from_json({"Resources": {"T": resource}}).has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": state_schema.PARTITION_KEY, "KeyType": "HASH"},
                {"AttributeName": state_schema.SORT_KEY, "KeyType": "RANGE"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True},
            "TimeToLiveSpecification": {
                "AttributeName": state_schema.TTL_ATTRIBUTE,
                "Enabled": True,
            },
        },
    )


def test_production_keeps_its_tables_and_staging_does_not() -> None:
    for stage, policy, protected in (("production", "Retain", True), ("staging", "Delete", False)):
        tables = resources_of_type(stage, "AWS::DynamoDB::Table")
        assert len(tables) == 2  # state and idempotency
        for logical_id, table in tables.items():
            assert table["DeletionPolicy"] == policy, (stage, logical_id)
            assert table["Properties"]["DeletionProtectionEnabled"] is protected, (
                stage,
                logical_id,
            )


@pytest.mark.parametrize("stage", STAGES)
def test_trading_mode_is_visible_and_paper_by_default(stage: str) -> None:
    outputs = template(stage)["Outputs"]
    assert outputs["TradingMode"]["Value"] == "paper"


@pytest.mark.parametrize("stage", STAGES)
def test_cdk_nag_reports_no_unacknowledged_finding(stage: str) -> None:
    reports = validation_report(stage)["pluginReports"]
    assert {r["pluginName"] for r in reports} == {"AwsSolutions", "Serverless"}
    for report in reports:
        assert report["conclusion"] == "success", report["pluginName"]
        assert report["violations"] == [], report["pluginName"]


def test_every_acknowledged_finding_is_one_we_reviewed_with_a_specific_reason() -> None:
    """A new acknowledgement (or one that moved to another resource) must be reviewed here."""
    acknowledged = {
        (
            finding["ruleName"],
            construct["constructPath"].removeprefix("MaxTrader-production/"),
        ): finding["reason"]
        for report in validation_report("production")["pluginReports"]
        for finding in report.get("suppressedViolations", [])
        for construct in finding["violatingConstructs"]
    }
    function_ids = {
        spec.name: resolved_logical_id(spec.name) for spec in FUNCTIONS if spec.schedule
    }
    per_function = set()
    for spec in FUNCTIONS:
        construct = f"Functions/{spec.name.capitalize()}"
        per_function |= {
            ("AwsSolutions-L1", f"{construct}/Resource"),
            ("Serverless-LambdaLatestVersion", f"{construct}/Resource"),
            ("Serverless-LambdaDLQ", f"{construct}/Resource"),
            ("AwsSolutions-IAM5[Resource::*]", f"{construct}Role/DefaultPolicy/Resource"),
        }
        if spec.consumes:
            (mapping,) = [
                path for rule, path in acknowledged if path.startswith(f"{construct}/SqsEvent")
            ]
            per_function.add(("Serverless-LambdaEventSourceMappingDestination", mapping))
        if spec.schedule:
            per_function.add(
                (
                    f"AwsSolutions-IAM5[Resource::<{function_ids[spec.name]}.Arn>:*]",
                    "Schedules/Role/DefaultPolicy/Resource",
                )
            )
    assert set(acknowledged) == per_function | {
        ("AwsSolutions-SQS3", "Functions/AsyncFailures/Resource"),
        ("Serverless-SQSRedrivePolicy", "Functions/AsyncFailures/Resource"),
        ("AwsSolutions-SQS3", "Alerts/DeliveryDlq/Resource"),
        ("AwsSolutions-SQS3", "Queues/SchedulesDlq/Resource"),
        ("AwsSolutions-SMG4", "Secrets/Alpaca/Resource"),
        ("AwsSolutions-SMG4", "Secrets/Massive/Resource"),
        ("AwsSolutions-SMG4", "Secrets/Webhook/Resource"),
        ("Serverless-SNSRedrivePolicy", "Alerts/Topic/+15555550100/Resource"),
        ("Serverless-SQSRedrivePolicy", "Alerts/DeliveryDlq/Resource"),
        ("Serverless-SQSRedrivePolicy", "Queues/BarsDlq/Resource"),
        ("Serverless-SQSRedrivePolicy", "Queues/SignalsDlq/Resource"),
        ("Serverless-SQSRedrivePolicy", "Queues/SchedulesDlq/Resource"),
    }
    for finding, reason in acknowledged.items():
        assert len(reason) > 60, finding  # a reason, not a shrug


def resolved_logical_id(function: str) -> str:
    (logical_id,) = [
        logical_id
        for logical_id, r in resources_of_type("production", "AWS::Lambda::Function").items()
        if r["Properties"]["FunctionName"] == f"maxtrader-production-{function}"
    ]
    return logical_id


def test_cdk_nag_plugins_are_wired_to_fail_on_findings(tmp_path: Path) -> None:
    """The same plugin setup fails synth on a bad construct, so an empty report means something."""
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Bad")
    dynamodb.CfnTable(
        stack,
        "NoPitr",
        key_schema=[dynamodb.CfnTable.KeySchemaProperty(attribute_name="pk", key_type="HASH")],
        attribute_definitions=[
            dynamodb.CfnTable.AttributeDefinitionProperty(attribute_name="pk", attribute_type="S")
        ],
        provisioned_throughput=dynamodb.CfnTable.ProvisionedThroughputProperty(
            read_capacity_units=1, write_capacity_units=1
        ),
    )
    sqs.Queue(stack, "NoRedrive", enforce_ssl=True)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    with pytest.raises(RuntimeError, match="AwsSolutions-DDB3"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    failed = {v["ruleName"] for r in report["pluginReports"] for v in r["violations"]}
    assert {"AwsSolutions-DDB3", "AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"} <= failed


def test_placeholder_contacts_account_and_stub_layer_are_flagged_at_synth() -> None:
    warnings = synth_warnings("production")
    assert any("placeholder contacts: oncall@example.com, +15555550100" in w for w in warnings)
    assert any("placeholder AWS account 222222222222" in w for w in warnings)
    assert any("dependency layer is the empty stub" in w for w in warnings)
    missing = missing_handlers()
    for name in missing:
        assert any(f"the {name} function gets a stub" in w for w in warnings), name
    assert not [
        w
        for w in warnings
        if "gets a stub" in w and not any(f"the {name} function" in w for name in missing)
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_cfn_lint_finds_nothing(stage: str) -> None:
    matches = lint_file(
        synth(stage) / f"MaxTrader-{stage}.template.json",
        config=ManualArgs(ignore_checks=list(CFN_LINT_IGNORED)),
    )
    assert [str(m) for m in matches] == []


def test_make_deploy_lints_with_the_same_skipped_checks() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert f"CFN_LINT_IGNORE := {' '.join(CFN_LINT_IGNORED)}\n" in makefile
    assert "cfn-lint --ignore-checks $(CFN_LINT_IGNORE) --" in makefile


@pytest.mark.parametrize("stage", STAGES)
def test_the_skipped_cfn_lint_checks_are_the_only_findings(stage: str) -> None:
    """What is skipped is skipped for its stated reason, not hiding anything else."""
    matches = lint_file(synth(stage) / f"MaxTrader-{stage}.template.json")
    assert {m.rule.id for m in matches} <= set(CFN_LINT_IGNORED)
    assert all("dependency already enforced by a 'GetAtt'" in m.message for m in matches)
    assert all("Role" in m.message for m in matches)


@pytest.mark.slow
def test_pinned_cli_synthesizes_offline_into_cdk_outdir() -> None:
    cdk = REPO / "node_modules" / ".bin" / "cdk"
    if not cdk.exists():
        pytest.skip("the pinned CDK CLI is installed by `make test` (npm ci)")
    outdir = Path(tempfile.mkdtemp(prefix="cdk-cli-"))
    try:
        env = os.environ | {
            "CDK_OUTDIR": str(outdir),
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        }
        result = subprocess.run(
            [shutil.which("make") or "make", "--no-print-directory", "synth", "STAGE=production"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert (outdir / "MaxTrader-production.template.json").exists()
    finally:
        shutil.rmtree(outdir, ignore_errors=True)


def test_broken_config_fails_synth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configs = tmp_path / "configs"
    shutil.copytree(REPO / "configs", configs)
    safety = configs / "safety.yaml"
    safety.write_text(safety.read_text().replace("max_premium: 500", "max_premum: 500"))
    from app import build_app

    from maxtrader.domain.errors import ConfigError

    monkeypatch.setenv("MAXTRADER_CONFIG_DIR", str(configs))
    with pytest.raises(ConfigError, match=r"limits\.max_premum: unknown key"):
        build_app("staging", outdir=str(tmp_path / "out"))
