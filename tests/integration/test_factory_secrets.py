"""The functions' secrets cache for the stage config's ``secrets_max_age_seconds``: the factory
reads it from the config directory the function is given, on moto's Secrets Manager."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from maxtrader.function_env import variable
from maxtrader.runtime import factory
from tests.support.ingest_events import SECRET, IngestStage

REPO_CONFIGS = Path(__file__).resolve().parents[2] / "configs"
ROTATED = "rotated-webhook-secret-0b7e"


@pytest.fixture
def stage(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[IngestStage]:
    factory.clear()
    yield IngestStage(monkeypatch)
    factory.clear()


def use_max_age(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seconds: int) -> None:
    """The repository's configs, with the staging stage's ``secrets_max_age_seconds`` set."""
    configs = tmp_path / "configs"
    shutil.copytree(REPO_CONFIGS, configs)
    staging = configs / "stages" / "staging.yaml"
    staging.write_text(staging.read_text() + f"secrets_max_age_seconds: {seconds}\n")
    monkeypatch.setenv(variable("config_dir"), str(configs))


@pytest.mark.parametrize(("max_age", "seen_at_once"), [(0, True), (3600, False)])
def test_the_cache_lives_as_long_as_the_stage_config_says(
    stage: IngestStage,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    max_age: int,
    seen_at_once: bool,
) -> None:
    use_max_age(tmp_path, monkeypatch, max_age)
    keys = factory.webhook_secrets()
    assert keys.current() == [SECRET]
    stage.put_secret({"secret": ROTATED})
    assert factory.secrets().max_age_seconds == max_age
    assert keys.current() == ([ROTATED] if seen_at_once else [SECRET])
    assert keys.refreshed(now=0.0) == [ROTATED]  # an auth failure reads through the cache


def test_the_default_is_five_minutes(stage: IngestStage) -> None:
    assert factory.stage_config().secrets_max_age_seconds == 300
    assert factory.secrets().max_age_seconds == 300
