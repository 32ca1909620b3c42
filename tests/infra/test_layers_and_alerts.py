"""Construct-level checks: webhooks from the stage, the layers' content and the layer choice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template

from maxtrader.config.stage import AlertContacts
from maxtrader_infra import layers
from maxtrader_infra.alerts import AlertsTopic
from maxtrader_infra.layers import LayerDirError, Layers, check_built_deps_dir
from tests.support.templates import asset_dir, resources_of_type, synth, synth_warnings

pytestmark = pytest.mark.xdist_group("cdk")


def test_webhooks_of_the_stage_become_https_subscriptions_with_the_dlq() -> None:
    stack = Stack(App(), "T")
    hooks = ["https://alerts.ops.example/maxtrader", "https://chat.ops.example/in"]
    AlertsTopic(
        stack,
        "Alerts",
        topic_name="t-alerts",
        contacts=AlertContacts(emails=["ops@maxtrader-ops.net"], webhooks=hooks),
        retain=False,
    )
    subscriptions = Template.from_stack(stack).find_resources("AWS::SNS::Subscription")
    https = sorted(
        s["Properties"]["Endpoint"]
        for s in subscriptions.values()
        if s["Properties"]["Protocol"] == "https"
    )
    assert https == sorted(hooks)
    assert all("RedrivePolicy" in s["Properties"] for s in subscriptions.values())


def test_core_layer_is_the_package_under_python_with_its_configs_and_no_bytecode() -> None:
    assembly = synth("production")
    core = next(
        layer
        for layer in resources_of_type("production", "AWS::Lambda::LayerVersion").values()
        if layer["Properties"]["LayerName"].endswith("-core")
    )
    asset = asset_dir(assembly, "MaxTrader-production", core)
    package = asset / "python" / "maxtrader"
    assert (package / "function_env.py").is_file()
    assert (package / "configs" / "stages" / "production.yaml").is_file()
    assert (package / "configs" / "safety.yaml").is_file()
    assert not list(asset.rglob("__pycache__"))
    assert not list(asset.rglob("*.pyc"))


def test_without_a_built_layer_the_synth_uses_the_stub_and_says_so() -> None:
    deps = next(
        layer
        for layer in resources_of_type("production", "AWS::Lambda::LayerVersion").values()
        if layer["Properties"]["LayerName"].endswith("-deps")
    )
    asset = asset_dir(synth("production"), "MaxTrader-production", deps)
    assert sorted(p.name for p in (asset / "python").iterdir()) == ["README.md"]
    assert any(
        "maxtrader:deps-layer-stub" in w or "empty stub" in w for w in synth_warnings("production")
    )


def test_a_directory_that_is_not_a_built_layer_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LayerDirError, match="not a built dependency layer"):
        check_built_deps_dir(layers.STUB_DEPS_DIR)  # the stub has no build marker
    (tmp_path / "python").mkdir()
    with pytest.raises(LayerDirError, match="make layer"):
        check_built_deps_dir(tmp_path)
    (tmp_path / layers.BUILT_MARKER).write_text(json.dumps({"unzipped_bytes": 1}))
    assert check_built_deps_dir(tmp_path) == tmp_path


def test_the_app_takes_the_built_layer_from_context_or_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app import DEPS_LAYER_CONTEXT, DEPS_LAYER_ENV, deps_layer_dir

    built = tmp_path / "built"
    (built / "python").mkdir(parents=True)
    (built / layers.BUILT_MARKER).write_text("{}")
    monkeypatch.delenv(DEPS_LAYER_ENV, raising=False)
    assert deps_layer_dir(App()) is None
    assert deps_layer_dir(App(context={DEPS_LAYER_CONTEXT: str(built)})) == built
    monkeypatch.setenv(DEPS_LAYER_ENV, str(built))
    assert deps_layer_dir(App()) == built
    monkeypatch.setenv(DEPS_LAYER_ENV, str(tmp_path / "missing"))
    with pytest.raises(LayerDirError):
        deps_layer_dir(App())


def test_a_built_layer_is_what_the_deps_layer_ships(tmp_path: Path) -> None:
    built = tmp_path / "built"
    (built / "python" / "yaml").mkdir(parents=True)
    (built / "python" / "yaml" / "__init__.py").write_text("")
    (built / layers.BUILT_MARKER).write_text("{}")
    app = App(outdir=str(tmp_path / "out"))
    stack = Stack(app, "T")
    Layers(stack, "Layers", prefix="t", deps_dir=built)
    assembly = Path(app.synth().directory)
    deps = next(
        r
        for r in Template.from_stack(stack).find_resources("AWS::Lambda::LayerVersion").values()
        if r["Properties"]["LayerName"] == "t-deps"
    )
    asset = asset_dir(assembly, "T", deps)
    assert (asset / "python" / "yaml" / "__init__.py").is_file()


def test_the_core_layer_alone_provides_the_package_and_its_configs() -> None:
    """Imported from the staged layer (as /opt/python is on Lambda), not from the checkout."""
    core = next(
        layer
        for layer in resources_of_type("production", "AWS::Lambda::LayerVersion").values()
        if layer["Properties"]["LayerName"].endswith("-core")
    )
    site = asset_dir(synth("production"), "MaxTrader-production", core) / "python"
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import maxtrader;"
        "assert maxtrader.__file__.startswith(sys.argv[1]), maxtrader.__file__;"
        "from maxtrader.config.loader import load_config;"
        "from maxtrader.function_env import FunctionEnv;"
        "stage = load_config(stage='production').stage;"
        "print(FunctionEnv.for_stage(stage).state_table)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MAXTRADER_CONFIG_DIR")}
    result = subprocess.run(
        [sys.executable, "-c", probe, str(site)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "maxtrader-production-state"
