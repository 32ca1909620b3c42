"""The alerts topic: everything a person must hear about goes here (alarms, breakers, kill switch).

Encrypted with a customer key whose policy lets SNS and CloudWatch (alarm actions) use it, so an
alarm can publish to an encrypted topic. The topic refuses requests without TLS. The stage's
e-mail addresses, phone numbers (SMS) and HTTPS webhooks are subscribed; a delivery that keeps
failing lands in a dead-letter queue instead of vanishing.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from maxtrader.config.stage import AlertContacts

# Services that publish to the topic on our behalf and so need the key.
PUBLISHING_SERVICES = ("sns.amazonaws.com", "cloudwatch.amazonaws.com")


class AlertsTopic(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic_name: str,
        contacts: AlertContacts,
        retain: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description=f"Encrypts the {topic_name} SNS topic",
            enable_key_rotation=True,
            # Staging keys go when their stack goes (after the 7-day wait), production keys stay.
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
            pending_window=None if retain else Duration.days(7),
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowPublishingServices",
                principals=[iam.ServicePrincipal(service) for service in PUBLISHING_SERVICES],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
                # No source condition: AWS documents none for alarm actions, and a condition the
                # request lacks would drop alarms silently. Publishing still needs sns:Publish.
            )
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=topic_name,
            display_name="MaxTrader alerts",
            master_key=self.key,
            enforce_ssl=True,
        )
        # SNS retries on its own; what it finally cannot deliver is kept here for two weeks.
        # SNS writes to an encrypted dead-letter queue only with a customer key it may use.
        self.delivery_dlq = sqs.Queue(
            self,
            "DeliveryDlq",
            queue_name=f"{topic_name}-delivery-dlq",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        for email in contacts.emails:
            self.topic.add_subscription(
                subscriptions.EmailSubscription(email, dead_letter_queue=self.delivery_dlq)
            )
        # CDK's SmsSubscription drops a dead-letter queue (SMS failures are in SNS's delivery
        # status metrics instead): none is passed, so none is pretended.
        self.sms = [
            self.topic.add_subscription(subscriptions.SmsSubscription(phone))
            for phone in contacts.sms
        ]
        for url in contacts.webhooks:
            self.topic.add_subscription(
                subscriptions.UrlSubscription(
                    url,
                    protocol=sns.SubscriptionProtocol.HTTPS,
                    dead_letter_queue=self.delivery_dlq,
                )
            )
