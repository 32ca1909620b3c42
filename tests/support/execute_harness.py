"""The execute function in process: SQS FIFO events of signal messages, its adapters on moto
server and the Alpaca emulator, and what a test reads back.

``ExecuteStage`` (fixture ``stage`` in ``execute_fixtures.py``) sets the function's environment
(state and idempotency tables built from the synthesized template, an SNS topic, the Alpaca
secret in Secrets Manager, the emulator's URL), swaps the runtime clock for the emulator's
FixedClock and imports the handler afresh (its idempotency layer is built at import, as in a
Lambda's init). ``stage.deps()`` builds what one container would (its own Alpaca client,
state-store client and engine): threads use one each, like concurrent Lambdas.
"""

from __future__ import annotations

import importlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3
from botocore.exceptions import ReadTimeoutError

from maxtrader.adapters.alert_cooldown import Cooldown
from maxtrader.adapters.alpaca_broker import AlpacaBroker
from maxtrader.adapters.dynamodb_store import CLIENT_CONFIG, DynamoDBStateStore
from maxtrader.adapters.memory_alerts import InMemoryAlerts
from maxtrader.config.safety import SafetyConfig
from maxtrader.domain.broker import BrokerOrder, OrderRequest
from maxtrader.domain.clock import FixedClock, trading_date
from maxtrader.domain.models import AuditRecord
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.emulators.alpaca import AlpacaEmulator
from maxtrader.execution import ExecutionDeps
from maxtrader.function_env import FunctionEnv
from maxtrader.runtime import factory
from maxtrader.runtime.clock import use_clock
from maxtrader.runtime.observability import metrics
from maxtrader.trading.signal_message import SignalMessage, encode_signal_message
from tests.support.alert_topic import AlertTopic
from tests.support.alpaca_env import KEY, SECRET, WEEK, make_broker
from tests.support.execution import EQUITY_STRATEGIES
from tests.support.killswitch_harness import ACCOUNT, FakeContext
from tests.support.safety import seed_figures

QUEUE_ARN = f"arn:aws:sqs:us-east-1:{ACCOUNT}:maxtrader-staging-signals.fifo"


def sqs_record(msg: SignalMessage, *, receive_count: int = 1) -> dict[str, Any]:
    """One SQS FIFO record of ``msg`` as Lambda hands it over (group: the symbol)."""
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "receipt-" + uuid.uuid4().hex,
        "body": encode_signal_message(msg),
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1717423200000",
            "SequenceNumber": str(uuid.uuid4().int)[:20],
            "MessageGroupId": msg.group_id,
            "SenderId": "AIDAEXAMPLE",
            "MessageDeduplicationId": msg.deduplication_id,
            "ApproximateFirstReceiveTimestamp": "1717423200000",
        },
        "messageAttributes": {},
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "us-east-1",
    }


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


@dataclass(frozen=True)
class ExecuteContext(FakeContext):
    function_name: str = "maxtrader-staging-execute"
    invoked_function_arn: str = (
        f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:maxtrader-staging-execute"
    )
    remaining_ms: int = 30_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class HookedBroker:
    """The real adapter, with a hook run around each submit (a crash, a fault to arm)."""

    def __init__(self, inner: AlpacaBroker) -> None:
        self._inner = inner
        self.before_submit: Callable[[], None] | None = None
        self.after_submit: Callable[[BrokerOrder], None] | None = None

    def submit(self, order: OrderRequest) -> BrokerOrder:
        if self.before_submit is not None:
            self.before_submit()
        placed = self._inner.submit(order)
        if self.after_submit is not None:
            hook, self.after_submit = self.after_submit, None  # once
            hook(placed)
        return placed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class CommitThenTimeout:
    """A DynamoDB client whose armed operation is carried out and then times out (the write
    happened; the caller cannot know)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.armed: dict[str, int] = {}

    def arm(self, operation: str, times: int = 1) -> None:
        self.armed[operation] = times

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._client, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            result = target(*args, **kwargs)
            if self.armed.get(name, 0) > 0:
                self.armed[name] -= 1
                raise ReadTimeoutError(endpoint_url="http://127.0.0.1/")
            return result

        return call


@dataclass
class ExecuteStage:
    env: FunctionEnv
    clock: FixedClock
    emulator: AlpacaEmulator
    topic: AlertTopic
    handler: ModuleType = field(init=False)
    sleeps: list[float] = field(default_factory=list)

    def install(self, monkeypatch: Any, config: SafetyConfig) -> None:
        for name, value in self.env.to_environ().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("MAXTRADER_ALPACA_URL_OVERRIDE", self.emulator.base_url)
        monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "execute")
        factory.clear()
        metrics.clear_metrics()  # left by a test that called the record path without a flush
        use_clock(self.clock)
        boto3.client("secretsmanager").create_secret(
            Name=self.env.alpaca_secret_name,
            SecretString=json.dumps({"key_id": KEY, "secret_key": SECRET}),
        )
        seed_figures(self.store(), self.clock)  # the pre-market run's and the monitor's figures
        self.config = config
        monkeypatch.setattr(factory, "safety_config", lambda: config)
        monkeypatch.setattr(factory, "strategies_config", lambda: EQUITY_STRATEGIES)
        monkeypatch.setattr(factory, "calendar", lambda: WEEK)
        module = importlib.import_module("functions.execute.handler")
        self.handler = importlib.reload(module)  # a new container: built from this env
        monkeypatch.setattr(self.handler, "sleep", self._sleep)

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(seconds)

    def store(self, client: Any = None) -> DynamoDBStateStore:
        return DynamoDBStateStore(
            client or boto3.client("dynamodb", config=CLIENT_CONFIG), self.env.state_table
        )

    def deps(self, *, client: Any = None, broker: Any = None) -> ExecutionDeps:
        """What one container builds: its own clients, engine and broker."""
        engine = SafetyEngine(self.config, self.store(client), self.clock)
        return ExecutionDeps(
            broker=broker or make_broker(self.emulator),
            engine=engine,
            alerts=InMemoryAlerts(self.clock, Cooldown.from_config(self.config.alerts)),
            calendar=WEEK,
            strategies=EQUITY_STRATEGIES,
            clock=self.clock,
            sleep=self._sleep,
        )

    def invoke(self, *records: dict[str, Any], context: ExecuteContext | None = None) -> Any:
        return self.handler.lambda_handler(sqs_event(*records), context or ExecuteContext())

    def audit(self) -> list[AuditRecord]:
        return self.store().audit_log(trading_date(self.clock.now()))

    def entry_orders(self) -> dict[str, dict[str, Any]]:
        """The emulator's orders placed under our entry ids (client_order_id -> order)."""
        orders = self.emulator.book.orders.values()
        return {
            o.client_order_id: {"id": o.id, "status": o.status, "qty": o.qty}
            for o in orders
            if o.client_order_id.startswith("mt-") and o.parent_id is None
        }

    def idempotency_items(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = boto3.client("dynamodb").scan(
            TableName=self.env.idempotency_table, ConsistentRead=True
        )["Items"]
        return found
