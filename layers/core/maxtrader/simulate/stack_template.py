"""The stage's synthesized CloudFormation template: what the simulator builds its AWS from.

    template = stack_template("staging", repo)   # dict; synthesized once, then cached

The template comes from the CDK app itself (``infra/app.py``), run in a child process (jsii and
node stay out of the simulator), so the local tables, queues, topic and secrets are the stack's
own and cannot drift from it. The result is cached in ``.build/simulate/synth-<key>/``, keyed by
a hash of everything the synth reads: ``infra/`` (the app and its constructs), the configs (the
stack validates and reads them), the core modules the constructs import (``state_schema``, the
config models) and ``cdk.json``. Change any of them and the next run
synthesizes again; otherwise a run reads the cache (about 10 s saved).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from maxtrader.domain.errors import ConfigError

CACHE_DIR = Path(".build") / "simulate"
# What the CDK app reads: its own code, the configs, and the core modules the constructs import
# (the state table's key design, the config models that name every resource).
_INPUTS = ("infra", "layers/core/maxtrader/configs", "layers/core/maxtrader/config",
           "layers/core/maxtrader/state_schema.py", "cdk.json")  # fmt: skip
_SKIP = {"__pycache__", "cdk.out", "node_modules"}


def template_key(repo: Path, stage: str) -> str:
    """A hash of every file the synth reads, and the stage's name."""
    digest = hashlib.sha256(stage.encode())
    for root in _INPUTS:
        path = repo / root
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            if _SKIP.intersection(file.relative_to(repo).parts) or file.suffix == ".pyc":
                continue
            digest.update(str(file.relative_to(repo)).encode())
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()[:16]


def stack_template(stage: str, repo: Path, *, cache_dir: Path | None = None) -> dict[str, Any]:
    """The stage's template, from the cache when its inputs have not changed."""
    root = cache_dir if cache_dir is not None else repo / CACHE_DIR
    cached = root / f"synth-{template_key(repo, stage)}" / f"MaxTrader-{stage}.template.json"
    if not cached.is_file():
        _synthesize(stage, repo, cached)
    data: dict[str, Any] = json.loads(cached.read_text(encoding="utf-8"))
    return data


def _synthesize(stage: str, repo: Path, target: Path) -> None:
    app = repo / "infra" / "app.py"
    if not app.is_file():
        raise ConfigError([f"{app}: the CDK app is missing (simulate runs from a checkout)"])
    outdir = Path(tempfile.mkdtemp(prefix=f"maxtrader-synth-{stage}-"))
    env = {
        **os.environ,
        "CDK_OUTDIR": str(outdir),
        "CDK_CONTEXT_JSON": json.dumps({"stage": stage}),
        "PYTHONPATH": os.pathsep.join([str(repo / "infra"), str(repo / "layers" / "core")]),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
    }
    try:
        done = subprocess.run(  # noqa: S603 - our interpreter, our app
            [sys.executable, str(app)],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        produced = outdir / target.name
        if done.returncode != 0 or not produced.is_file():
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-8:])
            raise ConfigError([f"cdk synth of stage {stage!r} failed:\n{tail}"])
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        shutil.copyfile(produced, partial)
        partial.replace(target)  # a reader never sees half a template
    finally:
        shutil.rmtree(outdir, ignore_errors=True)
