"""The stack's data resources, created on the local AWS (moto) from the synthesized template.

    created = create_resources(template, sqs=..., dynamodb=..., sns=..., secretsmanager=...)
    created.queue_url("maxtrader-staging-bars.fifo"); created.secrets["maxtrader/staging/alpaca"]

Each ``AWS::DynamoDB::Table``, ``AWS::SQS::Queue``, ``AWS::SNS::Topic`` and
``AWS::SecretsManager::Secret`` is created from its own properties: key schema, indexes and TTL;
FIFO, deduplication, retention, visibility and the redrive policy (a queue's dead-letter queue
first, resolved from its ``Fn::GetAtt``); the topic's name; each secret's JSON keys. What moto
cannot honour or the simulation does not need is left out on purpose: KMS keys and SSE
(encryption at rest), tags, point-in-time recovery, deletion protection.

Secrets get fresh random values, generated here at run time, for every key the template's
secret names (``SecretString`` keys, or ``GenerateSecretString``'s key): nothing secret is in
the repository, and the emulators are configured with these same values.
"""

from __future__ import annotations

import json
import secrets as random_tokens
from dataclasses import dataclass, field
from typing import Any

from maxtrader.domain.errors import ConfigError

TABLE = "AWS::DynamoDB::Table"
QUEUE = "AWS::SQS::Queue"
TOPIC = "AWS::SNS::Topic"
SECRET = "AWS::SecretsManager::Secret"  # noqa: S105 - a resource type
_QUEUE_ATTRIBUTES = (
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "MessageRetentionPeriod",
    "VisibilityTimeout",
    "DelaySeconds",
    "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds",
    "FifoThroughputLimit",
)


@dataclass
class CreatedResources:
    tables: dict[str, str] = field(default_factory=dict)  # logical id -> table name
    queues: dict[str, tuple[str, str]] = field(default_factory=dict)  # logical id -> (url, arn)
    topics: dict[str, str] = field(default_factory=dict)  # logical id -> topic ARN
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> generated value
    retention: dict[str, int] = field(default_factory=dict)  # queue name -> seconds

    def queue_url(self, name: str) -> str:
        for url, _ in self.queues.values():
            if url.rsplit("/", 1)[-1] == name:
                return url
        raise ConfigError([f"the template has no queue named {name!r}"])

    def queue_arn(self, name: str) -> str:
        for url, arn in self.queues.values():
            if url.rsplit("/", 1)[-1] == name:
                return arn
        raise ConfigError([f"the template has no queue named {name!r}"])

    def retention_seconds(self, name: str) -> int:
        """The queue's ``MessageRetentionPeriod`` (SQS's default, 4 days, when unset)."""
        return self.retention.get(name, 345_600)

    def topic_arn(self, name: str) -> str:
        for arn in self.topics.values():
            if arn.rsplit(":", 1)[-1] == name:
                return arn
        raise ConfigError([f"the template has no topic named {name!r}"])


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """Logical id -> properties of every resource of ``kind``."""
    return {
        logical_id: dict(resource.get("Properties", {}))
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == kind
    }


def table_arguments(props: dict[str, Any]) -> dict[str, Any]:
    """CreateTable arguments from an ``AWS::DynamoDB::Table``'s properties."""
    kwargs: dict[str, Any] = {
        "TableName": props["TableName"],
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "ProvisionedThroughput"):
        if key in props:
            kwargs[key] = props[key]
    return kwargs


def queue_attributes(props: dict[str, Any], arns: dict[str, str]) -> dict[str, str]:
    """CreateQueue attributes; ``arns`` resolves a dead-letter queue's ``Fn::GetAtt``."""
    attributes = {key: _text(props[key]) for key in _QUEUE_ATTRIBUTES if key in props}
    redrive = props.get("RedrivePolicy")
    if redrive:
        target = redrive["deadLetterTargetArn"]
        if isinstance(target, dict):
            logical_id = target["Fn::GetAtt"][0]
            if logical_id not in arns:
                raise ConfigError([f"queue dead-letter target {logical_id} is not created yet"])
            target = arns[logical_id]
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": target, "maxReceiveCount": int(redrive["maxReceiveCount"])}
        )
    return attributes


def secret_value(props: dict[str, Any]) -> dict[str, str]:
    """A fresh random value for every key the secret's template names."""
    keys: list[str] = []
    if "SecretString" in props:
        template = json.loads(props["SecretString"])
        keys = sorted(template) if isinstance(template, dict) else []
    generated = props.get("GenerateSecretString") or {}
    if "GenerateStringKey" in generated:
        keys.append(str(generated["GenerateStringKey"]))
    if not keys:
        raise ConfigError([f"secret {props.get('Name')!r}: the template names no JSON key"])
    return {key: f"sim-{random_tokens.token_hex(16)}" for key in keys}


def queue_creation_order(queues: dict[str, dict[str, Any]]) -> list[str]:
    """Logical ids with every dead-letter queue before the queues that redrive to it."""
    ordered: list[str] = []

    def visit(logical_id: str, path: tuple[str, ...]) -> None:
        if logical_id in ordered:
            return
        if logical_id in path:
            raise ConfigError([f"queue redrive cycle: {' -> '.join((*path, logical_id))}"])
        target = (queues[logical_id].get("RedrivePolicy") or {}).get("deadLetterTargetArn")
        if isinstance(target, dict) and target["Fn::GetAtt"][0] in queues:
            visit(target["Fn::GetAtt"][0], (*path, logical_id))
        ordered.append(logical_id)

    for logical_id in sorted(queues):
        visit(logical_id, ())
    return ordered


def create_resources(
    template: dict[str, Any], *, dynamodb: Any, sqs: Any, sns: Any, secretsmanager: Any
) -> CreatedResources:
    created = CreatedResources()
    for logical_id, props in of_type(template, TABLE).items():
        name = props["TableName"]
        dynamodb.create_table(**table_arguments(props))
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
        created.tables[logical_id] = name
    queues = of_type(template, QUEUE)
    arns: dict[str, str] = {}
    for logical_id in queue_creation_order(queues):
        props = queues[logical_id]
        url = sqs.create_queue(
            QueueName=props["QueueName"], Attributes=queue_attributes(props, arns)
        )["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        arns[logical_id] = arn
        if "MessageRetentionPeriod" in props:
            created.retention[props["QueueName"]] = int(props["MessageRetentionPeriod"])
        created.queues[logical_id] = (url, arn)
    for logical_id, props in of_type(template, TOPIC).items():
        created.topics[logical_id] = sns.create_topic(Name=props["TopicName"])["TopicArn"]
    for props in of_type(template, SECRET).values():
        value = secret_value(props)
        text = json.dumps(value)
        try:
            secretsmanager.create_secret(Name=props["Name"], SecretString=text)
        except secretsmanager.exceptions.ResourceExistsException:
            # A moto server shared with other runs (the test suite's): this run's value wins.
            secretsmanager.put_secret_value(SecretId=props["Name"], SecretString=text)
        created.secrets[props["Name"]] = value
    return created


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
