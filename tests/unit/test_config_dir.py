"""Where the configuration is read from: the package's own configs/, or $MAXTRADER_CONFIG_DIR.

The Lambda layer and a wheel carry the YAML as package data, so an installed package finds its
configuration with no source tree around; an operator's override always wins, and a directory
that is not there is a ConfigError naming what was tried (never a silent fallback).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import maxtrader
from maxtrader.config import load_config, load_safety, load_strategies, loader
from maxtrader.config.loader import (
    CONFIG_DIR_ENV,
    PACKAGE_CONFIG_DIR,
    default_config_dir,
    resolve_config_dir,
)
from maxtrader.domain.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_DIR_ENV, raising=False)


@pytest.fixture
def edited_copy(tmp_path: Path) -> Path:
    """A copy of the shipped configs whose session starts entries at 10:00, not 09:45."""
    target = tmp_path / "operator-configs"
    shutil.copytree(PACKAGE_CONFIG_DIR, target)
    strategies = target / "strategies.yaml"
    text = strategies.read_text()
    assert 'entry_start: "09:45"' in text
    strategies.write_text(text.replace('entry_start: "09:45"', 'entry_start: "10:00"', 1))
    return target


class TestPackageConfigs:
    def test_the_default_is_the_packages_own_configs(self) -> None:
        package = Path(maxtrader.__file__).resolve().parent
        assert package / "configs" == PACKAGE_CONFIG_DIR
        assert default_config_dir() == resolve_config_dir() == PACKAGE_CONFIG_DIR
        assert load_config(stage="production").stage is not None

    def test_the_repositorys_configs_is_the_same_directory(self) -> None:
        assert (REPO / "configs").resolve() == PACKAGE_CONFIG_DIR.resolve()
        assert load_safety(REPO / "configs") == load_safety()

    def test_every_shipped_file_is_declared_as_package_data(self) -> None:
        """pyproject's globs match every YAML file, so a wheel carries them all."""
        import tomllib

        globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
            "package-data"
        ]["maxtrader"]
        package = PACKAGE_CONFIG_DIR.parent
        declared = {p for g in globs for p in package.glob(g)}
        assert declared == set(PACKAGE_CONFIG_DIR.rglob("*.yaml"))
        assert len(declared) >= 4


