"""SNS ``Alerts`` (live): one topic (email + SMS subscriptions), deduplicated across Lambdas.

Dedup must hold across concurrent containers, so the cooldown lives in the state table: before
publishing, a container *claims* the key with a conditional PutItem (``ALERT#<key>``) that
succeeds only if the key never went out, went out at or before ``now - cooldown``, or is held
by a claim whose short lease ran out (a container that died between claim and publish). Of two
containers only one claim succeeds; the other returns False. After the publish the claim is
marked sent; if SNS fails, the claim is deleted (nothing is recorded as sent) and
``AlertDeliveryError`` is raised, so a retry can send it.

Alerts fail open: if the table itself cannot be read or written (the outage an alert may be
about), the alert is still sent, saying so, and a per-container memory of what it sent keeps a
warm container from repeating it within the cooldown.
"""

from __future__ import annotations

import logging
import math
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from maxtrader import state_schema as schema
from maxtrader.adapters import alert_messages
from maxtrader.adapters.alert_cooldown import Cooldown
from maxtrader.adapters.dynamodb_calls import ConditionFailed, call, new_client
from maxtrader.adapters.dynamodb_items import key, micros, n, s
from maxtrader.domain.clock import Clock
from maxtrader.domain.errors import AlertDeliveryError, StateUnavailableError
from maxtrader.domain.ports import Alert

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sns import SNSClient

log = logging.getLogger(__name__)
CLAIM_LEASE = timedelta(seconds=60)  # longer than a publish can take (2 tries, 3 s timeouts)
_SENDING, _SENT = "sending", "sent"


class SnsAlerts:
    def __init__(
        self,
        sns: SNSClient,
        topic_arn: str,
        dynamodb: DynamoDBClient,
        table_name: str,
        *,
        clock: Clock,
        cooldown: Cooldown,
        prefix: str = "MaxTrader",
    ) -> None:
        self._sns = sns
        self.topic_arn = topic_arn
        self._dynamodb = dynamodb
        self.table = table_name
        self._clock = clock
        self._cooldown = cooldown
        self.prefix = prefix
        self._sent_here: dict[str, datetime] = {}  # this container's sends (fail-open guard)

    @classmethod
    def create(
        cls,
        topic_arn: str,
        table_name: str,
        *,
        clock: Clock,
        cooldown: Cooldown,
        prefix: str = "MaxTrader",
        region: str | None = None,
    ) -> SnsAlerts:
        """Alerts on new clients (AWS_ENDPOINT_URL, if set, points them at an emulator)."""
        return cls(
            new_client("sns", region),
            topic_arn,
            new_client("dynamodb", region),
            table_name,
            clock=clock,
            cooldown=cooldown,
            prefix=prefix,
        )

    def publish(self, alert: Alert) -> bool:
        now = self._clock.now()
        k = alert.key()
        if not self._cooldown.allows(self._sent_here.get(k), now):
            return False
        token = uuid.uuid4().hex
        note = ""
        try:
            if not self._claim(k, alert, now, token):
                return False  # another container sent it (or is sending it) within the cooldown
            claimed = True
        except StateUnavailableError as exc:
            log.warning("alert dedup state unavailable, sending anyway: %s", exc)
            claimed, note = False, "dedup state unavailable: other containers may repeat this"
        try:
            self._send(alert, now, note)
        except AlertDeliveryError:
            if claimed:
                self._release(k, token)
            raise
        self._sent_here[k] = now
        if claimed:
            self._mark_sent(k, token)
        return True

    # --- SNS ---------------------------------------------------------------------------------
    def _send(self, alert: Alert, now: datetime, note: str) -> None:
        try:
            self._sns.publish(
                TopicArn=self.topic_arn,
                Subject=alert_messages.subject(alert, self.prefix),
                Message=alert_messages.sns_message(alert, self.prefix, now, note),
                MessageStructure="json",
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise AlertDeliveryError(
                f"sns publish {alert.key()!r}: {error.get('Code', '')}: {error.get('Message', '')}"
            ) from exc
        except BotoCoreError as exc:  # a timeout may still have delivered: a retry may repeat
            raise AlertDeliveryError(
                f"sns publish {alert.key()!r}: {type(exc).__name__}: {exc}"
            ) from exc

    # --- the cooldown claim in the state table -----------------------------------------------
    def _claim(self, k: str, alert: Alert, now: datetime, token: str) -> bool:
        lease_until = now + CLAIM_LEASE
        # TTL only collects old claims; the condition below decides, on exact instants.
        forget_at = now + max(self._cooldown.period, CLAIM_LEASE) + timedelta(hours=1)
        try:
            call(
                self._dynamodb,
                "put_item",
                TableName=self.table,
                Item={
                    **key(*schema.alert_key(k)),
                    "status": s(_SENDING),
                    "token": s(token),
                    "subject": s(alert.subject),
                    "sent_at": n(micros(now)),
                    "lease_until": n(micros(lease_until)),
                    schema.TTL_ATTRIBUTE: n(math.ceil(forget_at.timestamp())),
                },
                ConditionExpression=(
                    "attribute_not_exists(pk)"
                    " OR (#st = :sent AND sent_at <= :cutoff)"
                    " OR (#st = :sending AND lease_until <= :now)"
                ),
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={
                    ":sent": s(_SENT),
                    ":sending": s(_SENDING),
                    ":cutoff": n(micros(self._cooldown.cutoff(now))),
                    ":now": n(micros(now)),
                },
            )
        except ConditionFailed:
            return False
        return True

    def _owned(self, k: str, token: str) -> dict[str, Any]:
        return {
            "TableName": self.table,
            "Key": key(*schema.alert_key(k)),
            "ConditionExpression": "#tk = :token",
            "ExpressionAttributeNames": {"#tk": "token"},
        }

    def _mark_sent(self, k: str, token: str) -> None:
        request = self._owned(k, token)
        request["ExpressionAttributeNames"]["#st"] = "status"
        try:
            call(
                self._dynamodb,
                "update_item",
                **request,
                UpdateExpression="SET #st = :sent REMOVE lease_until",
                ExpressionAttributeValues={":token": s(token), ":sent": s(_SENT)},
            )
        except (StateUnavailableError, ConditionFailed) as exc:
            # Sent all the same; the claim's lease runs out, and at worst the alert repeats once.
            log.warning("alert %r sent but not marked sent: %s", k, exc)

    def _release(self, k: str, token: str) -> None:
        try:
            call(
                self._dynamodb,
                "delete_item",
                **self._owned(k, token),
                ExpressionAttributeValues={":token": s(token)},
            )
        except (StateUnavailableError, ConditionFailed) as exc:
            # The lease bounds how long this unsent claim can hold the key back.
            log.warning("alert %r not sent and its claim not released: %s", k, exc)


__all__ = ["CLAIM_LEASE", "SnsAlerts"]
