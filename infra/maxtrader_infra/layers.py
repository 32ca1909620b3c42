"""The two Lambda layers every function uses: third-party dependencies and the MaxTrader core.

The dependency layer is built outside the synth (``make layer``: layers/deps/build.py, pip for
CPython 3.13 on arm64, no Docker) and handed in as a directory. The core layer is the
``maxtrader`` package (its configs are package data) copied under ``python/`` at synth time, on
this machine: no Docker either, and nothing to build beforehand.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Final

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

REPO: Final = Path(__file__).resolve().parents[2]
CORE_SOURCE: Final = REPO / "layers" / "core"
# A directory shaped like a layer with nothing in it, clearly not the real thing: synth in tests
# and `make synth` use it when no built layer is given; the stack then warns it cannot deploy.
STUB_DEPS_DIR: Final = REPO / "infra" / "stubs" / "deps-layer-NOT-BUILT"
BUILT_MARKER: Final = ".complete.json"  # layers/deps/build.py writes it last
RUNTIME: Final = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE: Final = lambda_.Architecture.ARM_64
_NOT_SHIPPED: Final = ("__pycache__", "*.pyc", "*.egg-info")


class LayerDirError(ValueError):
    """The dependency layer directory given to the synth is not a built layer."""


def check_built_deps_dir(directory: Path) -> Path:
    """``directory`` when it holds a complete build of layers/deps (else a LayerDirError)."""
    if not (directory / "python").is_dir() or not (directory / BUILT_MARKER).is_file():
        raise LayerDirError(
            f"{directory} is not a built dependency layer (no python/ or {BUILT_MARKER}): "
            "run `make layer` and pass the directory it prints"
        )
    return directory


def built_deps_size(directory: Path) -> int | None:
    """The unzipped size the build recorded, or None for the stub."""
    marker = directory / BUILT_MARKER
    if not marker.is_file():
        return None
    return int(json.loads(marker.read_text())["unzipped_bytes"])


@jsii.implements(ILocalBundling)
class _CopyCorePackage:
    """Copies the package under python/ (where the runtime looks) without bytecode caches."""

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: Any) -> bool:
        shutil.copytree(
            CORE_SOURCE / "maxtrader",
            Path(output_dir) / "python" / "maxtrader",
            ignore=shutil.ignore_patterns(*_NOT_SHIPPED),
            dirs_exist_ok=True,
        )
        return True


class Layers(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, prefix: str, deps_dir: Path) -> None:
        super().__init__(scope, construct_id)
        self.deps = lambda_.LayerVersion(
            self,
            "Deps",
            layer_version_name=f"{prefix}-deps",
            description="MaxTrader third-party dependencies (layers/deps/requirements.txt)",
            code=lambda_.Code.from_asset(str(deps_dir)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
        )
        self.core = lambda_.LayerVersion(
            self,
            "Core",
            layer_version_name=f"{prefix}-core",
            description="MaxTrader core package with its configs (layers/core)",
            code=lambda_.Code.from_asset(
                str(CORE_SOURCE),
                exclude=list(_NOT_SHIPPED),
                bundling=BundlingOptions(
                    # Never pulled: the local copy always succeeds (no Docker on the build host).
                    image=DockerImage.from_registry("maxtrader-local-bundling-only"),
                    local=_CopyCorePackage(),
                ),
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
        )
