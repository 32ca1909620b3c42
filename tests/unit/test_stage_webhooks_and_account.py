"""The stage file's alert webhooks (https only) and the placeholder-account check."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from maxtrader.config import load_stage
from maxtrader.domain.errors import ConfigError


@pytest.fixture
def stages(tmp_path: Path, config_dir: Path) -> Path:
    target = tmp_path / "configs"
    shutil.copytree(config_dir, target)
    return target


def set_line(configs: Path, stage: str, old: str, new: str) -> None:
    path = configs / "stages" / f"{stage}.yaml"
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("stage", ["staging", "production"])
def test_shipped_stages_have_no_webhooks_and_a_placeholder_account(
    stage: str, config_dir: Path
) -> None:
    config = load_stage(stage, config_dir)
    assert config.alerts.webhooks == []
    assert config.placeholder_account() == config.aws.account


def test_https_webhooks_load(stages: Path) -> None:
    set_line(
        stages,
        "staging",
        "webhooks: []",
        'webhooks: ["https://alerts.ops.example/maxtrader", "https://chat.ops.example:8443/in"]',
    )
    assert load_stage("staging", stages).alerts.webhooks == [
        "https://alerts.ops.example/maxtrader",
        "https://chat.ops.example:8443/in",
    ]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://alerts.ops.example/hook", "is not an https URL"),
        ("ftp://alerts.ops.example/hook", "is not an https URL"),
        ("https:///hook", "has no host"),
        ("https://bot:hunter2@alerts.ops.example/hook", "carries credentials"),
        ("alerts.ops.example/hook", "is not an https URL"),
    ],
)
def test_a_bad_webhook_fails_naming_the_file_key_and_reason(
    stages: Path, url: str, why: str
) -> None:
    set_line(stages, "staging", "webhooks: []", f'webhooks: ["{url}"]')
    with pytest.raises(ConfigError) as caught:
        load_stage("staging", stages)
    message = str(caught.value)
    assert "staging.yaml" in message
    assert "alerts.webhooks.0" in message
    assert why in message


def test_a_repeated_webhook_is_refused(stages: Path) -> None:
    hook = "https://alerts.ops.example/maxtrader"
    set_line(stages, "staging", "webhooks: []", f'webhooks: ["{hook}", "{hook}"]')
    with pytest.raises(ConfigError, match="webhooks must not repeat"):
        load_stage("staging", stages)


@pytest.mark.parametrize(
    ("account", "placeholder"),
    [
        ("000000000000", True),
        ("999999999999", True),
        ("123456789012", True),
        ("480326190245", False),
        ("111111111112", False),
    ],
)
def test_placeholder_accounts(stages: Path, account: str, placeholder: bool) -> None:
    set_line(stages, "production", '"222222222222"', f'"{account}"')
    found = load_stage("production", stages).placeholder_account()
    assert found == (account if placeholder else None)
