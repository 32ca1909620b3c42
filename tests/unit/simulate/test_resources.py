"""Template properties -> the local AWS calls that create the same resources."""

from __future__ import annotations

import json
from typing import Any

import pytest

from maxtrader.domain.errors import ConfigError
from maxtrader.simulate.resources import (
    create_resources,
    of_type,
    queue_attributes,
    queue_creation_order,
    secret_value,
    table_arguments,
)

TEMPLATE: dict[str, Any] = {"Resources": {
    "Main": {"Type": "AWS::SQS::Queue", "Properties": {
        "QueueName": "q.fifo", "FifoQueue": True, "ContentBasedDeduplication": False,
        "VisibilityTimeout": 120, "KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]},
        "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["Dlq", "Arn"]},
                          "maxReceiveCount": 3}}},
    "Dlq": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q-dlq.fifo",
                                                       "FifoQueue": True}},
    "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {
        "TableName": "t", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "TimeToLiveSpecification": {"AttributeName": "expires", "Enabled": True},
        "SSESpecification": {"SSEEnabled": True}, "Tags": []}},
    "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "alerts"}},
    "Keys": {"Type": "AWS::SecretsManager::Secret", "Properties": {
        "Name": "app/keys", "SecretString": '{"key_id":"","secret_key":""}'}},
    "Hook": {"Type": "AWS::SecretsManager::Secret", "Properties": {
        "Name": "app/hook", "GenerateSecretString": {"GenerateStringKey": "secret"}}},
}}  # fmt: skip


def test_a_dead_letter_queue_is_created_before_the_queue_that_redrives_to_it() -> None:
    assert queue_creation_order(of_type(TEMPLATE, "AWS::SQS::Queue")) == ["Dlq", "Main"]


def test_a_redrive_cycle_is_refused() -> None:
    def redrive_to(target: str) -> dict[str, Any]:
        return {"RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [target, "Arn"]}}}

    cyclic = {"A": redrive_to("B"), "B": redrive_to("A")}
    with pytest.raises(ConfigError, match="cycle"):
        queue_creation_order(cyclic)


def test_queue_attributes_resolve_the_redrive_and_leave_kms_out() -> None:
    props = of_type(TEMPLATE, "AWS::SQS::Queue")["Main"]
    attributes = queue_attributes(props, {"Dlq": "arn:aws:sqs:us-east-1:1:q-dlq.fifo"})
    assert attributes["FifoQueue"] == "true" and attributes["ContentBasedDeduplication"] == "false"
    assert attributes["VisibilityTimeout"] == "120"
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:1:q-dlq.fifo",
        "maxReceiveCount": 3,
    }
    assert "KmsMasterKeyId" not in attributes
    with pytest.raises(ConfigError, match="not created yet"):
        queue_attributes(props, {})


def test_table_arguments_carry_the_schema_only() -> None:
    kwargs = table_arguments(of_type(TEMPLATE, "AWS::DynamoDB::Table")["Table"])
    assert set(kwargs) == {"TableName", "KeySchema", "AttributeDefinitions", "BillingMode"}


def test_secret_values_are_fresh_for_every_named_key() -> None:
    props = of_type(TEMPLATE, "AWS::SecretsManager::Secret")
    first, second = secret_value(props["Keys"]), secret_value(props["Keys"])
    assert set(first) == {"key_id", "secret_key"} and first != second
    assert all(len(v) > 20 for v in first.values())
    assert set(secret_value(props["Hook"])) == {"secret"}
    with pytest.raises(ConfigError, match="names no JSON key"):
        secret_value({"Name": "x"})


class _Recorder:
    """Stands in for the boto3 clients: records each call, answers what the code reads."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> dict[str, Any]:
            self.calls.append((name, kwargs))
            if name == "create_queue":
                return {"QueueUrl": f"http://127.0.0.1/1/{kwargs['QueueName']}"}
            if name == "get_queue_attributes":
                return {"Attributes": {"QueueArn": "arn:aws:sqs:us-east-1:1:"
                                       + kwargs["QueueUrl"].rsplit("/", 1)[-1]}}  # fmt: skip
            if name == "create_topic":
                return {"TopicArn": f"arn:aws:sns:us-east-1:1:{kwargs['Name']}"}
            return {}

        return call


def test_create_resources_makes_each_resource_once_in_dependency_order() -> None:
    clients = {n: _Recorder() for n in ("dynamodb", "sqs", "sns", "secretsmanager")}
    created = create_resources(TEMPLATE, **clients)
    queues = [k["QueueName"] for n, k in clients["sqs"].calls if n == "create_queue"]
    assert queues == ["q-dlq.fifo", "q.fifo"]
    assert [n for n, _ in clients["dynamodb"].calls] == ["create_table", "update_time_to_live"]
    assert created.queue_url("q.fifo").endswith("/q.fifo")
    assert created.topic_arn("alerts").endswith(":alerts")
    stored = {k["Name"]: json.loads(k["SecretString"])
              for _, k in clients["secretsmanager"].calls}  # fmt: skip
    assert stored == created.secrets
    with pytest.raises(ConfigError, match="no queue named"):
        created.queue_url("missing.fifo")
