"""SNS alerts on moto server, read back through an SQS queue subscribed to the topic.

Dedup over the cooldown holds within a container, across containers and under a race (the
claim is a conditional put on the state table); an SNS failure raises a domain error and
records nothing as sent.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from maxtrader import state_schema as schema
from maxtrader.adapters.alert_cooldown import Cooldown
from maxtrader.adapters.dynamodb_store import CLIENT_CONFIG
from maxtrader.adapters.sns_alerts import CLAIM_LEASE, SnsAlerts
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import AlertDeliveryError
from maxtrader.domain.ports import Alert
from tests.support.alert_topic import AlertTopic, create_alert_topic
from tests.support.flaky_client import throttled, timed_out
from tests.support.recording_client import RecordingClient

COOLDOWN = timedelta(minutes=15)
KILL = Alert(
    subject="Kill switch engaged",
    line="Kill switch engaged by ops: flatten running",
    details={"actor": "arn:aws:iam::123456789012:user/ops", "positions": 2},
    dedup_key="kill_switch:on",
)


@pytest.fixture
def topic(aws_env: str) -> AlertTopic:
    return create_alert_topic()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2024, 6, 3, 14, 0, tzinfo=UTC))


class Container:
    """One Lambda container's alerts: its own clients (recorded), the shared clock."""

    def __init__(
        self, topic: AlertTopic, table: str, clock: FixedClock, cooldown: timedelta = COOLDOWN
    ) -> None:
        self.sns = RecordingClient(boto3.client("sns", config=CLIENT_CONFIG))
        self.dynamodb = RecordingClient(boto3.client("dynamodb", config=CLIENT_CONFIG))
        self.alerts = SnsAlerts(
            self.sns,  # type: ignore[arg-type]
            topic.topic_arn,
            self.dynamodb,  # type: ignore[arg-type]
            table,
            clock=clock,
            cooldown=Cooldown(cooldown),
            prefix="MaxTrader staging",
        )


@pytest.fixture
def container(topic: AlertTopic, state_table: str, clock: FixedClock) -> Container:
    return Container(topic, state_table, clock)


def claims(table: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = boto3.client("dynamodb").scan(
        TableName=table, ConsistentRead=True
    )["Items"]
    return [i for i in found if i["pk"]["S"].startswith(schema.ALERT_PREFIX)]


def test_an_alert_reaches_the_topic_with_its_subject_and_details(
    container: Container, topic: AlertTopic, state_table: str, clock: FixedClock
) -> None:
    assert container.alerts.publish(KILL) is True
    (envelope,) = topic.delivered()
    assert envelope["Subject"] == "[MaxTrader staging] Kill switch engaged"
    body = envelope["Message"]  # the "default" text: what an SQS or email subscriber reads
    assert body.startswith("Kill switch engaged by ops: flatten running\n")
    assert "key:     kill_switch:on" in body
    assert "2024-06-03T10:00:00-04:00 (New York)" in body
    assert json.loads(body.split("details:\n", 1)[1])["positions"] == 2
    (request,) = container.sns.requests["publish"]
    assert request["MessageStructure"] == "json"
    sms = json.loads(request["Message"])["sms"]
    assert sms == "MaxTrader staging: Kill switch engaged by ops: flatten running"
    (claim,) = claims(state_table)
    assert claim["pk"]["S"] == "ALERT#kill_switch:on" and claim["status"]["S"] == "sent"
    assert int(claim[schema.TTL_ATTRIBUTE]["N"]) > (clock.now() + COOLDOWN).timestamp()


def test_another_container_respects_the_cooldown_through_the_table(
    topic: AlertTopic, state_table: str, clock: FixedClock
) -> None:
    first, second = (Container(topic, state_table, clock) for _ in range(2))
    assert first.alerts.publish(KILL)
    clock.advance(timedelta(minutes=5))
    assert second.alerts.publish(KILL) is False
    assert second.sns.requests["publish"] == []  # the table said no: nothing was sent
    clock.advance(COOLDOWN)
    assert second.alerts.publish(KILL) is True
    assert len(topic.delivered()) == 2


@pytest.mark.concurrency
def test_of_racing_containers_exactly_one_sends(
    topic: AlertTopic, state_table: str, clock: FixedClock
) -> None:
    threads = 8
    containers = [Container(topic, state_table, clock) for _ in range(threads)]
    barrier = threading.Barrier(threads)

    def publish(c: Container) -> bool:
        barrier.wait(timeout=30)
        return c.alerts.publish(KILL)

    with ThreadPoolExecutor(threads) as pool:
        sent = list(pool.map(publish, containers))
    assert sent.count(True) == 1
    assert len(topic.delivered()) == 1


@pytest.mark.faults
@pytest.mark.parametrize(
    "error",
    [
        ClientError({"Error": {"Code": "InternalError", "Message": "boom"}}, "Publish"),
        throttled("Publish"),
        timed_out(),
    ],
    ids=["5xx", "throttled", "timeout"],
)
def test_an_sns_failure_raises_and_records_nothing_as_sent(
    container: Container, topic: AlertTopic, state_table: str, error: Exception
) -> None:
    container.sns.fail_call("publish", 1, error)
    with pytest.raises(AlertDeliveryError, match="kill_switch:on"):
        container.alerts.publish(KILL)
    assert topic.delivered() == []
    assert claims(state_table) == []  # the claim was released
    assert container.alerts.publish(KILL) is True  # so a retry sends it at once
    assert len(topic.delivered()) == 1


@pytest.mark.faults
def test_an_unreleased_claim_holds_the_key_only_for_its_lease(
    topic: AlertTopic, state_table: str, clock: FixedClock
) -> None:
    dying, other = Container(topic, state_table, clock), Container(topic, state_table, clock)
    dying.sns.fail_call("publish", 1, timed_out())
    dying.dynamodb.fail_call("delete_item", 1, throttled("DeleteItem"))
    with pytest.raises(AlertDeliveryError):
        dying.alerts.publish(KILL)
    assert other.alerts.publish(KILL) is False  # a claim in flight: maybe sending right now
    clock.advance(CLAIM_LEASE)
    assert other.alerts.publish(KILL) is True
    assert len(topic.delivered()) == 1


@pytest.mark.faults
def test_alerts_fail_open_when_the_table_is_down(
    container: Container, topic: AlertTopic, state_table: str
) -> None:
    container.dynamodb.fail_call("put_item", 1, throttled("PutItem"))
    assert container.alerts.publish(KILL) is True
    (envelope,) = topic.delivered()
    assert "dedup state unavailable" in envelope["Message"]
    assert claims(state_table) == []
    # This container remembers what it sent: no repeat within the cooldown, table or not.
    container.dynamodb.fail_call("put_item", 1, throttled("PutItem"))
    assert container.alerts.publish(KILL) is False
    assert topic.delivered() == []


@pytest.mark.faults
def test_a_send_whose_claim_is_not_marked_still_counts_as_sent(
    topic: AlertTopic, state_table: str, clock: FixedClock
) -> None:
    first, second = Container(topic, state_table, clock), Container(topic, state_table, clock)
    first.dynamodb.fail_call("update_item", 1, timed_out())
    assert first.alerts.publish(KILL) is True
    assert first.alerts.publish(KILL) is False
    assert second.alerts.publish(KILL) is False  # the lease still holds the key
    assert len(topic.delivered()) == 1
