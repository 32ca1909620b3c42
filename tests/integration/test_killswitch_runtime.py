"""The kill switch around its logic: the per-container factory, the runbook's manual switch,
metrics, the last-resort 500 answer and concurrent callers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest

from maxtrader.adapters.alpaca_broker import AlpacaBroker
from maxtrader.domain.models import AuditKind, TradingState
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.runtime import operator_factory
from tests.support.alert_topic import AlertTopic
from tests.support.killswitch_harness import (
    KillSwitchRig,
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


def test_the_broker_is_built_from_the_alpaca_secret_on_first_use_only(
    state_table: str, topic: AlertTopic, alpaca_clock: Any
) -> None:
    from tests.support.killswitch_harness import env_for

    # A name of its own: the worker's moto server is shared, and simulate creates the stage's.
    env = env_for(state_table, topic.topic_arn).model_copy(
        update={"alpaca_secret_name": f"maxtrader/staging/alpaca-{state_table}"}
    )
    build = operator_factory.alpaca_broker_from_secret(env, alpaca_clock)
    secrets = boto3.client("secretsmanager")
    secrets.create_secret(
        Name=env.alpaca_secret_name,
        SecretString=json.dumps({"key_id": "PKTEST", "secret_key": "not-a-real-secret"}),
    )
    broker = build()
    assert isinstance(broker, AlpacaBroker) and broker.paper  # staging: paper
    assert "paper-api" in repr(broker) and "not-a-real-secret" not in repr(broker)
    secrets.delete_secret(SecretId=env.alpaca_secret_name, ForceDeleteWithoutRecovery=True)
    assert build() is broker  # once per container: the secret is not read again


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
