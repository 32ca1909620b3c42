"""The monitor function in process: real-shaped Scheduler events, its adapters on moto server and
the Alpaca emulator (through the real alpaca-py), and the order path that feeds it.

``MonitorStage`` sets the function's environment (state table, alert topic, the Alpaca secret in
Secrets Manager, the emulator's URL), points the runtime clock at the emulator's clock and
clears the factory, so ``functions/monitor/handler.py`` builds everything as it would in Lambda.
``send_entry`` is what the execute function does: reserve, submit, confirm.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest

from maxtrader.adapters.alpaca_broker import AlpacaBroker
from maxtrader.adapters.dynamodb_store import DynamoDBStateStore
from maxtrader.domain.broker import BrokerOrder, OrderRequest, OrderType
from maxtrader.domain.clock import Clock, FixedClock, trading_date
from maxtrader.domain.models import AuditKind, AuditRecord, Instrument, OrderIntent, OrderSide
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.domain.safety.state import SwitchName, Ticket
from maxtrader.emulators.alpaca import AlpacaEmulator
from maxtrader.function_env import FunctionEnv
from maxtrader.runtime import factory
from maxtrader.runtime.clock import runtime_clock, use_clock
from maxtrader.runtime.schedule_event import schedule_event
from tests.support.alert_topic import AlertTopic
from tests.support.alpaca_env import KEY, SECRET
from tests.support.monitor_fakes import FakeContext
from tests.support.safety import make_engine, market

ACCOUNT = "123456789012"
__all__ = ["FakeContext", "MonitorStage"]


class MonitorStage:
    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        state_table: str,
        topic: AlertTopic,
        emulator: AlpacaEmulator,
        clock: FixedClock,
    ) -> None:
        self.table, self.topic, self.emulator, self.clock = state_table, topic, emulator, clock
        secret = f"maxtrader/test/alpaca-{uuid.uuid4().hex[:8]}"
        boto3.client("secretsmanager").create_secret(
            Name=secret, SecretString=json.dumps({"key_id": KEY, "secret_key": SECRET})
        )
        env = FunctionEnv(
            stage="staging", state_table=state_table, idempotency_table="maxtrader-staging-idem",
            alerts_topic_arn=topic.topic_arn,
            bars_queue_url=f"http://127.0.0.1:5000/{ACCOUNT}/bars.fifo",
            signal_queue_url=f"http://127.0.0.1:5000/{ACCOUNT}/signals.fifo",
            alpaca_secret_name=secret, massive_secret_name="maxtrader/staging/massive",
            webhook_secret_name="maxtrader/staging/webhook", aws_read_timeout_seconds=20.0,
            alpaca_url_override=emulator.base_url,
        )  # fmt: skip
        for name, value in env.to_environ().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "monitor")
        monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
        self._previous: Clock = runtime_clock().delegate
        factory.clear()
        use_clock(clock)
        self.store = DynamoDBStateStore.create(state_table)
        self.engine: SafetyEngine = make_engine(self.store, clock)  # the order path's engine
        self.order_path = self._execute_broker()

    def _execute_broker(self) -> AlpacaBroker:
        from tests.support.alpaca_env import make_broker

        return make_broker(self.emulator)

    def close(self) -> None:
        factory.clear()
        use_clock(self._previous)

    # --- the function --------------------------------------------------------------------
    def run(self, event: dict[str, Any] | None = None) -> dict[str, Any]:
        from functions.monitor import handler

        answer: dict[str, Any] = handler.lambda_handler(
            event or schedule_event("monitor", self.clock.now()), FakeContext()
        )
        return answer

    # --- what the execute function does ----------------------------------------------------
    def reserve(self, intent: OrderIntent) -> Ticket:
        verdict = self.engine.reserve(intent, market(last_price=intent.est_price))
        assert verdict.approved, verdict.failures
        return self.ticket(intent.client_order_id)

    def request_for(self, intent: OrderIntent) -> OrderRequest:
        bracket = intent.instrument is Instrument.EQUITY
        return OrderRequest(
            client_order_id=intent.client_order_id, symbol=intent.symbol, side=intent.side,
            qty=intent.qty, instrument=intent.instrument,
            type=OrderType.MARKET if bracket else OrderType.LIMIT,
            limit_price=None if bracket else intent.est_price,
            stop_loss=intent.stop if bracket else None,
            take_profit=intent.target if bracket else None,
        )  # fmt: skip

    def send_entry(self, intent: OrderIntent) -> BrokerOrder:
        self.reserve(intent)
        placed = self.order_path.submit(self.request_for(intent))
        self.engine.confirm(intent.client_order_id, placed.broker_order_id)
        return placed

    def hand_order(self, symbol: str, side: OrderSide, qty: int) -> BrokerOrder:
        """An order typed by hand in the broker's web UI (an id that is not ours)."""
        return self.order_path.submit(
            OrderRequest(
                client_order_id=f"web-{uuid.uuid4().hex[:12]}",
                symbol=symbol,
                side=side,
                qty=qty,
                instrument=Instrument.EQUITY,
            )
        )

    # --- what a test reads back ------------------------------------------------------------
    def ticket(self, client_order_id: str) -> Ticket:
        found = self.store.ticket(client_order_id)
        assert found is not None
        return found

    def audit(self, kind: AuditKind | None = None) -> list[AuditRecord]:
        records = self.store.audit_log(trading_date(self.clock.now()))
        return [r for r in records if kind is None or r.kind is kind]

    def safe_mode(self) -> bool:
        return self.store.switch(SwitchName.SAFE_MODE).on

    def alerts(self) -> list[str]:
        """The subjects of the alerts the topic delivered to its SQS queue since last read."""
        return [m["Subject"] for m in self.topic.delivered()]
