"""An SNS topic on moto server with an SQS queue subscribed: what the topic delivers, read back.

moto only records email and SMS deliveries; an SQS subscription really receives each message
(the SNS envelope: ``Subject``, ``Message``), so tests read alerts from the queue.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import boto3


@dataclass(frozen=True)
class AlertTopic:
    topic_arn: str
    queue_url: str

    def delivered(self) -> list[dict[str, Any]]:
        """Every envelope delivered so far (moto delivers during the publish call itself)."""
        sqs = boto3.client("sqs")
        out: list[dict[str, Any]] = []
        while True:
            got = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not got:
                return out
            for message in got:
                out.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


def create_alert_topic() -> AlertTopic:
    """A fresh topic and queue (AWS_ENDPOINT_URL must point at moto)."""
    name = f"alerts-{uuid.uuid4().hex[:10]}"
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic_arn = sns.create_topic(Name=name)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return AlertTopic(topic_arn, queue_url)
