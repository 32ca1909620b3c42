"""The table of Powertools idempotency records (one per handled event: in progress or done).

Its shape is the one Powertools' ``DynamoDBPersistenceLayer`` uses by default: a string
partition key ``id`` and the TTL attribute ``expiration`` (epoch seconds), so the handlers pass
only the table name. tests/infra pins both to Powertools' own defaults.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

KEY_ATTRIBUTE: Final = "id"  # DynamoDBPersistenceLayer(key_attr="id")
EXPIRY_ATTRIBUTE: Final = "expiration"  # DynamoDBPersistenceLayer(expiry_attr="expiration")


class IdempotencyTable(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, table_name: str, retain: bool
    ) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            table_name=table_name,
            partition_key=dynamodb.Attribute(
                name=KEY_ATTRIBUTE, type=dynamodb.AttributeType.STRING
            ),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            time_to_live_attribute=EXPIRY_ATTRIBUTE,
            deletion_protection=retain,
            # Losing the records in production would let a redelivered event act twice.
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )
