"""The functions as deployed: runtime, limits, environment, event sources, async failure handling
and each role's access, pinned against the one table in maxtrader_infra/function_specs.py."""

from __future__ import annotations

import pytest

from maxtrader.config.loader import load_config
from maxtrader.function_env import FunctionEnv, parse_function_env
from maxtrader_infra import functions as built
from maxtrader_infra.function_specs import FUNCTIONS, SCHEDULED, FunctionSpec
from tests.infra.template_queries import (
    as_list,
    function,
    function_ids,
    queue_id,
    referenced_ids,
    resource,
    role_statements,
)
from tests.support.templates import resources_of_type, template

STAGES = ["staging", "production"]
pytestmark = pytest.mark.xdist_group("cdk")
BY_ID = {spec.name: spec for spec in FUNCTIONS}


@pytest.mark.parametrize("stage", STAGES)
def test_the_stack_deploys_exactly_the_functions_of_the_table(stage: str) -> None:
    deployed = {
        r["Properties"]["FunctionName"]
        for r in resources_of_type(stage, "AWS::Lambda::Function").values()
    }
    assert deployed == {f"maxtrader-{stage}-{spec.name}" for spec in FUNCTIONS}


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda s: s.name)
def test_function_runtime_limits_tracing_logs_and_layers(stage: str, spec: FunctionSpec) -> None:
    props = function(stage, spec)[1]["Properties"]
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == "handler.lambda_handler"
    assert props["Timeout"] == spec.timeout_seconds
    assert props["MemorySize"] == spec.memory_mb
    assert props["TracingConfig"] == {"Mode": "Active"}
    layers = resources_of_type(stage, "AWS::Lambda::LayerVersion")
    assert sorted(referenced_ids(props["Layers"])) == sorted(layers)
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    log_group = resource(stage, props["LoggingConfig"]["LogGroup"]["Ref"])["Properties"]
    assert log_group["LogGroupName"] == f"/aws/lambda/{props['FunctionName']}"
    assert log_group["RetentionInDays"] == (90 if stage == "production" else 14)


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda s: s.name)
def test_environment_is_the_stage_function_env_plus_the_service_name(
    stage: str, spec: FunctionSpec
) -> None:
    config = load_config(stage=stage).stage
    assert config is not None
    variables = function(stage, spec)[1]["Properties"]["Environment"]["Variables"]
    expected = FunctionEnv.for_stage(config).to_environ()
    assert {k: v for k, v in variables.items() if k.startswith("MAXTRADER_")} == expected
    assert variables["POWERTOOLS_SERVICE_NAME"] == f"maxtrader-{spec.name}"
    # What the handler will parse at its cold start is valid.
    assert parse_function_env(variables) == FunctionEnv.for_stage(config)
    assert parse_function_env(variables).trading_mode == "paper"


@pytest.mark.parametrize("stage", STAGES)
def test_only_execute_and_killswitch_reserve_concurrency(stage: str) -> None:
    reserved = {
        spec.name: function(stage, spec)[1]["Properties"].get("ReservedConcurrentExecutions")
        for spec in FUNCTIONS
    }
    assert {name: value for name, value in reserved.items() if value is not None} == {
        "execute": BY_ID["execute"].reserved_concurrency,
        "killswitch": BY_ID["killswitch"].reserved_concurrency,
    }
    assert all(value >= 1 for value in reserved.values() if value is not None)


@pytest.mark.parametrize("stage", STAGES)
def test_queues_feed_signals_and_execute_with_partial_batch_failures(stage: str) -> None:
    ids = function_ids(stage)
    mappings = {
        referenced_ids(m["Properties"]["FunctionName"]).pop(): m["Properties"]
        for m in resources_of_type(stage, "AWS::Lambda::EventSourceMapping").values()
    }
    expected_queues = {
        "signals": f"maxtrader-{stage}-bars.fifo",
        "execute": f"maxtrader-{stage}-signals.fifo",
    }
    assert set(mappings) == {ids[name] for name in expected_queues}
    for name, queue_name in expected_queues.items():
        props = mappings[ids[name]]
        queue = queue_id(stage, queue_name)
        assert props["EventSourceArn"] == {"Fn::GetAtt": [queue, "Arn"]}
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert 1 <= props["BatchSize"] <= 10
        visibility = resource(stage, queue)["Properties"]["VisibilityTimeout"]
        timeout = function(stage, BY_ID[name])[1]["Properties"]["Timeout"]
        assert visibility > timeout, (name, visibility, timeout)


