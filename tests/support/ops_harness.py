"""The scheduled operations in process: real-shaped Scheduler events, real adapters on moto
server, the Alpaca emulator through alpaca-py and the Massive emulator through its client.

``OpsStage`` (fixture ``ops`` in ``ops_fixtures.py``) creates the state table from the CDK
template, an alerts topic with an SQS queue subscribed (tests read the alerts from it), the
Alpaca and Massive secrets, and both emulators on the runtime clock (a ``FixedClock``); it sets
the functions' environment, points the factory at all of it (``factory.clear()``), and
``invoke(name, when)`` runs ``functions/<name>/handler.py`` on the event Scheduler sends.
"""

from __future__ import annotations

import importlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from maxtrader.adapters.alpaca_broker import AlpacaBroker
from maxtrader.adapters.dynamodb_session_store import DynamoDBSessionStore
from maxtrader.adapters.dynamodb_store import DynamoDBStateStore
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import FixedClock, SystemClock, trading_date
from maxtrader.domain.models import AuditRecord, Bar
from maxtrader.emulators.alpaca import AlpacaEmulator
from maxtrader.emulators.massive import MassiveEmulator
from maxtrader.function_env import FunctionEnv, function_env
from maxtrader.runtime import factory
from maxtrader.runtime.clock import use_clock
from maxtrader.runtime.schedule_event import schedule_event
from tests.support.alert_topic import AlertTopic, create_alert_topic
from tests.support.alpaca_env import KEY, SECRET
from tests.support.moto_server import create_state_table

MASSIVE_KEY = "massive-test-key"
VIX = "I:VIX"


@dataclass(frozen=True)
class FakeContext:
    function_name: str = "maxtrader-staging-ops"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:ops"
    aws_request_id: str = "00000000-0000-0000-0000-000000000001"


def bar(symbol: str, start: datetime, close: float = 500.0) -> Bar:
    return Bar(symbol=symbol, ts=start, open=close, high=close + 0.5, low=close - 0.5,
               close=close, volume=1000)  # fmt: skip


class OpsStage:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, start: datetime) -> None:
        self.clock = FixedClock(start)
        self.table = create_state_table()
        self.topic: AlertTopic = create_alert_topic()
        suffix = uuid.uuid4().hex[:8]
        self.alpaca_secret = f"maxtrader/test/alpaca-{suffix}"
        self.massive_secret = f"maxtrader/test/massive-{suffix}"
        secrets = boto3.client("secretsmanager")
        secrets.create_secret(
            Name=self.alpaca_secret, SecretString=json.dumps({"key_id": KEY, "secret_key": SECRET})
        )
        secrets.create_secret(Name=self.massive_secret,
                              SecretString=json.dumps({"api_key": MASSIVE_KEY}))  # fmt: skip
        self.alpaca = AlpacaEmulator(clock=self.clock, calendar=MarketCalendar.xnys(),
                                     api_key=KEY, secret_key=SECRET)  # fmt: skip
        self.alpaca.start()
        self.massive = MassiveEmulator(api_key=MASSIVE_KEY)
        self.massive.start()
        queue = "http://127.0.0.1:5000/123456789012/unused"
        env = FunctionEnv(
            stage="staging", state_table=self.table, idempotency_table="maxtrader-staging-idem",
            alerts_topic_arn=self.topic.topic_arn, bars_queue_url=f"{queue}-bars.fifo",
            signal_queue_url=f"{queue}-signals.fifo", alpaca_secret_name=self.alpaca_secret,
            massive_secret_name=self.massive_secret,
            webhook_secret_name="maxtrader/test/webhook", alpaca_url_override=self.alpaca.base_url,
            massive_base_url=self.massive.base_url,
        )  # fmt: skip
        for name, value in env.to_environ().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "ops")
        monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
        function_env.cache_clear()
        factory.clear()
        use_clock(self.clock)
        self.store = DynamoDBStateStore.create(self.table)
        self.sessions = DynamoDBSessionStore.create(self.table)

    def close(self) -> None:
        use_clock(SystemClock())
        factory.clear()
        function_env.cache_clear()
        self.alpaca.stop()
        self.massive.stop()

    # --- driving ----------------------------------------------------------------------------
    def invoke(self, name: str, when: datetime, event: Any = None) -> dict[str, Any]:
        """The handler on the event Scheduler sends for ``name`` due at ``when`` (clock set)."""
        self.clock.set(when)
        handler = importlib.import_module(f"functions.{name}.handler")
        answer: dict[str, Any] = handler.lambda_handler(
            schedule_event(name, when) if event is None else event, FakeContext()
        )
        return answer

    def vix(self, value: float, minute_start: datetime) -> None:
        """A VIX minute print: the index snapshot's value from then on (its end: +1 min)."""
        self.massive.add_aggs(VIX, [{"t": int(minute_start.timestamp() * 1000), "o": value,
                                     "h": value, "l": value, "c": value}])  # fmt: skip

    def trader(self) -> AlpacaBroker:
        """A client of the emulator, for the test's own orders and reads."""
        return AlpacaBroker(KEY, SECRET, url_override=self.alpaca.base_url, timeout=2.0,
                            sleep=lambda _s: None)  # fmt: skip

    def store_bars(self, symbols: tuple[str, ...], start: datetime) -> None:
        self.sessions.put_bars([bar(s, start) for s in symbols],
                               expires_at=start + timedelta(days=2))  # fmt: skip

    # --- reading back -----------------------------------------------------------------------
    def audit(self) -> list[AuditRecord]:
        return self.store.audit_log(trading_date(self.clock.now()))

    def alerts(self) -> list[tuple[str, str]]:
        """(subject, first line of the email) of every alert delivered since the last call."""
        out = []
        for envelope in self.topic.delivered():
            out.append((envelope["Subject"], envelope["Message"].splitlines()[0]))
        return out