class TestOverride:
    def test_the_environment_variable_wins(
        self, monkeypatch: pytest.MonkeyPatch, edited_copy: Path
    ) -> None:
        monkeypatch.setenv(CONFIG_DIR_ENV, str(edited_copy))
        assert resolve_config_dir() == edited_copy
        assert load_strategies().session.entry_start.hour == 10
        assert load_config(stage="staging").strategies.session.entry_start.hour == 10

    def test_an_explicit_directory_beats_the_environment(
        self, monkeypatch: pytest.MonkeyPatch, edited_copy: Path
    ) -> None:
        monkeypatch.setenv(CONFIG_DIR_ENV, str(edited_copy))
        assert load_strategies(PACKAGE_CONFIG_DIR).session.entry_start.minute == 45

    def test_a_missing_override_is_an_error_not_a_fallback(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        missing = tmp_path / "nowhere"
        monkeypatch.setenv(CONFIG_DIR_ENV, str(missing))
        for load in (load_safety, load_strategies, load_config, resolve_config_dir):
            with pytest.raises(ConfigError) as caught:
                load()
            (problem,) = caught.value.problems
            assert problem.startswith(f"{missing}: config directory not found")
            assert CONFIG_DIR_ENV in problem and str(PACKAGE_CONFIG_DIR) in problem

    @pytest.mark.parametrize("value", ["", "  "])
    def test_an_empty_override_is_an_error(
        self, monkeypatch: pytest.MonkeyPatch, value: str
    ) -> None:
        monkeypatch.setenv(CONFIG_DIR_ENV, value)
        with pytest.raises(ConfigError, match=r"MAXTRADER_CONFIG_DIR is set but empty"):
            load_safety()

    def test_an_override_naming_a_file_is_not_a_directory(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv(CONFIG_DIR_ENV, str(PACKAGE_CONFIG_DIR / "safety.yaml"))
        with pytest.raises(ConfigError, match=r"safety\.yaml: config directory not found"):
            load_safety()


class TestMissingDirectories:
    def test_a_missing_explicit_directory_is_named(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError) as caught:
            load_config(tmp_path / "gone", stage="production")
        assert caught.value.problems == [f"{tmp_path / 'gone'}: config directory not found"]

    def test_a_package_without_its_configs_says_so(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        stripped = tmp_path / "site-packages" / "maxtrader" / "configs"
        monkeypatch.setattr(loader, "PACKAGE_CONFIG_DIR", stripped)
        with pytest.raises(ConfigError) as caught:
            load_strategies()
        (problem,) = caught.value.problems
        assert problem.startswith(f"{stripped}: config directory not found")
        assert "package data" in problem and CONFIG_DIR_ENV in problem


# --- a real, non-editable install with no source tree around --------------------------------

PROBE = """
import json, os, sys
import maxtrader
from maxtrader.config import load_config
from maxtrader.config.loader import resolve_config_dir
from maxtrader.domain.errors import ConfigError
try:
    app = load_config(stage="production")
    start = app.strategies.session.entry_start
    print(json.dumps({"package": maxtrader.__file__, "dir": str(resolve_config_dir()),
                      "stage": app.stage.name, "entry_start": str(start)}))
except ConfigError as exc:
    print(json.dumps({"package": maxtrader.__file__, "error": exc.problems}))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install --no-deps --target`` of a copy of the package's sources (the copy keeps the
    build's scratch files out of the checkout). Offline with the environment's own setuptools
    when it is recent enough (pyproject's license field needs >= 77), else pip builds in
    isolation from its configured indexes."""
    source = tmp_path_factory.mktemp("source")
    shutil.copy(REPO / "pyproject.toml", source)
    shutil.copy(REPO / "README.md", source)
    shutil.copytree(
        REPO / "layers" / "core",
        source / "layers" / "core",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    target = tmp_path_factory.mktemp("target")
    install = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target"]
    offline = subprocess.run(
        [*install, str(target), "--no-build-isolation", "--no-index", str(source)],
        capture_output=True,
        timeout=600,
        check=False,
    )
    if offline.returncode != 0:
        shutil.rmtree(target)
        subprocess.run(
            [*install, str(target), str(source)], check=True, capture_output=True, timeout=600
        )
    shutil.rmtree(source)  # nothing of the source tree is left to be found
    return target


def probe(target: Path, cwd: Path, **env: str) -> dict[str, object]:
    environ = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", CONFIG_DIR_ENV}}
    environ.update(PYTHONPATH=str(target), **env)
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=cwd,
        env=environ,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    result: dict[str, object] = json.loads(out)
    assert str(result["package"]).startswith(str(target)), result  # the install, not a checkout
    return result


@pytest.mark.slow
class TestInstalledPackage:
    def test_loads_its_own_configs(self, installed: Path, tmp_path: Path) -> None:
        result = probe(installed, tmp_path)
        assert result["dir"] == str(installed / "maxtrader" / "configs")
        assert (result["stage"], result["entry_start"]) == ("production", "09:45:00")

    def test_the_override_wins_over_the_installed_configs(
        self, installed: Path, tmp_path: Path, edited_copy: Path
    ) -> None:
        result = probe(installed, tmp_path, **{CONFIG_DIR_ENV: str(edited_copy)})
        assert (result["dir"], result["entry_start"]) == (str(edited_copy), "10:00:00")

    def test_a_layer_without_configs_names_the_path_it_tried(
        self, installed: Path, tmp_path: Path
    ) -> None:
        stripped = tmp_path / "layer"
        shutil.copytree(installed, stripped, ignore=shutil.ignore_patterns("configs"))
        result = probe(stripped, tmp_path)
        errors = result["error"]
        assert isinstance(errors, list) and len(errors) == 1
        assert str(errors[0]).startswith(
            f"{stripped / 'maxtrader' / 'configs'}: config directory not"
        )
