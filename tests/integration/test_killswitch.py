"""The kill-switch Function URL, in process, on moto (state, SNS -> SQS) and the Alpaca emulator.

Each test sends real-shaped Function URL events (the IAM request context included) through the
handler and reads the effects back where they land: the state table (through the safety engine
the order path uses), the audit log, the alert queue and the emulated broker.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from maxtrader.adapters.alpaca_broker import AlpacaBroker
from maxtrader.domain.broker import OrderRequest, OrderType
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.models import AuditKind, Instrument, OrderSide, TradingState
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.emulators.alpaca import AlpacaEmulator
from maxtrader.emulators.alpaca_faults import Fault
from maxtrader.runtime import operator_factory
from tests.support.alert_topic import AlertTopic
from tests.support.alpaca_env import bar, minute
from tests.support.killswitch_harness import (
    OPERATOR,
    KillSwitchRig,
    alerts,
    function_url_event,
    invoke,
    post,
)
from tests.support.safety import entry, market

pytest_plugins = ("tests.support.alpaca_fixtures", "tests.support.killswitch_fixtures")
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:No application metrics:UserWarning"),  # refusals, status
]

OTHER = "arn:aws:iam::123456789012:user/bob"


def later(clock: FixedClock, minutes: int = 10) -> None:
    clock.set(clock.now() + timedelta(minutes=minutes))


def open_position(alpaca: AlpacaEmulator, broker: AlpacaBroker) -> None:
    broker.submit(
        OrderRequest(
            client_order_id="sig-open-1",
            symbol="SPY",
            side=OrderSide.BUY,
            qty=10,
            instrument=Instrument.EQUITY,
            stop_loss=495.0,
            take_profit=505.0,
        )
    )
    alpaca.feed_bar(bar(minute(0), (500, 501, 499, 500)))
    assert alpaca.positions() == {"SPY": 10} and broker.open_orders()  # the bracket's legs


# --- engage / release: the very next entry ------------------------------------------------------
def test_engage_blocks_the_very_next_entry_and_release_restores_it(
    rig: KillSwitchRig, engine: SafetyEngine, topic: AlertTopic
) -> None:
    assert engine.reserve(entry(), market()).approved  # entries flow before

    status, answer = post("/engage", {"reason": "runaway fills"})
    assert status == 200 and answer["ok"] and answer["changed"]
    assert (answer["before"]["on"], answer["after"]["on"]) == (False, True)
    assert answer["after"]["actor"] == OPERATOR and answer["alert"] == "sent"

    later(rig.clock)  # past the minimum time between trades: only the switch can block
    blocked = engine.reserve(entry(), market())
    assert not blocked.approved
    assert [c.name for c in blocked.failures] == ["kill_switch"]
    assert OPERATOR in blocked.failures[0].reason and "runaway fills" in blocked.failures[0].reason
    assert engine.trading_state() is TradingState.HALTED

    status, answer = post("/release", {"reason": "fixed and checked"})
    assert status == 200 and answer["changed"] and answer["after"]["on"] is False
    later(rig.clock)
    assert engine.reserve(entry(), market()).approved
    assert engine.trading_state() is TradingState.ACTIVE


def test_every_change_is_audited_with_the_callers_arn_and_alerted_once(
    rig: KillSwitchRig, topic: AlertTopic
) -> None:
    post("/engage", {"reason": "first"})
    again_status, again = post("/engage", {"reason": "retry of the same"})
    post("/safe-mode", {"on": True, "reason": "broker flaky"}, arn=OTHER)

    assert again_status == 200 and again["changed"] is False and again["alert"] == "deduplicated"
    records = [r for r in rig.audit() if r.kind in (AuditKind.KILL_SWITCH, AuditKind.SAFE_MODE)]
    assert [(r.kind, r.actor, r.detail["on"], r.detail["reason"]) for r in records] == [
        (AuditKind.KILL_SWITCH, OPERATOR, True, "first"),  # the retry changed nothing: no record
        (AuditKind.SAFE_MODE, OTHER, True, "broker flaky"),
    ]
    delivered = alerts(topic)
    assert [s for s, _ in delivered] == [
        "[MaxTrader] Kill switch ENGAGED",
        "[MaxTrader] Safe mode ON (exits only)",
    ]
    assert "alice" in delivered[0][1]["Message"] and "first" in delivered[0][1]["Message"]

    # A new change after a release alerts again, although the cooldown has not passed.
    post("/release", {"reason": "done"})
    post("/engage", {"reason": "second time"})
    assert [s for s, _ in alerts(topic)] == [
        "[MaxTrader] Kill switch released",
        "[MaxTrader] Kill switch ENGAGED",
    ]
    # Each record holds the state it replaced: who set it, why, and when.
    kill: list[dict[str, Any]] = [r.detail for r in rig.audit() if r.kind is AuditKind.KILL_SWITCH]
    assert [(d["before"]["on"], d["on"]) for d in kill] == [(False, True), (True, False),
                                                           (False, True)]  # fmt: skip
    released = kill[1]["before"]
    assert (released["actor"], released["reason"]) == (OPERATOR, "first")
    assert released["changed_at"] is not None


def test_safe_mode_on_and_off(rig: KillSwitchRig, engine: SafetyEngine) -> None:
    status, answer = post("/safe-mode", {"on": True, "reason": "reconcile by hand"})
    assert status == 200 and answer["action"] == "safe_mode_on" and answer["after"]["on"]
    assert engine.trading_state() is TradingState.REDUCING
    assert not engine.reserve(entry(), market()).approved
    post("/safe-mode", {"on": False, "reason": "reconciled"})
    assert engine.trading_state() is TradingState.ACTIVE


def test_status_reports_switches_state_and_breakers(rig: KillSwitchRig) -> None:
    post("/engage", {"reason": "look"})
    status, answer = invoke(function_url_event("GET", "/status"))
    assert status == 200
    assert answer["trading_state"] == "HALTED"
    assert answer["kill_switch"]["on"] and answer["kill_switch"]["actor"] == OPERATOR
    assert answer["safe_mode"]["on"] is False
    assert [b["name"] for b in answer["breakers"]] == ["rapid_loss", "error_rate", "drawdown"]
    assert not any(b["paused"] for b in answer["breakers"])


# --- flatten ------------------------------------------------------------------------------------
def test_engage_with_flatten_leaves_the_broker_flat(
    rig: KillSwitchRig, alpaca: AlpacaEmulator, broker: AlpacaBroker, topic: AlertTopic
) -> None:
    open_position(alpaca, broker)
    status, answer = post("/engage", {"reason": "get out", "flatten": True})
    assert status == 200 and answer["ok"]
    assert answer["flatten"] == {"ok": True, "orders_sent": ["SPY"], "errors": []}
    alpaca.feed_bar(bar(minute(1), (499, 500, 498, 499)))  # the closing market order fills
    assert alpaca.positions() == {} and broker.open_orders() == []
    flatten_audit = [r for r in rig.audit() if r.subject == "flatten"]
    assert [(r.actor, r.detail["ok"]) for r in flatten_audit] == [(OPERATOR, True)]
    assert [s for s, _ in alerts(topic)] == ["[MaxTrader] Kill switch ENGAGED and flattened"]


def test_flatten_alone_cancels_orders_and_closes_positions(
    rig: KillSwitchRig, alpaca: AlpacaEmulator, broker: AlpacaBroker, engine: SafetyEngine
) -> None:
    open_position(alpaca, broker)
    status, answer = post("/flatten", {"reason": "end the day early"})
    assert status == 200 and answer["ok"] and answer["flatten"]["orders_sent"] == ["SPY"]
    alpaca.feed_bar(bar(minute(1), (499, 500, 498, 499)))
    assert alpaca.positions() == {}
    assert engine.trading_state() is TradingState.ACTIVE  # a flatten alone does not halt


def test_flatten_with_only_working_orders_cancels_them(
    rig: KillSwitchRig, alpaca: AlpacaEmulator, broker: AlpacaBroker
) -> None:
    alpaca.feed_bar(bar(minute(0), (500, 501, 499, 500)))
    broker.submit(
        OrderRequest(
            client_order_id="sig-limit-1",
            symbol="SPY",
            side=OrderSide.BUY,
            qty=5,
            instrument=Instrument.EQUITY,
            type=OrderType.LIMIT,
            limit_price=480.0,
            stop_loss=470.0,
            take_profit=490.0,
        )
    )
    assert len(broker.open_orders()) == 1 and alpaca.positions() == {}
    status, answer = post("/engage", {"reason": "cancel everything", "flatten": True})
    assert status == 200 and answer["flatten"] == {"ok": True, "orders_sent": [], "errors": []}
    assert broker.open_orders() == [] and alpaca.count("cancel_all") >= 1


@pytest.mark.faults
def test_broker_down_during_flatten_still_engages_and_says_so(
    rig: KillSwitchRig,
    alpaca: AlpacaEmulator,
    broker: AlpacaBroker,
    engine: SafetyEngine,
    topic: AlertTopic,
) -> None:
    open_position(alpaca, broker)
    alpaca.inject("cancel_all", Fault.of_status(503))
    alpaca.inject("close_all", Fault.timeout())
    status, answer = post("/engage", {"reason": "broker acting up", "flatten": True})
    assert status == 200 and answer["ok"] is False and answer["after"]["on"] is True
    errors = answer["flatten"]["errors"]
    assert len(errors) == 2 and errors[0].startswith("cancel all orders: BrokerUnavailableError")
    assert errors[1].startswith("close all positions: BrokerUnavailableError")
    assert engine.trading_state() is TradingState.HALTED
    assert alpaca.positions() == {"SPY": 10}  # nothing pretended
    assert [s for s, _ in alerts(topic)] == ["[MaxTrader] Kill switch ENGAGED, flatten FAILED"]
    assert [r.detail["ok"] for r in rig.audit() if r.subject == "flatten"] == [False]


@pytest.mark.faults
def test_a_broker_that_cannot_be_built_fails_only_the_flatten(
    state_table: str,
    topic: AlertTopic,
    alpaca_clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_secret() -> AlpacaBroker:
        from maxtrader.domain.errors import SecretUnavailableError

        raise SecretUnavailableError("secret 'maxtrader/staging/alpaca': access denied")

    built = KillSwitchRig.build(state_table, topic, alpaca_clock, no_secret)
    monkeypatch.setattr(operator_factory, "killswitch_operations", lambda: built.ops)
    status, answer = post("/engage", {"reason": "secrets down", "flatten": True})
    assert status == 200 and answer["after"]["on"] and answer["ok"] is False
    assert answer["flatten"]["errors"] == [
        "broker unavailable: SecretUnavailableError: secret 'maxtrader/staging/alpaca': "
        "access denied"
    ]


@pytest.mark.faults
def test_alerts_down_the_switch_is_engaged_and_the_answer_warns(
    state_table: str,
    topic: AlertTopic,
    alpaca_clock: FixedClock,
    broker: AlpacaBroker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gone = topic.topic_arn + "-deleted"  # no such topic: SNS answers NotFound
    built = KillSwitchRig.build(state_table, topic, alpaca_clock, lambda: broker, topic_arn=gone)
    monkeypatch.setattr(operator_factory, "killswitch_operations", lambda: built.ops)
    status, answer = post("/engage", {"reason": "sns down too"})
    assert status == 200 and answer["after"]["on"] and answer["alert"] == "failed"
    assert len(answer["warnings"]) == 1 and answer["warnings"][0].startswith(
        "alert not sent: AlertDeliveryError"
    )
    assert [r.actor for r in built.audit() if r.kind is AuditKind.KILL_SWITCH] == [OPERATOR]


@pytest.mark.faults
def test_state_store_down_is_a_503_and_nothing_else_is_tried(
    topic: AlertTopic,
    alpaca_clock: FixedClock,
    alpaca: AlpacaEmulator,
    broker: AlpacaBroker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built = KillSwitchRig.build("no-such-table", topic, alpaca_clock, lambda: broker)
    monkeypatch.setattr(operator_factory, "killswitch_operations", lambda: built.ops)
    status, answer = post("/engage", {"reason": "x", "flatten": True})
    assert status == 503 and "state store unavailable" in answer["error"]
    assert alpaca.count("close_all") == 0 and topic.delivered() == []
