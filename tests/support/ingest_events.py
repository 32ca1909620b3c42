"""Ingest tests' building blocks: AM events, signed Function URL v2 events, a stage's
resources (state table from the template, webhook secret, SQS FIFO queue) on the moto server,
and the handler run in a fresh interpreter (import hygiene, tracing).

``IngestStage`` sets the function's environment, clears the adapter factory, and can read back
what was written (the bars in the table, the messages in the queue) so a test asserts "nothing
written" on the real resources.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from maxtrader import state_schema
from maxtrader.domain.models import Bar
from maxtrader.function_env import FunctionEnv
from maxtrader.ingest import decode_bar_message
from maxtrader.webhook import SIGNATURE_HEADER, sign
from tests.support.moto_server import create_state_table

SECRET = "ingest-test-webhook-secret-5d1e9b"
OPEN = datetime(2024, 6, 3, 13, 30, tzinfo=UTC)  # 09:30 New York, a Monday session
MINUTE_MS = 60_000


def minute_bar(symbol: str, minute: int, *, close: float | None = None) -> Bar:
    price = 500 + minute * 0.1
    return Bar(symbol=symbol, ts=OPEN + timedelta(minutes=minute), open=price, high=price + 0.5,
               low=price - 0.5, close=close if close is not None else price + 0.2,
               volume=1000 + minute, vwap=price + 0.1)  # fmt: skip


def am_event(bar: Bar) -> dict[str, Any]:
    """The vendor's AM message for ``bar`` (day totals are plausible, not accumulated)."""
    start = int(bar.ts.timestamp() * 1000)
    return {"ev": "AM", "sym": bar.symbol, "v": bar.volume, "av": bar.volume * 10,
            "op": bar.open, "vw": bar.vwap, "o": bar.open, "c": bar.close, "h": bar.high,
            "l": bar.low, "a": bar.vwap, "z": 100, "s": start, "e": start + MINUTE_MS}  # fmt: skip


def body_of(*bars: Bar, single: bool = False) -> bytes:
    events: Any = am_event(bars[0]) if single else [am_event(b) for b in bars]
    return json.dumps(events, separators=(",", ":")).encode()


def closed_at(*bars: Bar) -> datetime:
    """A moment just after the last of ``bars`` closed (the clock tests sign at)."""
    return max(b.closed_at for b in bars) + timedelta(seconds=2)


