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
    acknowledge_functions(stack)


PYTHON_313 = (
    "the deps layer is built for CPython 3.13 wheels (layers/deps/build.py, "
    "tests/infra/test_deps_layer.py): moving the runtime is a deliberate change with a rebuilt "
    "and re-tested layer, not something a linter's newest-runtime rule should decide"
)
XRAY_WILDCARD = (
    "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
    "X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) has no resource-level "
    "permissions; tests/infra/test_iam.py checks these X-Ray actions are the role's only "
    "statement on Resource '*'",
)
SYNC_ONLY_NO_DLQ = (
    "Serverless::Serverless-LambdaDLQ",
    "this function is never invoked asynchronously (a Function URL or an SQS event source): "
    "its caller sees each error, and SQS messages that keep failing go to the queue's own DLQ",
)
SCHEDULED_HAS_DESTINATION = (
    "Serverless::Serverless-LambdaDLQ",
    "its asynchronous (scheduled) invocations have an on-failure destination instead, the "
    "async-failures queue (the successor of a DLQ, with the error and request), alarmed on depth",
)
SQS_MAPPING_DESTINATION = (
    "Serverless::Serverless-LambdaEventSourceMappingDestination",
    "an SQS event source mapping takes no on-failure destination (Kafka and streams only): a "
    "message failing MAX_RECEIVE_COUNT times moves to the queue's FIFO DLQ, alarmed on depth",
)


def acknowledge_functions(stack: MaxTraderStack) -> None:
    from maxtrader_infra.function_specs import FUNCTIONS  # noqa: PLC0415 - avoids an import cycle

    functions = stack.functions
    _acknowledge(
        functions.async_failures,
        A_DLQ_HAS_NO_DLQ,
        (
            "AwsSolutions::AwsSolutions-SQS3",
            "this queue is the on-failure destination of the scheduled functions' asynchronous "
            "invocations (their EventInvokeConfig names it), a dead-letter queue in all but name",
        ),
    )
    for spec in FUNCTIONS:
        function = functions.by_name[spec.name]
        rules = [
            ("AwsSolutions::AwsSolutions-L1", PYTHON_313),
            ("Serverless::Serverless-LambdaLatestVersion", PYTHON_313),
            SCHEDULED_HAS_DESTINATION if spec.schedule else SYNC_ONLY_NO_DLQ,
        ]
        if spec.consumes:
            rules.append(SQS_MAPPING_DESTINATION)
        _acknowledge(function, *rules)
        _acknowledge(functions.roles[spec.name], XRAY_WILDCARD)
    # The Lambda target grants invoke on each function and its qualifiers (versions, aliases):
    # "<arn>:*" names one function, never another.
    for spec in FUNCTIONS:
        if spec.schedule is None:
            continue
        function = functions.by_name[spec.name]
        logical_id = stack.resolve(stack.get_logical_id(function.node.default_child))  # type: ignore[arg-type]
        _acknowledge(
            stack.schedules.role,
            (
                f"AwsSolutions::AwsSolutions-IAM5[Resource::<{logical_id}.Arn>:*]",
                f"the scheduler may invoke the {spec.name} function's versions and aliases "
                "(CDK's grantInvoke): the wildcard is a qualifier of that one function",
            ),
        )


# cfn-lint checks skipped on every synthesized template (the Makefile's CFN_LINT_IGNORE is the
# same list; tests/infra checks both). W3005: CDK makes each function DependsOn its role as well
# as the role's default policy; the role dependency is redundant (a GetAtt implies it), harmless.
CFN_LINT_IGNORED: tuple[str, ...] = ("W3005",)
