"""Load and validate the YAML configuration, reporting every problem with file and key path.

Where the files are: ``$MAXTRADER_CONFIG_DIR`` when it is set (a Lambda can point it at a
directory of its own), else the ``configs/`` directory inside the installed package, which a
wheel and the Lambda layer carry as package data (the repository's ``configs/`` links to it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from maxtrader.config.safety import SafetyConfig
from maxtrader.config.stage import StageConfig
from maxtrader.config.strategies import StrategiesConfig
from maxtrader.domain.errors import ConfigError

ModelT = TypeVar("ModelT", bound=BaseModel)

PACKAGE_CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
CONFIG_DIR_ENV = "MAXTRADER_CONFIG_DIR"


def default_config_dir() -> Path:
    """``$MAXTRADER_CONFIG_DIR`` when set, else the package's own configs/ (not checked here:
    ``resolve_config_dir`` says what is missing)."""
    override = os.environ.get(CONFIG_DIR_ENV)
    return Path(override) if override else PACKAGE_CONFIG_DIR


def resolve_config_dir(config_dir: Path | None = None) -> Path:
    """The directory to load from: ``config_dir`` when given, else ``default_config_dir()``.

    A directory that does not exist is a ConfigError naming what was tried. A set but wrong
    ``$MAXTRADER_CONFIG_DIR`` never falls back to the package's files: the override was meant.
    """
    if config_dir is not None:
        if not config_dir.is_dir():
            raise ConfigError([f"{config_dir}: config directory not found"])
        return config_dir
    override = os.environ.get(CONFIG_DIR_ENV)
    if override is not None:
        if not override.strip():
            raise ConfigError([f"${CONFIG_DIR_ENV} is set but empty: unset it or name a directory"])
        if not Path(override).is_dir():
            raise ConfigError(
                [
                    f"{override}: config directory not found (tried ${CONFIG_DIR_ENV}; "
                    f"the package's {PACKAGE_CONFIG_DIR} is not used while it is set)"
                ]
            )
        return Path(override)
    if not PACKAGE_CONFIG_DIR.is_dir():
        raise ConfigError(
            [
                f"{PACKAGE_CONFIG_DIR}: config directory not found (tried the package's own "
                f"configs, and ${CONFIG_DIR_ENV} is not set): was the package built without "
                "its package data?"
            ]
        )
    return PACKAGE_CONFIG_DIR


@dataclass(frozen=True, slots=True)
class AppConfig:
    safety: SafetyConfig
    strategies: StrategiesConfig
    stage: StageConfig | None


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML silently keeps the last one)."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return dict(loader.construct_pairs(node, deep=True))


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _mapping_without_duplicates,
)


def _describe(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "missing required key"
    message = error["msg"].removeprefix("Value error, ")
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"wrong type: {message} (got {error['input']!r})"
    if kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
        return f"out of range: {message} (got {error['input']!r})"
    return message


def _key_path(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if p != "[key]"]
    return ".".join(parts) if parts else "(top level)"


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read ({exc.strerror})"]) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(unknown position)"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{path}: {where}: invalid YAML: {problem}"]) from None
    return {} if data is None else data


def _load(path: Path, model: type[ModelT]) -> ModelT:
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: (top level): expected a mapping, got {type(data).__name__}"])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            [f"{path}: {_key_path(e['loc'])}: {_describe(e)}" for e in exc.errors()]
        ) from None


def load_safety(config_dir: Path | None = None) -> SafetyConfig:
    return _load(resolve_config_dir(config_dir) / "safety.yaml", SafetyConfig)


def load_strategies(config_dir: Path | None = None) -> StrategiesConfig:
    return _load(resolve_config_dir(config_dir) / "strategies.yaml", StrategiesConfig)


def load_stage(stage: str, config_dir: Path | None = None) -> StageConfig:
    path = resolve_config_dir(config_dir) / "stages" / f"{stage}.yaml"
    config = _load(path, StageConfig)
    if config.name != stage:
        raise ConfigError([f"{path}: name: is {config.name!r} but the file is for stage {stage!r}"])
    return config


def load_config(config_dir: Path | None = None, stage: str | None = None) -> AppConfig:
    """Load every file, collecting the problems of all of them before raising."""
    config_dir = resolve_config_dir(config_dir)
    problems: list[str] = []
    loaded: dict[str, Any] = {}
    steps: dict[str, Any] = {
        "safety": lambda: load_safety(config_dir),
        "strategies": lambda: load_strategies(config_dir),
    }
    if stage is not None:
        steps["stage"] = lambda: load_stage(stage, config_dir)
    for name, step in steps.items():
        try:
            loaded[name] = step()
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return AppConfig(loaded["safety"], loaded["strategies"], loaded.get("stage"))
