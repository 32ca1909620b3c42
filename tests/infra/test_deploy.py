"""`make deploy` refuses a production stage with placeholders before anything reaches AWS.

The Makefile runs for real with a fake `cdk` that records its calls (no AWS, no network): the
venv and the CLI are this test's (BIN, STAMP and CDK overridden), the layer comes from a
pre-filled cache directory, exactly as a second `make layer` would find it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from maxtrader_infra.function_specs import FUNCTIONS
from tests.infra.stage_files import FILLED_PRODUCTION, edited_configs
from tests.infra.test_deps_layer import build

REPO = Path(__file__).resolve().parents[2]

# A cdk that records its argv; `synth --output DIR` writes a tiny template for cfn-lint.
FAKE_CDK = """#!{python}
import json, pathlib, sys
with open({calls!r}, "a") as calls:
    calls.write(json.dumps(sys.argv[1:]) + "\\n")
if sys.argv[1] == "synth":
    out = pathlib.Path(sys.argv[sys.argv.index("--output") + 1])
    out.mkdir(parents=True)
    (out / "MaxTrader-production.template.json").write_text(json.dumps(
        {{"Resources": {{"T": {{"Type": "AWS::SNS::Topic"}}}}}}))
"""


def every_handler(tmp_path: Path, *, but: str | None = None) -> Path:
    """A functions directory holding a handler for every function (except ``but``): the
    checkout of a merged tree, whatever this branch holds."""
    functions = tmp_path / "functions"
    for spec in FUNCTIONS:
        if spec.name != but:
            (functions / spec.name).mkdir(parents=True)
            spec.handler_file(functions).write_text("def lambda_handler(event, context): ...\n")
    return functions


def test_a_handler_without_the_lambda_handler_entry_point_counts_as_missing(
    tmp_path: Path,
) -> None:
    functions = every_handler(tmp_path)
    (functions / "eod" / "handler.py").write_text("def handler(event, context): ...\n")
    result = preflight("staging", functions)
    assert result.returncode == 1
    assert "functions/eod/handler.py" in result.stderr


def make_deploy(tmp_path: Path, config_dir: Path | None = None) -> tuple[int, str, list[list[str]]]:
    calls = tmp_path / "cdk-calls.jsonl"
    cdk = tmp_path / "cdk"
    cdk.write_text(FAKE_CDK.format(python=sys.executable, calls=str(calls)))
    cdk.chmod(0o755)
    stamp = tmp_path / "stamp"
    stamp.touch()  # newer than pyproject.toml and package.json: nothing to install
    layer_out = tmp_path / "layers"
    cached = build.layer_dir(build.REQUIREMENTS, layer_out)
    (cached / "python").mkdir(parents=True)
    (cached / build.COMPLETE).write_text(json.dumps({"unzipped_bytes": 0}))
    env = os.environ | {"PYTHONPATH": str(REPO / "layers" / "core")}
    # Nothing from an enclosing make (`make test STAGE=...`) or a config override leaks in.
    for inherited in ("MAXTRADER_CONFIG_DIR", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "STAGE"):
        env.pop(inherited, None)
    if config_dir is not None:
        env["MAXTRADER_CONFIG_DIR"] = str(config_dir)
    result = subprocess.run(
        [
            shutil.which("make") or "make",
            "--no-print-directory",
            "deploy",
            "STAGE=production",
            f"BIN={Path(sys.executable).parent}",
            f"STAMP={stamp}",
            f"CDK={cdk}",
            f"LAYER_OUT={layer_out}",
            f"DEPLOY_OUT={tmp_path / 'assembly'}",
            f"PREFLIGHT_FLAGS=--functions-dir={every_handler(tmp_path)}",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    recorded = (
        [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []
    )
    return result.returncode, result.stdout + result.stderr, recorded


def test_production_with_placeholders_is_refused_before_cdk_runs(tmp_path: Path) -> None:
    code, output, calls = make_deploy(tmp_path)
    assert code != 0
    assert "deploy production: refused" in output
    for placeholder in ("oncall@example.com", "+15555550100", "222222222222"):
        assert placeholder in output
    assert calls == []  # neither synth nor deploy was reached


def test_production_with_placeholder_account_only_is_still_refused(tmp_path: Path) -> None:
    contacts_only = dict(list(FILLED_PRODUCTION.items())[:2])
    configs = edited_configs(tmp_path, "production", contacts_only)
    code, output, calls = make_deploy(tmp_path, configs)
    assert code != 0
    assert "placeholder AWS account: 222222222222" in output
    assert "oncall@example.com" not in output
    assert calls == []


def test_filled_production_goes_on_to_synth_lint_and_deploy_the_same_assembly(
    tmp_path: Path,
) -> None:
    """The positive control: the same run with real-looking contacts reaches cdk, in order."""
    configs = edited_configs(tmp_path, "production", FILLED_PRODUCTION)
    code, output, calls = make_deploy(tmp_path, configs)
    assert code == 0, output
    assert "preflight passed" in output
    layer = build.layer_dir(build.REQUIREMENTS, tmp_path / "layers").resolve()
    assembly = str(tmp_path / "assembly")
    assert calls == [
        [
            "synth",
            "-c",
            "stage=production",
            "-c",
            f"maxtrader:depsLayerDir={layer}",
            "--output",
            assembly,
            "--quiet",
        ],
        ["deploy", "--app", assembly, "--require-approval", "broadening", "MaxTrader-production"],
    ]


def preflight(stage: str, functions_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(REPO / "infra" / "deploy_preflight.py"),
            stage,
            f"--functions-dir={functions_dir}",
        ],
        env=os.environ | {"PYTHONPATH": str(REPO / "layers" / "core")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("stage", ["staging"])
def test_other_stages_only_warn_about_placeholders(stage: str, tmp_path: Path) -> None:
    result = preflight(stage, every_handler(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "warning: placeholder AWS account: 111111111111" in result.stderr


@pytest.mark.parametrize("stage", ["staging", "production"])
def test_any_stage_with_a_function_missing_its_handler_is_refused(
    stage: str, tmp_path: Path
) -> None:
    result = preflight(stage, every_handler(tmp_path, but="eod"))
    assert result.returncode == 1
    assert "no handler (defining lambda_handler) for: functions/eod/handler.py" in result.stderr
    assert "signals" not in result.stderr.split("no handler")[1]  # only the missing one
