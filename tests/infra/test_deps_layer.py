"""The dependency layer recipe: what it pins, how it caches, how it measures, what it refuses.

The build itself is exercised with an injected installer (no network); the real pip build is
``make layer`` (about 15-45 s here), and when it has been run the last tests check its content.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
DEPS = REPO / "layers" / "deps"
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath"}


def load(name: str) -> ModuleType:
    if str(DEPS) not in sys.path:
        sys.path.insert(0, str(DEPS))  # build.py imports layer_size beside it
    spec = importlib.util.spec_from_file_location(f"layer_{name}", DEPS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = load("build")
layer_size = load("layer_size")


def pins() -> dict[str, str]:
    pinned: dict[str, str] = {}
    for raw in (DEPS / "requirements.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version and re.fullmatch(r"[A-Za-z0-9.]+", version), f"not pinned: {line}"
            pinned[canonicalize_name(name)] = version
    return pinned


def test_every_runtime_dependency_is_pinned_within_its_range_except_the_runtimes_own() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pinned = pins()
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        if name in RUNTIME_PROVIDED:
            assert name not in pinned, f"{name} is the Lambda runtime's: keep it out of the layer"
            continue
        assert name in pinned, f"{name} (pyproject.toml) is missing from layers/deps"
        assert requirement.specifier.contains(pinned[name]), (name, pinned[name])
    assert not RUNTIME_PROVIDED & set(pinned)


def fake_installer(calls: list[Path], size: int = 1000) -> Callable[[Path, Path], None]:
    def install(requirements: Path, target: Path) -> None:
        calls.append(target)
        target.mkdir(parents=True)
        with (target / "blob.bin").open("wb") as blob:
            blob.truncate(size)  # sparse: the size without the disk

    return install


def test_a_second_build_with_the_same_inputs_does_nothing(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("pyyaml==6.0.4\n")
    calls: list[Path] = []
    first, built = build.build(requirements, tmp_path / "out", install=fake_installer(calls))
    assert built and len(calls) == 1
    marker = json.loads((first / build.COMPLETE).read_text())
    assert marker["unzipped_bytes"] == 1000
    again, built_again = build.build(requirements, tmp_path / "out", install=fake_installer(calls))
    assert (again, built_again, len(calls)) == (first, False, 1)


def test_changed_inputs_build_afresh_and_prune_the_old_layer(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("pyyaml==6.0.4\n")
    calls: list[Path] = []
    old, _ = build.build(requirements, tmp_path / "out", install=fake_installer(calls))
    requirements.write_text("pyyaml==6.0.3\n")
    new, built = build.build(requirements, tmp_path / "out", install=fake_installer(calls))
    assert built and new != old and len(calls) == 2
    assert not old.exists()
    assert [p.name for p in (tmp_path / "out").iterdir()] == [new.name]


def test_an_oversized_or_failed_build_leaves_nothing_that_looks_built(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("numpy==2.4.6\n")
    out = tmp_path / "out"
    with pytest.raises(build.LayerBuildError, match=r"OVER by 1\.0 MB"):
        build.build(requirements, out, install=fake_installer([], size=3_000_000), limit_mb=2)
    assert list(out.iterdir()) == []

    def failing(requirements: Path, target: Path) -> None:
        target.mkdir(parents=True)
        raise build.LayerBuildError("pip install failed (exit 1)")

    with pytest.raises(build.LayerBuildError, match="pip install failed"):
        build.build(requirements, out, install=failing)
    assert list(out.iterdir()) == []
    assert not build.is_built(build.layer_dir(requirements, out))


def test_the_hash_covers_the_pip_arguments(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("pyyaml==6.0.4\n")
    before = build.input_hash(requirements)
    monkeypatch.setattr(build, "PIP_TARGET_ARGS", (*build.PIP_TARGET_ARGS, "--python-version=3.14"))
    assert build.input_hash(requirements) != before


def test_pip_targets_lambda_arm64_python_313_wheels_only_from_a_clean_config() -> None:
    args = set(build.PIP_TARGET_ARGS)
    assert {
        "--platform=manylinux2014_aarch64",
        "--implementation=cp",
        "--python-version=3.13",
        "--only-binary=:all:",
        "--no-deps",
        "--no-compile",
    } <= args


def test_pip_runs_with_no_inherited_configuration(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: dict[str, object] = {}

    class Done:
        returncode = 0

    def run(command: list[str], *, env: dict[str, str], check: bool) -> Done:
        seen.update(command=command, env=env)
        return Done()

    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_CONSTRAINT", "/nonexistent")
    monkeypatch.setattr(build.subprocess, "run", run)
    build.pip_install(tmp_path / "r.txt", tmp_path / "python")
    env = seen["env"]
    assert isinstance(env, dict)
    assert env["PIP_CONFIG_FILE"] == os.devnull
    assert not {k for k in env if k.startswith("PIP_") and k != "PIP_CONFIG_FILE"}
    assert f"--target={tmp_path / 'python'}" in seen["command"]  # type: ignore[operator]


def test_layer_size_fails_over_the_limit_and_says_by_how_much(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "python").mkdir()
    with (tmp_path / "python" / "big.so").open("wb") as blob:
        blob.truncate(201 * layer_size.MB)
    (tmp_path / "python" / "link").symlink_to(tmp_path / "python" / "big.so")
    assert layer_size.main([str(tmp_path)]) == 1
    assert "201.0 MB unzipped (limit 200 MB): OVER by 1.0 MB" in capsys.readouterr().err
    assert layer_size.main([str(tmp_path), "--limit-mb", "250"]) == 0
    assert "201.0 MB unzipped (limit 250 MB)" in capsys.readouterr().out
    assert layer_size.main([str(tmp_path / "missing")]) == 2


AARCH64 = 183  # ELF e_machine of arm64


def elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", path
    return int.from_bytes(header[18:20], "little")


BUILT = build.layer_dir()
needs_built_layer = pytest.mark.skipif(
    not build.is_built(BUILT), reason="the dependency layer is built by `make layer`"
)


@needs_built_layer
def test_built_layer_holds_every_pin_for_cpython_313_on_arm64() -> None:
    site = BUILT / "python"
    installed = {
        canonicalize_name(m.group(1)): m.group(2)
        for d in site.glob("*.dist-info")
        if (m := re.fullmatch(r"(.+)-([^-]+)\.dist-info", d.name))
    }
    assert installed == pins()
    extensions = [p for p in site.rglob("*.so*") if p.is_file() and not p.is_symlink()]
    assert len(extensions) > 10  # numpy, pandas, pydantic-core, yaml...
    assert [p.name for p in extensions if elf_machine(p) != AARCH64] == []
    cpython = [p.name for p in extensions if ".cpython-" in p.name]
    assert cpython and all("cpython-313-aarch64" in name for name in cpython)
    assert not list(site.rglob("*.pyc")), "host bytecode would be dead weight on 3.13"
    ok, line = layer_size.check(BUILT)
    assert ok, line
