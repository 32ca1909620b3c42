"""The cdk-nag findings the stack accepts on purpose, each with its reason, in one place.

Each acknowledgement is given on the one resource it concerns (never on the stack or the app),
so a new resource with the same finding still fails the synth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

if TYPE_CHECKING:
    from maxtrader_infra.stack import MaxTraderStack

A_DLQ_HAS_NO_DLQ = (
    "Serverless::Serverless-SQSRedrivePolicy",
    "a dead-letter queue is the end of the line: its messages wait for an operator to inspect "
    "and replay them (docs/runbook.md), and its depth is alarmed",
)
VENDOR_KEY_ROTATION = (
    "AwsSolutions::AwsSolutions-SMG4",
    "the vendor issues this key in its own dashboard and has no rotation API; an operator "
    "rotates it by hand as docs/deploy.md describes",
)
WEBHOOK_KEY_ROTATION = (
    "AwsSolutions::AwsSolutions-SMG4",
    "the relay host holds a copy of this HMAC key; rotating it without updating the relay would "
    "reject every bar, so rotation is a manual, coordinated procedure (docs/deploy.md)",
)


def _acknowledge(construct: IConstruct, *rules: tuple[str, str]) -> None:
    Validations.of(construct).acknowledge(
        *(Acknowledgment(id=rule, reason=reason) for rule, reason in rules)
    )


def acknowledge(stack: MaxTraderStack) -> None:
    queues, alerts, secrets = stack.queues, stack.alerts, stack.secrets
    _acknowledge(queues.bars_dlq, A_DLQ_HAS_NO_DLQ)
    _acknowledge(queues.signal_dlq, A_DLQ_HAS_NO_DLQ)
    _acknowledge(
        queues.schedules_dlq,
        A_DLQ_HAS_NO_DLQ,
        (
            "AwsSolutions::AwsSolutions-SQS3",
            "this queue is the dead-letter queue of the EventBridge Scheduler schedules, which "
            "name it in their own DeadLetterConfig (not an SQS redrive policy)",
        ),
    )
    _acknowledge(
        alerts.delivery_dlq,
        A_DLQ_HAS_NO_DLQ,
        (
            "AwsSolutions::AwsSolutions-SQS3",
            "this queue is the dead-letter queue of the alert subscriptions (their SNS "
            "RedrivePolicy names it), not of another queue",
        ),
    )
    for sms in alerts.sms:
        _acknowledge(
            sms,
            (
                "Serverless::Serverless-SNSRedrivePolicy",
                "CDK's SmsSubscription takes no dead-letter queue; failed SMS deliveries show in "
                "the topic's NumberOfNotificationsFailed metric, and e-mail carries the same alert",
            ),
        )
    _acknowledge(secrets.alpaca, VENDOR_KEY_ROTATION)
    _acknowledge(secrets.massive, VENDOR_KEY_ROTATION)
    _acknowledge(secrets.webhook, WEBHOOK_KEY_ROTATION)
