"""One Lambda per row of function_specs.FUNCTIONS, each with its own role, log group and limits.

Every function: python3.13 on arm64, the deps and core layers, X-Ray active, JSON logs kept
``log_retention`` in its own log group, and the environment ``FunctionEnv.for_stage`` derives
(the names the stack creates, by construction). Its role holds only what its row names: the
DynamoDB actions the adapters and Powertools' idempotency use on the tables it touches, the
secrets it reads, the queues it sends to, the topic it publishes on. The only wildcard is
X-Ray's (it has no resource-level permissions; acknowledged in nag_acknowledgements.py).

Scheduled functions are invoked asynchronously: each has an invoke config with bounded retries,
a maximum event age and an on-failure destination (the async-failures queue, alarmed). The
queue-driven ones read their queue with partial batch responses (``report_batch_item_failures``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from maxtrader import state_schema
from maxtrader.config.stage import StageConfig
from maxtrader.function_env import FunctionEnv
from maxtrader_infra.alerts import AlertsTopic
from maxtrader_infra.app_secrets import AppSecrets
from maxtrader_infra.function_specs import FUNCTIONS, HANDLER, REPO, FunctionSpec, QueueName
from maxtrader_infra.idempotency_table import IdempotencyTable
from maxtrader_infra.layers import ARCHITECTURE, RUNTIME, Layers
from maxtrader_infra.queues import DLQ_RETENTION, TradingQueues
from maxtrader_infra.state_table import StateTable

# What the state adapters call (TransactGetItems needs GetItem, TransactWriteItems the item
# actions plus ConditionCheckItem): no Scan, no batch writes, no table management.
STATE_READ: Final = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query")
STATE_WRITE: Final = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
)
# Powertools' DynamoDBPersistenceLayer: get, put (conditional), update, delete.
IDEMPOTENCY: Final = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
)
ASYNC_RETRIES: Final = 1  # one more try for a failed scheduled run, then the failure queue
# Written when a function is in the table but its handler is not in this checkout: the synth
# warns and `make deploy` refuses (infra/deploy_preflight.py).
STUB_HANDLER_DIR: Final = REPO / "infra" / "stubs" / "handler-NOT-WRITTEN"
_NOT_SHIPPED: Final = ["__pycache__", "*.pyc", "tests"]


@dataclass(frozen=True, slots=True)
class Shared:
    """The resources the functions are granted on."""

    state: StateTable
    idempotency: IdempotencyTable
    alerts: AlertsTopic
    secrets: AppSecrets
    queues: TradingQueues
    layers: Layers


def log_retention(production: bool) -> logs.RetentionDays:
    # Production logs back the audit trail for three months; staging's are for debugging.
    return logs.RetentionDays.THREE_MONTHS if production else logs.RetentionDays.TWO_WEEKS


def code_dir(spec: FunctionSpec) -> Path:
    return spec.handler_file().parent if spec.has_handler() else STUB_HANDLER_DIR


class Functions(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, stage: StageConfig, shared: Shared
    ) -> None:
        super().__init__(scope, construct_id)
        production = stage.name == "production"
        self._shared = shared
        self.async_failures = sqs.Queue(
            self,
            "AsyncFailures",
            queue_name=f"maxtrader-{stage.name}-async-failures",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=DLQ_RETENTION,
        )
        environment = FunctionEnv.for_stage(stage).to_environ()
        self.by_name: dict[str, lambda_.Function] = {}
        self.roles: dict[str, iam.Role] = {}
        for spec in FUNCTIONS:
            self.by_name[spec.name] = self._function(spec, stage, environment, production)

    def _function(
        self, spec: FunctionSpec, stage: StageConfig, environment: dict[str, str], production: bool
    ) -> lambda_.Function:
        construct_id = spec.name.capitalize()
        name = f"maxtrader-{stage.name}-{spec.name}"
        log_group = logs.LogGroup(
            self,
            f"{construct_id}Logs",
            log_group_name=f"/aws/lambda/{name}",
            retention=log_retention(production),
            removal_policy=RemovalPolicy.RETAIN if production else RemovalPolicy.DESTROY,
        )
        role = iam.Role(
            self,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{name}: {spec.purpose}"[:1000],
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="OwnLogGroup",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
            )
        )
        self._grant(spec, role)
        self.roles[spec.name] = role
        function = lambda_.Function(
            self,
            construct_id,
            function_name=name,
            description=spec.purpose[:256],
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=HANDLER,
            code=lambda_.Code.from_asset(str(code_dir(spec)), exclude=_NOT_SHIPPED),
            layers=[self._shared.layers.deps, self._shared.layers.core],
            timeout=Duration.seconds(spec.timeout_seconds),
            memory_size=spec.memory_mb,
            role=role,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=_lambda_level(stage.log_level),
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            tracing=lambda_.Tracing.ACTIVE,
            reserved_concurrent_executions=spec.reserved_concurrency,
            environment={
                **environment,
                "POWERTOOLS_SERVICE_NAME": spec.service_name,
                "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
            },
        )
        if spec.consumes is not None:
            function.add_event_source(
                event_sources.SqsEventSource(
                    self._queue(spec.consumes),
                    batch_size=spec.batch_size,
                    report_batch_item_failures=True,
                )
            )
        if spec.schedule is not None:
            function.configure_async_invoke(
                max_event_age=Duration.seconds(spec.max_event_age_seconds),
                retry_attempts=ASYNC_RETRIES,
                on_failure=destinations.SqsDestination(self.async_failures),
            )
        return function

    def _grant(self, spec: FunctionSpec, role: iam.Role) -> None:
        shared = self._shared
        statements: list[iam.PolicyStatement] = []
        if spec.state is not None:
            table = shared.state.table
            actions = STATE_READ + (STATE_WRITE if spec.state == "read_write" else ())
            index = f"{table.table_arn}/index/{state_schema.OPEN_TICKETS_INDEX}"
            statements.append(
                iam.PolicyStatement(
                    sid="StateTable", actions=list(actions), resources=[table.table_arn, index]
                )
            )
        if spec.idempotency:
            statements.append(
                iam.PolicyStatement(
                    sid="IdempotencyRecords",
                    actions=list(IDEMPOTENCY),
                    resources=[shared.idempotency.table.table_arn],
                )
            )
        if spec.alerts:
            statements += [
                iam.PolicyStatement(
                    sid="PublishAlerts",
                    actions=["sns:Publish"],
                    resources=[shared.alerts.topic.topic_arn],
                ),
                iam.PolicyStatement(
                    sid="AlertsKey",  # publishing to the encrypted topic: SNS asks KMS for these
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[shared.alerts.key.key_arn],
                ),
            ]
        secrets = {
            "alpaca": shared.secrets.alpaca,
            "massive": shared.secrets.massive,
            "webhook": shared.secrets.webhook,
        }
        if spec.secrets:
            statements.append(
                iam.PolicyStatement(
                    sid="ReadSecrets",
                    actions=["secretsmanager:GetSecretValue"],
                    resources=[secrets[name].secret_arn for name in sorted(spec.secrets)],
                )
            )
        if spec.sends_to:
            statements.append(
                iam.PolicyStatement(
                    sid="SendToQueues",
                    actions=["sqs:SendMessage"],
                    resources=[self._queue(name).queue_arn for name in sorted(spec.sends_to)],
                )
            )
        for statement in statements:
            role.add_to_policy(statement)

    def _queue(self, name: QueueName) -> sqs.IQueue:
        queues = self._shared.queues
        return {"bars": queues.bars, "signals": queues.signals}[name]


def _lambda_level(level: str) -> lambda_.ApplicationLogLevel:
    return {
        "DEBUG": lambda_.ApplicationLogLevel.DEBUG,
        "INFO": lambda_.ApplicationLogLevel.INFO,
        "WARNING": lambda_.ApplicationLogLevel.WARN,
        "ERROR": lambda_.ApplicationLogLevel.ERROR,
    }[level]
