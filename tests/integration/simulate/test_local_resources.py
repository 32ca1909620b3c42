"""The stack's resources created on moto from the synthesized template, and SQS delivery."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from maxtrader.simulate.resources import create_resources
from maxtrader.simulate.sqs_delivery import QueueDelivery
from maxtrader.simulate.stack_template import stack_template, template_key

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return stack_template("staging", REPO)  # the cache in .build/ when infra/ is unchanged


@pytest.fixture
def clients(aws_env: str) -> dict[str, Any]:
    session = boto3.session.Session()
    return {n: session.client(n, region_name="us-east-1")
            for n in ("dynamodb", "sqs", "sns", "secretsmanager")}  # fmt: skip


def test_the_cache_key_follows_the_stage_and_the_infra_sources() -> None:
    assert template_key(REPO, "staging") == template_key(REPO, "staging")
    assert template_key(REPO, "staging") != template_key(REPO, "production")


def test_every_table_queue_topic_and_secret_of_the_template_exists_on_moto(
    template: dict[str, Any], clients: dict[str, Any]
) -> None:
    # a fresh moto per test session: names may already exist from another test; skip if so
    dynamodb, sqs = clients["dynamodb"], clients["sqs"]
    if "maxtrader-staging-state" in dynamodb.list_tables()["TableNames"]:
        pytest.skip("this moto server already holds the staging stack")
    created = create_resources(template, **clients)
    made: dict[str, set[str]] = {"AWS::DynamoDB::Table": set(created.tables),
                                 "AWS::SQS::Queue": set(created.queues),
                                 "AWS::SNS::Topic": set(created.topics)}  # fmt: skip
    for kind, logical_ids in made.items():
        ids = {k for k, r in template["Resources"].items() if r["Type"] == kind}
        assert logical_ids == ids, kind
    state = dynamodb.describe_table(TableName="maxtrader-staging-state")["Table"]
    props = template["Resources"]["StateTable"]["Properties"]
    assert state["KeySchema"] == props["KeySchema"]
    assert [i["IndexName"] for i in state["LocalSecondaryIndexes"]] == ["open_tickets"]
    ttl = dynamodb.describe_time_to_live(TableName="maxtrader-staging-state")
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
    bars = created.queue_url("maxtrader-staging-bars.fifo")
    attributes = sqs.get_queue_attributes(QueueUrl=bars, AttributeNames=["All"])["Attributes"]
    assert attributes["FifoQueue"] == "true"
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == created.queue_arn("maxtrader-staging-bars-dlq.fifo")
    assert redrive["maxReceiveCount"] == 3
    secret = clients["secretsmanager"].get_secret_value(SecretId="maxtrader/staging/alpaca")
    assert json.loads(secret["SecretString"]) == created.secrets["maxtrader/staging/alpaca"]
    assert set(created.secrets["maxtrader/staging/alpaca"]) == {"key_id", "secret_key"}


def test_a_failed_record_is_redelivered_at_the_next_drain_and_a_good_one_deleted(
    clients: dict[str, Any],
) -> None:
    sqs = clients["sqs"]
    url = sqs.create_queue(QueueName="drain-test.fifo",
                           Attributes={"FifoQueue": "true"})["QueueUrl"]  # fmt: skip
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    for n, group in ((1, "SPY"), (2, "QQQ")):
        sqs.send_message(QueueUrl=url, MessageBody=f"body-{n}", MessageGroupId=group,
                         MessageDeduplicationId=f"d{n}")  # fmt: skip
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        seen.extend(event["Records"])
        failed = [r["messageId"] for r in event["Records"] if r["body"] == "body-2"]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}

    delivery = QueueDelivery(sqs, url, arn, "us-east-1")
    first = delivery.drain(handler)
    assert (first.succeeded, first.failed) == (1, 1)
    assert delivery.depth() == 1
    again = delivery.drain(handler)
    assert again.delivered == 1 and again.failed == 1
    assert seen[-1]["body"] == "body-2" and seen[-1]["attributes"]["ApproximateReceiveCount"] == "2"

    def boom(event: dict[str, Any]) -> None:
        raise RuntimeError("handler crashed")

    crashed = delivery.drain(boom)
    assert crashed.errors == ["RuntimeError: handler crashed"] and delivery.depth() == 1


def test_retention_deletes_only_expired_messages_each_received_once(
    clients: dict[str, Any],
) -> None:
    from datetime import UTC, datetime, timedelta

    sqs = clients["sqs"]
    url = sqs.create_queue(QueueName="retention-test.fifo",
                           Attributes={"FifoQueue": "true"})["QueueUrl"]  # fmt: skip
    start = datetime(2024, 6, 12, 13, 30, tzinfo=UTC)
    for n in range(15):
        sqs.send_message(QueueUrl=url, MessageBody=(start + timedelta(minutes=n)).isoformat(),
                         MessageGroupId="SPY", MessageDeduplicationId=f"m{n}")  # fmt: skip
    delivery = QueueDelivery(sqs, url, "arn", "us-east-1")
    now = start + timedelta(minutes=72)  # retention 1 hour: minutes 0..11 are older than that
    deleted = delivery.expire(now, timedelta(hours=1), datetime.fromisoformat, due=12)
    assert deleted == 12 and delivery.depth() == 3
    left = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                               MessageSystemAttributeNames=["All"])["Messages"]  # fmt: skip
    assert left[0]["Body"] == (start + timedelta(minutes=12)).isoformat()
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in left} == {"1"}


def test_a_drain_polls_only_a_queue_that_may_hold_something(clients: dict[str, Any]) -> None:
    from tests.support.flaky_client import FlakyClient

    sqs = FlakyClient(clients["sqs"])
    url = sqs.create_queue(QueueName="dirty-test.fifo",
                           Attributes={"FifoQueue": "true"})["QueueUrl"]  # fmt: skip
    delivery = QueueDelivery(sqs, url, "arn", "us-east-1")
    assert delivery.name == "dirty-test.fifo"
    bodies: list[str] = []

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        bodies.extend(r["body"] for r in event["Records"])
        return {"batchItemFailures": []}

    delivery.drain(handler)  # the first drain asks: the state of the queue is unknown
    assert sqs.calls["receive_message"] == 1
    delivery.drain(handler)
    assert sqs.calls["receive_message"] == 1  # nothing sent since it came back empty
    for n in range(12):  # more than one batch
        sqs.send_message(QueueUrl=url, MessageBody=f"b{n}", MessageGroupId="SPY",
                         MessageDeduplicationId=f"d{n}")  # fmt: skip
    delivery.sent()
    outcome = delivery.drain(handler)
    assert outcome.succeeded == 12 and bodies == [f"b{n}" for n in range(12)]
    assert sqs.calls["delete_message_batch"] == 2 and sqs.calls["delete_message"] == 0
    assert sqs.calls["receive_message"] == 1 + 2  # 10, then 2: a short batch ends the drain
    assert delivery.depth() == 0
    sqs.send_message(QueueUrl=url, MessageBody="unmarked", MessageGroupId="SPY",
                     MessageDeduplicationId="u")  # fmt: skip
    before = sqs.calls["receive_message"]
    delivery.drain(handler)
    assert sqs.calls["receive_message"] == before  # a send nobody reported is not polled for
    delivery.sent()
    delivery.drain(handler)
    assert bodies[-1] == "unmarked"


def test_failed_records_are_polled_for_again_without_a_new_send(clients: dict[str, Any]) -> None:
    sqs = clients["sqs"]
    url = sqs.create_queue(QueueName="retry-test.fifo",
                           Attributes={"FifoQueue": "true"})["QueueUrl"]  # fmt: skip
    sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="SPY",
                     MessageDeduplicationId="x")  # fmt: skip
    delivery = QueueDelivery(sqs, url, "arn", "us-east-1")
    answers = iter([RuntimeError("first try fails"), None])

    def handler(event: dict[str, Any]) -> None:
        error = next(answers)
        if error is not None:
            raise error

    assert delivery.drain(handler).failed == 1
    assert delivery.drain(handler).succeeded == 1  # redelivered with nothing sent meanwhile
    assert delivery.depth() == 0


def test_a_drain_that_stops_at_its_batch_limit_polls_again_next_time(
    clients: dict[str, Any],
) -> None:
    sqs = clients["sqs"]
    url = sqs.create_queue(QueueName="limit-test.fifo",
                           Attributes={"FifoQueue": "true"})["QueueUrl"]  # fmt: skip
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"b{n}", MessageGroupId=f"g{n}",
                         MessageDeduplicationId=f"d{n}")  # fmt: skip
    delivery = QueueDelivery(sqs, url, "arn", "us-east-1", batch_size=1)
    assert delivery.drain(lambda e: None, max_batches=2).succeeded == 2
    assert delivery.drain(lambda e: None, max_batches=2).succeeded == 1
