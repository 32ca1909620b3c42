"""The kill-switch Function URL, in process, on moto (state, SNS -> SQS) and the Alpaca emulator.

Each test sends real-shaped Function URL events (the IAM request context included) through the
handler and reads the effects back where they land: the state table (through the safety engine
the order path uses), the audit log, the alert queue and the emulated broker.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from maxtrader.adapters.alpaca_broker import AlpacaBroker
from maxtrader.domain.broker import OrderRequest, OrderType
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.models import AuditKind, Instrument, OrderSide, TradingState
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.emulators.alpaca import AlpacaEmulator
from maxtrader.emulators.alpaca_faults import Fault
from maxtrader.runtime import operator_factory
from tests.support.alert_topic import AlertTopic, create_alert_topic
from tests.support.alpaca_env import bar, minute
from tests.support.killswitch_harness import (
    OPERATOR,
    KillSwitchRig,
    function_url_event,
    invoke,
)
from tests.support.safety import entry, make_engine, market

pytest_plugins = ("tests.support.alpaca_fixtures",)  # alpaca_clock, alpaca, broker
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:No application metrics:UserWarning"),  # refusals, status
]

OTHER = "arn:aws:iam::123456789012:user/bob"


@pytest.fixture
def topic(aws_env: str) -> AlertTopic:
    return create_alert_topic()


@pytest.fixture
def rig(
    state_table: str,
    topic: AlertTopic,
    alpaca_clock: FixedClock,
    broker: AlpacaBroker,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[KillSwitchRig]:
    built = KillSwitchRig.build(state_table, topic, alpaca_clock, lambda: broker)
    monkeypatch.setattr(operator_factory, "killswitch_operations", lambda: built.ops)
    yield built


@pytest.fixture
def engine(rig: KillSwitchRig) -> SafetyEngine:
    """The order path's engine on the same table (what the next entry goes through)."""
    return make_engine(rig.store, rig.clock)


def post(path: str, body: Any, arn: str | None = OPERATOR) -> tuple[int, dict[str, Any]]:
    return invoke(function_url_event("POST", path, body, arn=arn))


def alerts(topic: AlertTopic) -> list[tuple[str, dict[str, Any]]]:
    """(subject, the email/default text as delivered) of every alert the queue received."""
    return [(m["Subject"], m) for m in topic.delivered()]


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


# --- refusals: nothing written ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/engage", {"reason": "x"}),
        ("/release", {"reason": "x"}),
        ("/safe-mode", {"on": True, "reason": "x"}),
        ("/flatten", {"reason": "x"}),
    ],
)
def test_no_iam_identity_is_403_and_writes_nothing(
    rig: KillSwitchRig, alpaca: AlpacaEmulator, path: str, body: dict[str, Any]
) -> None:
    status, answer = post(path, body, arn=None)
    assert status == 403 and "IAM identity" in answer["error"]
    assert rig.written() == ((0, 0), 0) and alpaca.count("close_all") == 0
    assert rig.topic.delivered() == []


@pytest.mark.parametrize("arn", ["", "alice", "arn:aws:iam::123:user/x", "arn:aws:s3:::bucket"])
def test_an_identity_that_is_not_an_iam_arn_is_403(rig: KillSwitchRig, arn: str) -> None:
    assert post("/engage", {"reason": "x"}, arn=arn)[0] == 403
    assert invoke(function_url_event("GET", "/status", arn=arn))[0] == 403
    assert rig.written() == ((0, 0), 0)


@pytest.mark.parametrize(
    ("path", "raw", "named"),
    [
        ("/engage", "{}", "reason: Field required"),
        ("/engage", '{"reason": ""}', "reason: String should have at least 1 character"),
        ("/engage", json.dumps({"reason": "x" * 501}), "reason: String should have at most 500"),
        ("/engage", '{"reason": "a\\nb"}', "reason: must not contain control characters"),
        ("/engage", '{"reason": "   "}', "reason: must say why"),
        ("/engage", '{"reason": 5}', "reason: Input should be a valid string"),
        ("/engage", '{"reason": "x", "flatten": "yes"}', "flatten: Input should be a valid bool"),
        ("/engage", '{"reason": "x", "force": true}', "force: unknown field"),
        ("/release", '{"reason": "x", "flatten": true}', "flatten: unknown field"),
        ("/safe-mode", '{"reason": "x"}', "on: Field required"),
        ("/safe-mode", '{"on": 1, "reason": "x"}', "on: Input should be a valid bool"),
        ("/flatten", "", "body: a JSON object is required"),
        ("/engage", "not json", "body: not valid JSON"),
        ("/engage", '["reason"]', "body: must be a JSON object"),
        ("/engage", "[" * 3000 + "]" * 1000, "body: not valid JSON"),  # deeper than json goes
        ("/engage", json.dumps({"reason": "x", "pad": "y" * 5000}), "body: 5"),
    ],
)
def test_bad_bodies_are_400_naming_the_field_and_write_nothing(
    rig: KillSwitchRig, alpaca: AlpacaEmulator, path: str, raw: str, named: str
) -> None:
    status, answer = invoke(function_url_event("POST", path, raw_body=raw))
    assert status == 400 and answer["error"].startswith(named), answer
    assert rig.written() == ((0, 0), 0) and alpaca.count("close_all") == 0


