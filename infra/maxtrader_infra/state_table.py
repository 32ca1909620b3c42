"""The single DynamoDB table holding breaker state, P&L, positions, counters and the audit log."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from maxtrader import state_schema


class StateTable(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, retain: bool) -> None:
        super().__init__(scope, construct_id)
        key_type = {"S": dynamodb.AttributeType.STRING, "N": dynamodb.AttributeType.NUMBER}[
            state_schema.KEY_TYPE
        ]
        # A plain AWS::DynamoDB::Table: its template properties map one to one onto CreateTable,
        # which is how the tests build their moto table from the synthesized template.
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=state_schema.PARTITION_KEY, type=key_type),
            sort_key=dynamodb.Attribute(name=state_schema.SORT_KEY, type=key_type),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            time_to_live_attribute=state_schema.TTL_ATTRIBUTE,
            deletion_protection=retain,
            # Trading history must survive a stack deletion in production.
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )
        # Sparse and strongly consistent: open_tickets reads only the tickets holding a slot
        # (adapters/dynamodb_ticket_index.py explains why not a GSI). An LSI exists only from the
        # table's creation: adding it to a deployed table replaces the table.
        self.table.add_local_secondary_index(
            index_name=state_schema.OPEN_TICKETS_INDEX,
            sort_key=dynamodb.Attribute(name=state_schema.OPEN_TICKET_ATTRIBUTE, type=key_type),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        self.table.node.default_child.override_logical_id(state_schema.TABLE_LOGICAL_ID)  # type: ignore[union-attr]
