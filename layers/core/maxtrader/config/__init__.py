"""Typed configuration: YAML files loaded into frozen pydantic models that forbid unknown keys."""

from maxtrader.config.loader import AppConfig, load_config, load_safety, load_stage, load_strategies
from maxtrader.config.safety import Limits, SafetyConfig
from maxtrader.config.stage import StageConfig
from maxtrader.config.strategies import StrategiesConfig

__all__ = [
    "AppConfig",
    "Limits",
    "SafetyConfig",
    "StageConfig",
    "StrategiesConfig",
    "load_config",
    "load_safety",
    "load_stage",
    "load_strategies",
]
