"""Secrets through Powertools Parameters against Secrets Manager on a moto server (127.0.0.1)."""

from __future__ import annotations

import json
import logging
import uuid

import boto3
import pytest

from maxtrader.adapters.secrets import (
    AlpacaSecret,
    MassiveSecret,
    Secrets,
    WebhookSecret,
)
from maxtrader.domain.errors import MaxTraderError, SecretUnavailableError


def _name() -> str:
    return f"maxtrader/test/{uuid.uuid4().hex[:8]}"


def _put(name: str, value: object) -> None:
    client = boto3.client("secretsmanager")
    text = value if isinstance(value, str) else json.dumps(value)
    try:
        client.put_secret_value(SecretId=name, SecretString=text)
    except client.exceptions.ResourceNotFoundException:
        client.create_secret(Name=name, SecretString=text)


def test_a_json_secret_becomes_a_typed_model_that_never_prints_its_value(aws_env: str) -> None:
    name = _name()
    _put(name, {"api_key": "mk-123456", "note": "rotated by ops"})
    secret = Secrets().get(name, MassiveSecret)
    assert secret.api_key.get_secret_value() == "mk-123456"
    assert "mk-123456" not in repr(secret) + str(secret)
    alpaca = _name()
    _put(alpaca, {"key_id": "AK1", "secret_key": "sk-abc"})
    model = Secrets().get(alpaca, AlpacaSecret)
    assert (model.key_id.get_secret_value(), model.secret_key.get_secret_value()) == (
        "AK1",
        "sk-abc",
    )


def test_rotation_is_seen_after_force_fetch_not_before_max_age(aws_env: str) -> None:
    name = _name()
    _put(name, {"api_key": "first"})
    secrets = Secrets(max_age_seconds=300)
    assert secrets.get(name, MassiveSecret).api_key.get_secret_value() == "first"
    _put(name, {"api_key": "second"})  # rotated in Secrets Manager
    assert secrets.get(name, MassiveSecret).api_key.get_secret_value() == "first"  # cached
    forced = secrets.get(name, MassiveSecret, force_fetch=True)
    assert forced.api_key.get_secret_value() == "second"
    assert secrets.get(name, MassiveSecret).api_key.get_secret_value() == "second"  # re-cached


def test_max_age_zero_reads_every_time(aws_env: str) -> None:
    name = _name()
    _put(name, {"api_key": "first"})
    secrets = Secrets(max_age_seconds=0)
    assert secrets.get(name, MassiveSecret).api_key.get_secret_value() == "first"
    _put(name, {"api_key": "second"})
    assert secrets.get(name, MassiveSecret).api_key.get_secret_value() == "second"


def test_webhook_secret_accepts_the_previous_one_during_a_rotation(aws_env: str) -> None:
    name = _name()
    _put(name, {"secret": "new-webhook-secret", "previous": "old-webhook-secret"})
    assert Secrets().get(name, WebhookSecret).accepted() == [
        "new-webhook-secret",
        "old-webhook-secret",
    ]
    _put(name, {"secret": "only-one"})
    assert Secrets().get(name, WebhookSecret).accepted() == ["only-one"]


@pytest.mark.faults
def test_a_missing_secret_is_a_domain_error(aws_env: str) -> None:
    with pytest.raises(SecretUnavailableError, match="'maxtrader/test/absent': no such secret"):
        Secrets().get("maxtrader/test/absent", MassiveSecret)
    assert issubclass(SecretUnavailableError, MaxTraderError)


@pytest.mark.faults
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("not json at all sk-LEAK", "is not a JSON object"),
        ('["sk-LEAK"]', "is not a JSON object"),
        ({"apikey": "sk-LEAK"}, "api_key: Field required"),
        ({"api_key": ""}, "api_key: Value should have at least 1 item"),
        ({"api_key": 7318052946113}, "api_key: Input should be a valid string"),
    ],
)
def test_a_malformed_secret_names_the_problem_and_not_the_value(
    aws_env: str, value: object, problem: str, caplog: pytest.LogCaptureFixture
) -> None:
    name = _name()
    _put(name, value)
    caplog.set_level(logging.DEBUG)  # from here on: every logger, botocore's included
    caplog.clear()
    with pytest.raises(SecretUnavailableError, match=problem) as error:
        Secrets().get(name, MassiveSecret)
    shown = str(error.value) + repr(error.value) + caplog.text
    # A distinctive number: a short one can occur by chance in ports, ids and timestamps.
    assert "LEAK" not in shown and "7318052946113" not in shown
    # No chained vendor exception (its text may quote the body) travels with the error.
    assert error.value.__cause__ is None
    assert error.value.__context__ is None or error.value.__suppress_context__


@pytest.mark.faults
def test_an_unreachable_endpoint_is_a_domain_error(
    aws_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(SecretUnavailableError, match="Secrets Manager could not be read"):
        Secrets().get(_name(), MassiveSecret)


def test_negative_max_age_is_refused() -> None:
    with pytest.raises(ValueError, match="max_age_seconds must be >= 0"):
        Secrets(max_age_seconds=-1)


@pytest.mark.faults
def test_no_region_is_a_domain_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    with pytest.raises(SecretUnavailableError, match="Secrets Manager client: You must specify"):
        Secrets()