def function_url_event(
    body: bytes | str,
    *,
    signature: str | None,
    base64_encoded: bool = False,
    method: str = "POST",
    path: str = "/",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Lambda Function URL (payload v2.0) event as AWS delivers it."""
    raw = body.encode() if isinstance(body, str) else body
    text = base64.b64encode(raw).decode() if base64_encoded else raw.decode("utf-8")
    all_headers = {"content-type": "application/json", "host": "abc.lambda-url.us-east-1.on.aws",
                   "content-length": str(len(raw)), **(headers or {})}  # fmt: skip
    if signature is not None:
        all_headers[SIGNATURE_HEADER.lower()] = signature
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": all_headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abc",
            "domainName": "abc.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abc",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "maxtrader-relay",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": "03/Jun/2024:13:31:02 +0000",
            "timeEpoch": 1717421462000,
        },
        "body": text,
        "isBase64Encoded": base64_encoded,
    }


def signed_event(body: bytes, at: datetime, *, secret: str = SECRET, **kw: Any) -> dict[str, Any]:
    return function_url_event(body, signature=sign(body, secret, int(at.timestamp())), **kw)


@dataclass
class LambdaContext:
    function_name: str = "maxtrader-staging-ingest"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:ingest"
    aws_request_id: str = "req-1"


class IngestStage:
    """The staging stage's ingest resources on moto, and the function's environment set."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.table = create_state_table()
        self.secret_name = f"maxtrader/test/webhook-{uuid.uuid4().hex[:8]}"
        self.put_secret({"secret": SECRET})
        sqs = boto3.client("sqs")
        self.sqs = sqs
        self.queue_url = sqs.create_queue(
            QueueName=f"bars-{uuid.uuid4().hex[:8]}.fifo",
            Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"},
        )["QueueUrl"]
        env = FunctionEnv(
            stage="staging", state_table=self.table, idempotency_table="maxtrader-staging-idem",
            alerts_topic_arn="arn:aws:sns:us-east-1:123456789012:maxtrader-staging-alerts",
            bars_queue_url=self.queue_url,
            signal_queue_url=self.queue_url.replace("/bars-", "/signals-"),
            alpaca_secret_name="maxtrader/staging/alpaca",
            massive_secret_name="maxtrader/staging/massive", webhook_secret_name=self.secret_name,
            log_level="DEBUG",
        )  # fmt: skip
        for name, value in env.to_environ().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "ingest")
        monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")

    def put_secret(self, value: dict[str, str]) -> None:
        client = boto3.client("secretsmanager")
        try:
            client.put_secret_value(SecretId=self.secret_name, SecretString=json.dumps(value))
        except client.exceptions.ResourceNotFoundException:
            client.create_secret(Name=self.secret_name, SecretString=json.dumps(value))

    def stored_bars(self) -> list[tuple[str, str]]:
        """(pk, sk) of every bar item in the table."""
        items = boto3.client("dynamodb").scan(TableName=self.table, ConsistentRead=True)["Items"]
        return sorted(
            (i["pk"]["S"], i["sk"]["S"])
            for i in items
            if i["pk"]["S"].startswith(state_schema.BAR_PREFIX)
        )

    def item_count(self) -> int:
        return len(boto3.client("dynamodb").scan(TableName=self.table)["Items"])

    def drain(self) -> list[tuple[str, str, Bar]]:
        """Every message in the queue (group id, dedup id, bar), in delivery order; deleted."""
        out: list[tuple[str, str, Bar]] = []
        while True:
            got = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                MessageSystemAttributeNames=["MessageGroupId", "MessageDeduplicationId"],
            ).get("Messages", [])  # fmt: skip
            if not got:
                return out
            for m in got:
                attrs = m["Attributes"]
                out.append((attrs["MessageGroupId"], attrs["MessageDeduplicationId"],
                            decode_bar_message(m["Body"])))  # fmt: skip
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])


_CHILD = """
import json, sys
from datetime import datetime
from functions.ingest import handler
from maxtrader.domain.clock import FixedClock

class Context:
    function_name, memory_limit_in_mb, aws_request_id = "ingest", 256, "r1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ingest"

request = json.loads(sys.stdin.read())
handler.clock = FixedClock(datetime.fromisoformat(request["now"]))
statuses = [handler.lambda_handler(event, Context())["statusCode"] for event in request["events"]]
print(json.dumps({"statuses": statuses,
                  "loaded": sorted(m for m in request["watch"] if m in sys.modules)}))
"""


def handle_in_fresh_interpreter(
    events: list[dict[str, Any]], now: datetime, *, watch: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> tuple[list[int], list[str]]:  # fmt: skip
    """Import the handler in a new Python (the environment inherited, plus ``env``), handle
    ``events`` at ``now``; the statuses, and which of the ``watch`` modules it had loaded."""
    repo = Path(__file__).resolve().parents[2]
    child_env = {**os.environ, "PYTHONPATH": f"{repo}{os.pathsep}{repo / 'layers' / 'core'}",
                 **(env or {})}  # fmt: skip
    child = subprocess.run(
        [sys.executable, "-c", _CHILD],
        input=json.dumps({"now": now.isoformat(), "events": events, "watch": list(watch)}),
        capture_output=True, text=True, env=child_env, cwd=repo, timeout=60, check=False,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout.strip().splitlines()[-1])
    return result["statuses"], result["loaded"]
