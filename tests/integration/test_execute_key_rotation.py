"""The execute function survives an Alpaca key rotation while its container is warm: the broker
``factory.broker()`` built reads the secret through Powertools' cache, so the first refusal of the
old key forces one re-read and the order goes out with the new one (before the fix every broker
call of a warm container failed 401 until a cold start). Moto server, the emulator."""

from __future__ import annotations

import json

import boto3
import pytest

from maxtrader.runtime import factory
from tests.support.execute_harness import ExecuteStage, sqs_record
from tests.support.execution import message

pytest_plugins = ("tests.support.alpaca_fixtures", "tests.support.execute_fixtures")


@pytest.fixture
def stage(execute_stage: ExecuteStage) -> ExecuteStage:
    """This module's ``stage``: each support plugin names its own (plugins are global, and three
    defined ``stage``: which one a module got depended on the collection order)."""
    return execute_stage


pytestmark = [
    pytest.mark.xdist_group("cdk"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]
NEW_KEY, NEW_SECRET = "execute-rotated-key-id", "execute-rotated-secret-never-logged"


def test_a_warm_execute_container_places_the_next_order_with_the_rotated_key(
    stage: ExecuteStage, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = message(minute=0, risk=50.0, signal_id="sig-before-rotation")
    assert stage.invoke(sqs_record(first)) == {"batchItemFailures": []}
    forced: list[bool] = []
    secrets = factory.secrets()
    read = secrets.get

    def recording(name: str, model: type, *, force_fetch: bool = False) -> object:
        forced.append(force_fetch)
        return read(name, model, force_fetch=force_fetch)

    monkeypatch.setattr(secrets, "get", recording)
    stage.emulator.api_key, stage.emulator.secret_key = NEW_KEY, NEW_SECRET
    boto3.client("secretsmanager").put_secret_value(
        SecretId=stage.env.alpaca_secret_name,
        SecretString=json.dumps({"key_id": NEW_KEY, "secret_key": NEW_SECRET}),
    )
    second = message(minute=0, risk=50.0, signal_id="sig-after-rotation")
    assert stage.invoke(sqs_record(second)) == {"batchItemFailures": []}
    assert sorted(stage.entry_orders()) == [
        "mt-sig-after-rotation-entry",
        "mt-sig-before-rotation-entry",
    ]
    assert forced.count(True) == 1  # one refusal (the account read), one forced re-read
    assert stage.emulator.count("submit_order") == 2  # one order per signal, none refused