def test_a_base64_body_is_decoded_and_a_bad_one_refused(rig: KillSwitchRig) -> None:
    good = function_url_event("POST", "/engage", {"reason": "b64"}, base64_body=True)
    assert invoke(good)[0] == 200
    bad = function_url_event("POST", "/release", raw_body="x")
    bad.update(body="%%%not-base64", isBase64Encoded=True)
    status, answer = invoke(bad)
    assert status == 400 and answer["error"] == "body: not valid JSON"
    assert rig.versions() == (1, 0)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/nope", 404),
        ("POST", "/engage/extra", 404),
        ("GET", "/", 404),
        ("GET", "/engage", 405),
        ("DELETE", "/release", 405),
        ("POST", "/status", 405),
        ("PUT", "/safe-mode", 405),
    ],
)
def test_unknown_paths_are_404_and_wrong_methods_405(
    rig: KillSwitchRig, method: str, path: str, expected: int
) -> None:
    status, answer = invoke(function_url_event(method, path, {"reason": "x"}))
    assert status == expected and answer["status"] == expected
    assert rig.written() == ((0, 0), 0)


# --- the per-container factory ------------------------------------------------------------------
def test_the_cached_factory_builds_from_the_environment_without_touching_the_broker(
    state_table: str, topic: AlertTopic, monkeypatch: pytest.MonkeyPatch
) -> None:
    from maxtrader.function_env import function_env
    from tests.support.killswitch_harness import env_for

    for name, value in env_for(state_table, topic.topic_arn).to_environ().items():
        monkeypatch.setenv(name, value)
    function_env.cache_clear()
    operator_factory.killswitch_operations.cache_clear()
    try:
        first = operator_factory.killswitch_operations()
        assert operator_factory.killswitch_operations() is first  # once per container
        status, answer = post("/engage", {"reason": "through the real factory"})
        assert status == 200 and answer["after"]["on"]  # no secret was read, no broker built
    finally:
        function_env.cache_clear()
        operator_factory.killswitch_operations.cache_clear()


# --- the runbook's manual switch ------------------------------------------------------------------
RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "runbook.md"


def runbook_manual_engage(now_micros: int) -> dict[str, Any]:
    """The runbook's ``aws dynamodb update-item`` as boto3 arguments (the shell's $(date) given)."""
    text = RUNBOOK.read_text()
    block = text.split("<!-- runbook:manual-engage", 1)[1].split("```sh\n", 1)[1].split("```")[0]
    block = block.replace("'\"$(($(date +%s) * 1000000))\"'", str(now_micros))
    args = dict(re.findall(r"--([a-z-]+) '([^']*)'", block))
    return {
        "Key": json.loads(args["key"]),
        "UpdateExpression": args["update-expression"],
        "ExpressionAttributeNames": json.loads(args["expression-attribute-names"]),
        "ExpressionAttributeValues": json.loads(args["expression-attribute-values"]),
    }


def test_the_runbooks_manual_engage_halts_and_the_url_still_releases(
    rig: KillSwitchRig, engine: SafetyEngine
) -> None:
    now = rig.clock.now()
    update = runbook_manual_engage(int(now.timestamp()) * 1_000_000)
    boto3.client("dynamodb").update_item(TableName=rig.store.table, **update)

    assert engine.trading_state() is TradingState.HALTED
    assert not engine.reserve(entry(), market()).approved
    status, answer = invoke(function_url_event("GET", "/status"))
    assert answer["kill_switch"]["actor"] == "manual:your-name"
    assert answer["kill_switch"]["changed_at"] == now.isoformat()
    assert answer["kill_switch"]["version"] == 1

    status, answer = post("/release", {"reason": "URL is back"})
    assert status == 200 and answer["changed"] and answer["after"]["version"] == 2
    assert engine.reserve(entry(), market()).approved


# --- observability and the last-resort answer --------------------------------------------------
def emf_documents(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def test_a_change_counts_one_metric_with_its_action_and_a_repeat_none(
    rig: KillSwitchRig, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    post("/engage", {"reason": "count me"})
    [doc] = emf_documents(capsys.readouterr().out)
    [directive] = doc["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "MaxTrader"
    assert [m["Name"] for m in directive["Metrics"]] == ["KillSwitchChanges"]
    assert ["action"] in directive["Dimensions"] and doc["action"] == "engage"
    assert doc["KillSwitchChanges"] in (1.0, [1.0])
    post("/engage", {"reason": "no change"})
    assert emf_documents(capsys.readouterr().out) == []


def test_an_unexpected_error_is_a_500_answer_not_a_crash(
    rig: KillSwitchRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> dict[str, Any]:
        raise RuntimeError("bug")

    monkeypatch.setattr(rig.ops, "status", broken)
    status, answer = invoke(function_url_event("GET", "/status"))
    assert (status, answer) == (500, {"error": "internal error (RuntimeError)", "status": 500})


@pytest.mark.concurrency
def test_concurrent_engages_change_the_switch_once(
    rig: KillSwitchRig,
    topic: AlertTopic,
    broker: AlpacaBroker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Four containers (each its own adapters, as concurrent Lambdas have) engage at once."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    containers = threading.local()

    def container_ops() -> Any:
        if not hasattr(containers, "rig"):
            containers.rig = KillSwitchRig.build(rig.store.table, topic, rig.clock, lambda: broker)
        return containers.rig.ops

    monkeypatch.setattr(operator_factory, "killswitch_operations", container_ops)
    start = threading.Barrier(4)

    def engage(i: int) -> tuple[int, dict[str, Any]]:
        container_ops()
        start.wait(timeout=10)
        return post("/engage", {"reason": f"operator {i}"})

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(engage, range(4)))
    assert [status for status, _ in answers] == [200] * 4
    assert sum(answer["changed"] for _, answer in answers) == 1
    assert all(answer["after"]["on"] for _, answer in answers)
    assert rig.versions() == (1, 0)
    assert len([r for r in rig.audit() if r.kind is AuditKind.KILL_SWITCH]) == 1
    assert len(topic.delivered()) == 1  # the same version: one alert
