"""The kill-switch function in process: real-shaped Function URL events and its adapters on moto.

``function_url_event`` builds the payload (format 2.0) a Function URL with AWS_IAM auth hands
to Lambda, the IAM request context included; ``invoke`` runs the handler on it and decodes the
answer. ``KillSwitchRig`` wires the real adapters (DynamoDB state, SNS alerts read back
through SQS, the Alpaca emulator) the way the per-container factory does.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from maxtrader.adapters.dynamodb_store import DynamoDBStateStore
from maxtrader.domain.clock import FixedClock, trading_date
from maxtrader.domain.models import AuditRecord
from maxtrader.domain.ports import Broker
from maxtrader.domain.safety.state import SwitchName
from maxtrader.function_env import FunctionEnv
from maxtrader.operations.killswitch import KillSwitchOperations
from maxtrader.runtime.operator_factory import build_killswitch_operations
from tests.support.alert_topic import AlertTopic

ACCOUNT = "123456789012"
OPERATOR = f"arn:aws:sts::{ACCOUNT}:assumed-role/MaxTraderOperator/alice"
URL_ID = "abcdefghijklmnopqrstuvwxyz012345"
HOST = f"{URL_ID}.lambda-url.us-east-1.on.aws"


@dataclass(frozen=True)
class FakeContext:
    """What the Powertools logger reads from a LambdaContext."""

    function_name: str = "maxtrader-staging-killswitch"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:maxtrader-staging-killswitch"
    )
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


def function_url_event(
    method: str,
    path: str,
    body: Any = None,
    *,
    arn: str | None = OPERATOR,
    headers: dict[str, str] | None = None,
    raw_body: str | None = None,
    base64_body: bool = False,
    when: datetime | None = None,
) -> dict[str, Any]:
    """A Function URL request; ``arn=None`` leaves the IAM authorizer out of the context."""
    text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
    if text is not None and base64_body:
        text = base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii")
    epoch = int((when.timestamp() if when else 1717423200) * 1000)
    context: dict[str, Any] = {
        "accountId": "anonymous" if arn is None else ACCOUNT,
        "apiId": URL_ID,
        "domainName": HOST,
        "domainPrefix": URL_ID,
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": "maxtrader-cli",
        },
        "requestId": str(uuid.uuid4()),
        "routeKey": "$default",
        "stage": "$default",
        "time": "03/Jun/2024:14:00:00 +0000",
        "timeEpoch": epoch,
    }
    if arn is not None:
        context["authorizer"] = {
            "iam": {
                "accessKey": "ASIAEXAMPLEEXAMPLE00",
                "accountId": ACCOUNT,
                "callerId": "AROAEXAMPLEEXAMPLE00:alice",
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": arn,
                "userId": "AROAEXAMPLEEXAMPLE00:alice",
            }
        }
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": HOST, "content-type": "application/json", **(headers or {})},
        "requestContext": context,
        "isBase64Encoded": base64_body,
    }
    if text is not None:
        event["body"] = text
    return event


def invoke(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    from functions.killswitch import handler

    response = handler.lambda_handler(event, FakeContext())
    body = response.get("body") or "{}"
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8")
    return int(response["statusCode"]), json.loads(body)


def env_for(state_table: str, topic_arn: str) -> FunctionEnv:
    return FunctionEnv(
        stage="staging",
        state_table=state_table,
        idempotency_table="idempotency-unused",
        alerts_topic_arn=topic_arn,
        bars_queue_url=f"http://127.0.0.1:5000/{ACCOUNT}/bars.fifo",
        signal_queue_url=f"http://127.0.0.1:5000/{ACCOUNT}/signals.fifo",
        alpaca_secret_name="maxtrader/staging/alpaca",
        massive_secret_name="maxtrader/staging/massive",
        webhook_secret_name="maxtrader/staging/webhook",
    )


@dataclass
class KillSwitchRig:
    """The function's adapters on moto and the emulator, and what a test reads back."""

    ops: KillSwitchOperations
    store: DynamoDBStateStore
    topic: AlertTopic
    clock: FixedClock

    @classmethod
    def build(
        cls,
        state_table: str,
        topic: AlertTopic,
        clock: FixedClock,
        broker: Callable[[], Broker],
        *,
        topic_arn: str | None = None,
    ) -> KillSwitchRig:
        env = env_for(state_table, topic_arn or topic.topic_arn)
        ops = build_killswitch_operations(env, clock=clock, broker=broker)
        return cls(ops, DynamoDBStateStore.create(state_table), topic, clock)

    def audit(self) -> list[AuditRecord]:
        return self.store.audit_log(trading_date(self.clock.now()))

    def versions(self) -> tuple[int, int]:
        return (
            self.store.switch(SwitchName.KILL_SWITCH).version,
            self.store.switch(SwitchName.SAFE_MODE).version,
        )

    def written(self) -> tuple[tuple[int, int], int]:
        """Everything a request could have written: both switches and today's audit."""
        return self.versions(), len(self.audit())


def post(path: str, body: Any, arn: str | None = OPERATOR) -> tuple[int, dict[str, Any]]:
    return invoke(function_url_event("POST", path, body, arn=arn))


def alerts(topic: AlertTopic) -> list[tuple[str, dict[str, Any]]]:
    """(subject, the envelope) of every alert the queue received."""
    return [(m["Subject"], m) for m in topic.delivered()]
