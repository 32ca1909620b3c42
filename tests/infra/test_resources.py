"""The stack's tables, alerts, secrets and queues, pinned on the synthesized templates.

Names are checked against ``FunctionEnv.for_stage``: what the handlers will read is what the
stack creates.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest
from aws_cdk.assertions import Template
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from maxtrader.config.loader import load_config
from maxtrader.config.stage import StageConfig
from maxtrader.function_env import FunctionEnv
from maxtrader_infra import app_secrets, queues
from tests.support.templates import resources_of_type, template

STAGES = ["staging", "production"]
pytestmark = pytest.mark.xdist_group("cdk")


def stage_config(stage: str) -> StageConfig:
    config = load_config(stage=stage).stage
    assert config is not None
    return config


def find(stage: str, resource_type: str, **properties: Any) -> tuple[str, dict[str, Any]]:
    """(logical id, resource) of the one ``resource_type`` whose properties include these."""
    found = [
        (logical_id, resource)
        for logical_id, resource in resources_of_type(stage, resource_type).items()
        if all(resource["Properties"].get(k) == v for k, v in properties.items())
    ]
    assert len(found) == 1, (resource_type, properties, len(found))
    return found[0]


def one(stage: str, resource_type: str, **properties: Any) -> dict[str, Any]:
    return find(stage, resource_type, **properties)[1]


def logical_id(stage: str, resource_type: str, **properties: Any) -> str:
    return find(stage, resource_type, **properties)[0]


@pytest.mark.parametrize("stage", STAGES)
def test_resource_names_are_the_ones_the_handlers_read(stage: str) -> None:
    config = stage_config(stage)
    env = FunctionEnv.for_stage(config)
    tables = {
        r["Properties"]["TableName"]
        for r in resources_of_type(stage, "AWS::DynamoDB::Table").values()
    }
    assert tables == {env.state_table, env.idempotency_table}
    topic = one(stage, "AWS::SNS::Topic")["Properties"]["TopicName"]
    region, account = config.aws.region, config.aws.account
    assert env.alerts_topic_arn == f"arn:aws:sns:{region}:{account}:{topic}"
    redriven = [
        q["Properties"]["QueueName"]
        for q in resources_of_type(stage, "AWS::SQS::Queue").values()
        if "RedrivePolicy" in q["Properties"]
    ]
    assert sorted([env.bars_queue_url, env.signal_queue_url]) == sorted(
        f"https://sqs.{region}.amazonaws.com/{account}/{name}" for name in redriven
    )
    secrets = {
        r["Properties"]["Name"]
        for r in resources_of_type(stage, "AWS::SecretsManager::Secret").values()
    }
    assert secrets == {env.alpaca_secret_name, env.massive_secret_name, env.webhook_secret_name}


@pytest.mark.parametrize("stage", STAGES)
def test_idempotency_table_has_the_shape_powertools_uses_by_default(stage: str) -> None:
    defaults = inspect.signature(DynamoDBPersistenceLayer.__init__).parameters
    assert defaults["sort_key_attr"].default is None
    table = one(stage, "AWS::DynamoDB::Table", TableName=f"maxtrader-{stage}-idempotency")
    Template.from_json({"Resources": {"T": table}}).has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [{"AttributeName": defaults["key_attr"].default, "KeyType": "HASH"}],
            "AttributeDefinitions": [
                {"AttributeName": defaults["key_attr"].default, "AttributeType": "S"}
            ],
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True},
            "TimeToLiveSpecification": {
                "AttributeName": defaults["expiry_attr"].default,
                "Enabled": True,
            },
        },
    )


@pytest.mark.parametrize("stage", STAGES)
def test_alerts_topic_is_encrypted_with_a_key_sns_and_cloudwatch_may_use(stage: str) -> None:
    topic_id = logical_id(stage, "AWS::SNS::Topic")
    key_id = one(stage, "AWS::SNS::Topic")["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = template(stage)["Resources"][key_id]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["EnableKeyRotation"] is True
    services = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if "Service" in s.get("Principal", {})
    ]
    assert len(services) == 1
    assert sorted(services[0]["Principal"]["Service"]) == [
        "cloudwatch.amazonaws.com",
        "sns.amazonaws.com",
    ]
    assert set(services[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    policy = one(stage, "AWS::SNS::TopicPolicy")["Properties"]
    assert policy["Topics"] == [{"Ref": topic_id}]
    assert {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sns:Publish",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }.items() <= policy["PolicyDocument"]["Statement"][0].items()


@pytest.mark.parametrize("stage", STAGES)
def test_every_contact_of_the_stage_is_subscribed_and_nothing_else(stage: str) -> None:
    contacts = stage_config(stage).alerts
    topic_id = logical_id(stage, "AWS::SNS::Topic")
    subscriptions = list(resources_of_type(stage, "AWS::SNS::Subscription").values())
    assert all(s["Properties"]["TopicArn"] == {"Ref": topic_id} for s in subscriptions)
    assert sorted(
        (s["Properties"]["Protocol"], s["Properties"]["Endpoint"]) for s in subscriptions
    ) == sorted(
        [("email", e) for e in contacts.emails]
        + [("sms", p) for p in contacts.sms]
        + [("https", u) for u in contacts.webhooks]
    )
    dlq = logical_id(stage, "AWS::SQS::Queue", QueueName=f"maxtrader-{stage}-alerts-delivery-dlq")
    for s in subscriptions:
        if s["Properties"]["Protocol"] != "sms":  # CDK's SmsSubscription takes no DLQ
            assert s["Properties"]["RedrivePolicy"] == {
                "deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]}
            }


@pytest.mark.parametrize("stage", STAGES)
def test_vendor_secrets_are_created_empty_and_the_webhook_key_is_generated(stage: str) -> None:
    names = stage_config(stage).resources
    for name, shape in (
        (names.alpaca_secret, app_secrets.ALPACA_SHAPE),
        (names.massive_secret, app_secrets.MASSIVE_SHAPE),
    ):
        props = one(stage, "AWS::SecretsManager::Secret", Name=name)["Properties"]
        # The template carries the shape, never a value.
        assert json.loads(props["SecretString"]) == dict.fromkeys(shape, "")
        assert all(key in props["Description"] for key in shape)
    webhook = one(stage, "AWS::SecretsManager::Secret", Name=names.webhook_secret)["Properties"]
    assert "SecretString" not in webhook
    generated = webhook["GenerateSecretString"]
    assert generated["GenerateStringKey"] == app_secrets.WEBHOOK_KEY_FIELD
    assert generated["PasswordLength"] >= 32  # an HMAC-SHA256 key of at least 32 characters
    assert app_secrets.WEBHOOK_KEY_FIELD in webhook["Description"]


def test_production_secrets_survive_the_stack_and_staging_ones_do_not() -> None:
    for stage, policy in (("production", "Retain"), ("staging", "Delete")):
        for secret in resources_of_type(stage, "AWS::SecretsManager::Secret").values():
            assert secret["DeletionPolicy"] == policy, stage


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("queue", ["bars", "signals"])  # ingest -> signals, signals -> execute
def test_trading_queues_are_fifo_without_content_dedup_and_redrive_to_a_fifo_dlq(
    stage: str, queue: str
) -> None:
    fifo = one(stage, "AWS::SQS::Queue", QueueName=f"maxtrader-{stage}-{queue}.fifo")
    props = fifo["Properties"]
    assert props["FifoQueue"] is True
    # The dedup id is the producer's: symbol + bar start, or the signal id (queues.py).
    assert props["ContentBasedDeduplication"] is False
    dlq_id = logical_id(stage, "AWS::SQS::Queue", QueueName=f"maxtrader-{stage}-{queue}-dlq.fifo")
    assert props["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": queues.MAX_RECEIVE_COUNT,
    }
    assert 1 <= queues.MAX_RECEIVE_COUNT <= 5
    dlq = template(stage)["Resources"][dlq_id]["Properties"]
    assert dlq["FifoQueue"] is True
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert props["MessageRetentionPeriod"] < dlq["MessageRetentionPeriod"]


@pytest.mark.parametrize("stage", STAGES)
def test_schedules_have_a_standard_dead_letter_queue(stage: str) -> None:
    dlq = one(stage, "AWS::SQS::Queue", QueueName=f"maxtrader-{stage}-schedules-dlq")
    assert "FifoQueue" not in dlq["Properties"]  # Scheduler cannot write to a FIFO DLQ


@pytest.mark.parametrize("stage", STAGES)
def test_every_queue_is_encrypted_and_refuses_plain_http(stage: str) -> None:
    queues_by_id = resources_of_type(stage, "AWS::SQS::Queue")
    # bars, signals, their DLQs, schedules DLQ, alert deliveries DLQ, async failures
    assert len(queues_by_id) == 7
    for queue_id, queue in queues_by_id.items():
        props = queue["Properties"]
        assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props, queue_id
    guarded: set[str] = set()
    for policy in resources_of_type(stage, "AWS::SQS::QueuePolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        if any(
            s["Effect"] == "Deny"
            and s["Action"] == "sqs:*"
            and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        ):
            guarded |= {q["Ref"] for q in policy["Properties"]["Queues"]}
    assert guarded == set(queues_by_id)


@pytest.mark.parametrize("stage", STAGES)
def test_outputs_name_the_topic_tables_queues_secrets_and_layers(stage: str) -> None:
    assert {
        "TradingMode",
        "StateTableName",
        "IdempotencyTableName",
        "AlertsTopicArn",
        "SignalQueueUrl",
        "SignalQueueArn",
        "SignalDlqUrl",
        "BarsQueueUrl",
        "BarsDlqUrl",
        "SchedulesDlqArn",
        "AlpacaSecretArn",
        "MassiveSecretArn",
        "WebhookSecretArn",
        "DepsLayerArn",
        "CoreLayerArn",
        "IngestUrl",
        "KillSwitchUrl",
        "KillSwitchOperatorPolicyArn",
        "AsyncFailuresQueueUrl",
        "DashboardName",
    } <= set(template(stage)["Outputs"])


def test_layers_target_python_313_on_arm64() -> None:
    layers = resources_of_type("production", "AWS::Lambda::LayerVersion")
    assert sorted(layer["Properties"]["LayerName"] for layer in layers.values()) == [
        "maxtrader-production-core",
        "maxtrader-production-deps",
    ]
    for layer in layers.values():
        assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
        assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


def test_secret_shapes_are_the_keys_the_secrets_adapter_reads() -> None:
    adapter = pytest.importorskip("maxtrader.adapters.secrets")
    for shape, model in (
        (app_secrets.ALPACA_SHAPE, adapter.AlpacaSecret),
        (app_secrets.MASSIVE_SHAPE, adapter.MassiveSecret),
        (app_secrets.WEBHOOK_SHAPE, adapter.WebhookSecret),
    ):
        required = {name for name, field in model.model_fields.items() if field.is_required()}
        assert set(shape) == required, model.__name__


@pytest.mark.parametrize(
    ("queue", "dlq"),
    [
        ("maxtrader-x-signals.fifo", "maxtrader-x-signals-dlq.fifo"),
        ("maxtrader-x-bars", "maxtrader-x-bars-dlq"),
    ],
)
def test_a_fifo_queue_gets_a_fifo_dlq_name(queue: str, dlq: str) -> None:
    assert queues.dlq_name(queue) == dlq
