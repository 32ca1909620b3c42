"""Everything a simulated day runs on, started on 127.0.0.1 and torn down after.

    with LocalStack.start(stage, repo, clock, market) as stack:
        stack.env            # the FunctionEnv every handler reads (set in os.environ)
        stack.alpaca         # AlpacaEmulator: fills from the bars fed to it
        stack.massive        # MassiveEmulator: REST aggregates and the VIX snapshot
        stack.read_alerts()  # SNS envelopes the topic delivered (an SQS queue subscribed)

AWS is moto in server mode with the stack's own tables, queues, topic and secrets (created from
the synthesized template: ``stack_template`` and ``resources``). The emulators take the API keys
generated into the secrets, so the handlers authenticate exactly as they would in AWS. The
process environment the handlers read is set for the run and restored afterwards; the adapter
factory is cleared on both sides so no client outlives its endpoint.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maxtrader.config.stage import StageConfig
from maxtrader.domain.clock import FixedClock
from maxtrader.emulators.alpaca import AlpacaEmulator
from maxtrader.emulators.massive import MassiveEmulator
from maxtrader.function_env import FunctionEnv
from maxtrader.simulate.moto_server import MotoServer
from maxtrader.simulate.resources import CreatedResources, create_resources
from maxtrader.simulate.stack_template import stack_template

REGION = "us-east-1"
ALERTS_READER = "maxtrader-simulate-alerts-reader"  # the simulator's own queue on the topic
_AWS_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "simulate",  # moto accepts any; these are not credentials
    "AWS_SECRET_ACCESS_KEY": "simulate",
    "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon locally
}


@dataclass
class LocalStack:
    stage: StageConfig
    endpoint: str
    created: CreatedResources
    env: FunctionEnv
    alpaca: AlpacaEmulator
    massive: MassiveEmulator
    alerts_queue_url: str
    clients: dict[str, Any] = field(default_factory=dict)
    alerts_seen: list[dict[str, Any]] = field(default_factory=list)
    _alerts_pending: bool = True  # unknown at the start: the first read asks

    @classmethod
    @contextmanager
    def start(
        cls, stage: StageConfig, repo: Path, clock: FixedClock, *, config_dir: Path | None = None
    ) -> Iterator[LocalStack]:
        import boto3  # noqa: PLC0415 - the simulator's own clients, on the moto endpoint

        template = stack_template(stage.name, repo)
        saved = dict(os.environ)
        with MotoServer() as endpoint:
            os.environ.update({**_AWS_ENV, "AWS_ENDPOINT_URL": endpoint})
            os.environ.pop("AWS_PROFILE", None)
            own = boto3.session.Session()  # not the default session: drills hook that one
            clients = {
                name: own.client(name, region_name=REGION, endpoint_url=endpoint)
                for name in ("dynamodb", "sqs", "sns", "secretsmanager")
            }
            created = create_resources(template, **clients)
            names = stage.resources
            alpaca_keys = created.secrets[names.alpaca_secret]
            massive_keys = created.secrets[names.massive_secret]
            alpaca = AlpacaEmulator(
                clock=clock, api_key=alpaca_keys["key_id"], secret_key=alpaca_keys["secret_key"]
            )
            massive = MassiveEmulator(api_key=massive_keys["api_key"])
            alpaca.start()
            massive.start()
            try:
                env = _function_env(stage, created, alpaca, massive, config_dir)
                alerts_queue = _subscribe_reader(clients, env.alerts_topic_arn)
                os.environ.update(env.to_environ())
                _clear_factory()
                yield cls(stage, endpoint, created, env, alpaca, massive, alerts_queue, clients)
            finally:
                _clear_factory()
                alpaca.stop()
                massive.stop()
                os.environ.clear()
                os.environ.update(saved)

    @property
    def webhook_secret(self) -> str:
        return self.created.secrets[self.env.webhook_secret_name]["secret"]

    def published(self, **_: Any) -> None:
        """``after-call.sns.Publish*`` on the handlers' session: an alert may be waiting."""
        self._alerts_pending = True

    def read_alerts(self) -> list[dict[str, Any]]:
        """The alerts delivered since the last call (also kept in ``alerts_seen``); the queue
        is asked only after a handler published (moto delivers to it within the publish)."""
        if not self._alerts_pending:
            return []
        self._alerts_pending = False
        sqs = self.clients["sqs"]
        out: list[dict[str, Any]] = []
        while True:
            got = sqs.receive_message(
                QueueUrl=self.alerts_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not got:
                break
            for message in got:
                out.append(json.loads(message["Body"]))
                sqs.delete_message(
                    QueueUrl=self.alerts_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        self.alerts_seen.extend(out)
        return out


def _function_env(
    stage: StageConfig,
    created: CreatedResources,
    alpaca: AlpacaEmulator,
    massive: MassiveEmulator,
    config_dir: Path | None,
) -> FunctionEnv:
    """The stack's environment for the stage, on the local endpoints."""
    names = stage.resources
    base = FunctionEnv.for_stage(stage, config_dir=config_dir).model_dump()
    base.update(
        bars_queue_url=created.queue_url(names.bars_queue),
        signal_queue_url=created.queue_url(names.signal_queue),
        alerts_topic_arn=created.topic_arn(names.alerts_topic),
        alpaca_url_override=alpaca.base_url,
        massive_base_url=massive.base_url,
        log_level="WARNING",
        aws_read_timeout_seconds=20.0,  # moto on a loaded laptop is slower than DynamoDB
        # The broker-timeouts drill's held answer: the adapter's real timeout path, in 1 s.
        emulator_broker_read_timeout_seconds=1.0,
    )
    return FunctionEnv.model_validate(base)


def _subscribe_reader(clients: dict[str, Any], topic_arn: str) -> str:
    sqs, sns = clients["sqs"], clients["sns"]
    url = sqs.create_queue(QueueName=ALERTS_READER)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "false"}
    )
    return str(url)


def _clear_factory() -> None:
    from maxtrader.runtime import factory, operator_factory  # noqa: PLC0415

    factory.clear()
    operator_factory.killswitch_operations.cache_clear()
