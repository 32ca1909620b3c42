"""Build the third-party dependency layer without Docker, cached by a hash of its inputs.

    python layers/deps/build.py                # build (or find up to date) and print its size
    python layers/deps/build.py --print-dir    # the directory for the current inputs (built?)

pip installs ``requirements.txt`` for the Lambda target (CPython 3.13 on arm64) into
``.build/layers/deps/<hash>/python`` from a clean environment: the machine's pip configuration
and ``PIP_*`` settings are ignored, only wheels are accepted (no local compilation for the wrong
architecture), ``--no-deps`` installs exactly the pinned closure and ``--no-compile`` keeps the
host interpreter's bytecode (useless on 3.13) out of the layer. ``<hash>`` covers the
requirements, the pip arguments and this recipe's version, so a second run with the same inputs
does nothing, and a change of any of them builds a fresh directory (older ones are pruned).
The build is written beside its final place and renamed into it only once it is complete and
within the size limit: an interrupted or oversized build leaves nothing that looks finished.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from layer_size import LIMIT_MB, MB, check, unzipped_bytes

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
REQUIREMENTS = HERE / "requirements.txt"
OUT_ROOT = REPO / ".build" / "layers" / "deps"
COMPLETE = ".complete.json"  # written last: a directory without it is not a layer
RECIPE_VERSION = "1"  # bump when the way the layer is built changes in a way the args do not show

# AL2023 (the python3.13 runtime) has glibc 2.34: manylinux_2_28 wheels run there too, and the
# newest numpy and pandas ship aarch64 wheels only under that tag.
PIP_TARGET_ARGS = (
    "--platform=manylinux2014_aarch64",
    "--platform=manylinux_2_28_aarch64",
    "--implementation=cp",
    "--python-version=3.13",
    "--only-binary=:all:",
    "--no-deps",
    "--no-compile",
)
# What the install may inherit: how to reach an index, nothing about what to install.
_PASSED_ENV = (
    "PATH",
    "HOME",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
    "PIP_INDEX_URL",
)

Installer = Callable[[Path, Path], None]


class LayerBuildError(RuntimeError):
    """The layer could not be built, or came out over the size limit."""


def input_hash(requirements: Path) -> str:
    digest = hashlib.sha256()
    digest.update(requirements.read_bytes())
    digest.update(json.dumps([RECIPE_VERSION, *PIP_TARGET_ARGS]).encode())
    return digest.hexdigest()[:16]


def layer_dir(requirements: Path = REQUIREMENTS, out_root: Path = OUT_ROOT) -> Path:
    """Where the layer for the current inputs lives (built or not)."""
    return out_root / input_hash(requirements)


def is_built(directory: Path) -> bool:
    return (directory / COMPLETE).is_file() and (directory / "python").is_dir()


def pip_install(requirements: Path, target: Path) -> None:
    env = {name: os.environ[name] for name in _PASSED_ENV if name in os.environ}
    env |= {"PIP_CONFIG_FILE": os.devnull, "PYTHONNOUSERSITE": "1"}
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        *PIP_TARGET_ARGS,
        f"--target={target}",
        f"--requirement={requirements}",
    ]
    result = subprocess.run(command, env=env, check=False)  # noqa: S603 - our own argv
    if result.returncode != 0:
        raise LayerBuildError(f"pip install failed (exit {result.returncode}): {' '.join(command)}")


def build(
    requirements: Path = REQUIREMENTS,
    out_root: Path = OUT_ROOT,
    *,
    install: Installer = pip_install,
    limit_mb: int = LIMIT_MB,
) -> tuple[Path, bool]:
    """The layer directory for ``requirements`` and whether this call built it."""
    final = layer_dir(requirements, out_root)
    if is_built(final):
        return final, False
    out_root.mkdir(parents=True, exist_ok=True)
    partial = out_root / f".{final.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(final, ignore_errors=True)  # a directory without its marker is a leftover
    try:
        install(requirements, partial / "python")
        ok, line = check(partial, limit_mb)
        if not ok:
            raise LayerBuildError(line)
        marker = {
            "inputs": final.name,
            "requirements": requirements.read_text().splitlines(),
            "pip": list(PIP_TARGET_ARGS),
            "unzipped_bytes": unzipped_bytes(partial),
        }
        (partial / COMPLETE).write_text(json.dumps(marker, indent=2) + "\n")
        partial.rename(final)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    for other in out_root.iterdir():
        if other != final and other.is_dir():
            shutil.rmtree(other, ignore_errors=True)
    return final, True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--print-dir", action="store_true", help="print the layer directory")
    parser.add_argument("--out-root", type=Path, default=OUT_ROOT)
    parser.add_argument("--limit-mb", type=int, default=LIMIT_MB)
    args = parser.parse_args(argv)
    if args.print_dir:
        directory = layer_dir(REQUIREMENTS, args.out_root)
        if not is_built(directory):
            print(f"{directory}: not built (run `make layer`)", file=sys.stderr)
            return 1
        print(directory.resolve())
        return 0
    started = time.monotonic()
    try:
        directory, built = build(REQUIREMENTS, args.out_root, limit_mb=args.limit_mb)
    except LayerBuildError as exc:
        print(f"deps layer: {exc}", file=sys.stderr)
        return 1
    how = f"built in {time.monotonic() - started:.0f} s" if built else "up to date, nothing to do"
    size = unzipped_bytes(directory) / MB
    print(f"deps layer {directory.name}: {how}; {size:.1f} MB unzipped (limit {args.limit_mb} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