@pytest.mark.parametrize("stage", STAGES)
def test_every_scheduled_function_has_bounded_retries_and_a_failure_destination(
    stage: str,
) -> None:
    ids = function_ids(stage)
    failures = queue_id(stage, f"maxtrader-{stage}-async-failures")
    configs = {
        c["Properties"]["FunctionName"]["Ref"]: c["Properties"]
        for c in resources_of_type(stage, "AWS::Lambda::EventInvokeConfig").values()
    }
    assert set(configs) == {ids[spec.name] for spec in SCHEDULED}
    for spec in SCHEDULED:
        props = configs[ids[spec.name]]
        assert props["MaximumRetryAttempts"] == built.ASYNC_RETRIES <= 2
        assert props["MaximumEventAgeInSeconds"] == spec.max_event_age_seconds <= 3600
        assert props["DestinationConfig"]["OnFailure"]["Destination"] == {
            "Fn::GetAtt": [failures, "Arn"]
        }
        sends = [
            s
            for s in role_statements(stage, spec)
            if "sqs:SendMessage" in as_list(s["Action"]) and failures in referenced_ids(s)
        ]
        assert sends, f"{spec.name} may not write its failure destination"


def _granted(stage: str, spec: FunctionSpec) -> dict[str, set[str]]:
    """Logical id -> actions the function's role holds on it."""
    granted: dict[str, set[str]] = {}
    for statement in role_statements(stage, spec):
        assert statement["Effect"] == "Allow"
        for logical_id in referenced_ids(statement["Resource"]):
            granted.setdefault(logical_id, set()).update(as_list(statement["Action"]))
    return granted


def _id_of(stage: str, resource_type: str, **properties: str) -> str:
    found = [
        logical_id
        for logical_id, r in resources_of_type(stage, resource_type).items()
        if all(r["Properties"].get(k) == v for k, v in properties.items())
    ]
    assert len(found) == 1, (resource_type, properties)
    return found[0]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda s: s.name)
def test_each_role_holds_exactly_the_access_its_row_names(stage: str, spec: FunctionSpec) -> None:
    config = load_config(stage=stage).stage
    assert config is not None
    names = config.resources
    state = "StateTable"
    idempotency = _id_of(stage, "AWS::DynamoDB::Table", TableName=names.idempotency_table)
    topic = _id_of(stage, "AWS::SNS::Topic")
    key = _id_of(stage, "AWS::KMS::Key")
    secrets = {
        "alpaca": _id_of(stage, "AWS::SecretsManager::Secret", Name=names.alpaca_secret),
        "massive": _id_of(stage, "AWS::SecretsManager::Secret", Name=names.massive_secret),
        "webhook": _id_of(stage, "AWS::SecretsManager::Secret", Name=names.webhook_secret),
    }
    queues = {
        "bars": queue_id(stage, names.bars_queue),
        "signals": queue_id(stage, names.signal_queue),
    }
    log_group = function(stage, spec)[1]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    failures = queue_id(stage, f"maxtrader-{stage}-async-failures")

    expected: dict[str, set[str]] = {log_group: {"logs:CreateLogStream", "logs:PutLogEvents"}}
    if spec.state:
        writes = set(built.STATE_WRITE) if spec.state == "read_write" else set()
        expected[state] = set(built.STATE_READ) | writes
    if spec.idempotency:
        expected[idempotency] = set(built.IDEMPOTENCY)
    if spec.alerts:
        expected[topic] = {"sns:Publish"}
        expected[key] = {"kms:GenerateDataKey", "kms:Decrypt"}
    for name in spec.secrets:
        expected[secrets[name]] = {"secretsmanager:GetSecretValue"}
    for queue in spec.sends_to:
        expected[queues[queue]] = {"sqs:SendMessage"}
    if spec.consumes:
        expected[queues[spec.consumes]] = {
            "sqs:ReceiveMessage",
            "sqs:ChangeMessageVisibility",
            "sqs:GetQueueUrl",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
        }
    granted = _granted(stage, spec)
    # The failure destination (CDK's grant: send, plus read-only lookups of that one queue).
    destination = granted.pop(failures, set())
    if spec.schedule:
        assert "sqs:SendMessage" in destination
        assert destination <= {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
    else:
        assert destination == set()
    xray = granted.pop("*", set())  # referenced_ids ignores the literal "*": never popped
    assert xray == set()
    assert granted == expected
    role_id = function(stage, spec)[1]["Properties"]["Role"]["Fn::GetAtt"][0]
    assert "ManagedPolicyArns" not in resource(stage, role_id)["Properties"]


def test_the_function_table_is_consistent() -> None:
    for spec in FUNCTIONS:
        assert spec.alerts is False or spec.state == "read_write", spec.name  # alert cooldown
        assert (spec.consumes is None) == (spec.name not in {"signals", "execute"})
        assert 60 <= spec.max_event_age_seconds <= 6 * 3600  # Lambda's and Scheduler's bounds
    assert template("staging")["Outputs"]["IngestUrl"]["Value"]


def test_the_stub_of_a_missing_handler_fails_every_call() -> None:
    namespace: dict[str, object] = {}
    exec((built.STUB_HANDLER_DIR / "handler.py").read_text(), namespace)  # noqa: S102 - our file
    with pytest.raises(RuntimeError, match="handler was not deployed"):
        namespace["lambda_handler"]({}, None)  # type: ignore[operator]
