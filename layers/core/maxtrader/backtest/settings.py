"""Backtest-only settings, and ``--set key=value`` overrides on the frozen config models.

Dotted keys address one of three roots: ``safety.*`` (SafetyConfig), ``strategies.*``
(StrategiesConfig) and ``backtest.*`` (BacktestSettings below). Values are parsed as YAML scalars
(``true``, ``1.5``, ``option``); ``HH:MM`` stays a string so time fields read it. The models are
re-validated as a whole, so every rule of the config files applies to overrides too; a bad key or
value raises OverrideError naming the key, and nothing is changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError

from maxtrader.config.base import ConfigModel, NonNegativeFloat, PositiveFloat
from maxtrader.config.safety import SafetyConfig
from maxtrader.config.strategies import StrategiesConfig
from maxtrader.domain.errors import MaxTraderError


class BacktestSettings(ConfigModel):
    initial_equity: PositiveFloat = 100_000.0
    # Per-share slippage added to (buys) or taken from (sells) equity fills; default 1 cent.
    slippage: dict[str, NonNegativeFloat] = Field(
        default_factory=lambda: {"SPY": 0.01, "QQQ": 0.01}
    )
    default_slippage: NonNegativeFloat = 0.01
    # Regime input: the prior session's daily VIX close (the spec's backtest default).
    regime_source: Literal["prior_close"] = "prior_close"
    # The drawdown breaker measures from a persisted peak and re-trips at every mark while
    # equity is below it: live, entries stay paused until an operator resets the peak. "never"
    # replays exactly that; "session" plays an operator who resets it at every open (audited).
    drawdown_peak_reset: Literal["never", "session"] = "never"
    # Option strikes are synthesized on this grid (SPY/QQQ list $1 strikes).
    strike_step: Annotated[float, Field(gt=0, le=50)] = 1.0
    # Daily expiries (SPY/QQQ have listed every weekday since 2022): 0DTE when min_dte is 0.
    expiry_weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)

    def slippage_for(self, symbol: str) -> float:
        return self.slippage.get(symbol, self.default_slippage)


@dataclass(frozen=True, slots=True)
class RunConfig:
    """Everything a backtest run is configured by."""

    safety: SafetyConfig
    strategies: StrategiesConfig
    backtest: BacktestSettings


class OverrideError(MaxTraderError, ValueError):
    """A ``--set`` key or value the config models refuse; the message names the key."""


_ROOTS = ("safety", "strategies", "backtest")
_HHMM = re.compile(r"^\d{1,2}:\d{2}$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$")


def parse_assignment(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise OverrideError(f"{text!r}: expected key=value (e.g. strategies.wave_renko.min_rr=2)")
    if not _KEY.match(key) or key.split(".")[0] not in _ROOTS:
        raise OverrideError(
            f"{key}: unknown key (keys start with one of {', '.join(_ROOTS)}, dotted)"
        )
    return key, value.strip()


def parse_value(raw: str) -> Any:
    if _HHMM.match(raw):
        return raw
    try:
        return yaml.safe_load(raw) if raw else ""
    except yaml.YAMLError:
        return raw


def apply_overrides(base: RunConfig, assignments: Iterable[str | tuple[str, Any]]) -> RunConfig:
    """A new RunConfig with every ``key=value`` applied; the base is untouched."""
    dumped: dict[str, dict[str, Any]] = {
        "safety": base.safety.model_dump(),
        "strategies": base.strategies.model_dump(),
        "backtest": base.backtest.model_dump(),
    }
    touched: dict[str, list[str]] = {root: [] for root in _ROOTS}
    for item in assignments:
        key, value = parse_assignment(item) if isinstance(item, str) else (item[0], str(item[1]))
        parts = key.split(".")
        node: Any = dumped[parts[0]]
        for i, part in enumerate(parts[1:-1], start=1):
            if not isinstance(node, dict) or part not in node:
                raise OverrideError(f"{key}: unknown key ({'.'.join(parts[: i + 1])} not found)")
            node = node[part]
            if not isinstance(node, dict):
                raise OverrideError(f"{key}: {'.'.join(parts[: i + 1])} is not a section")
        leaf = parts[-1]
        if isinstance(node.get(leaf), dict):
            raise OverrideError(f"{key}: is a section; set one of its keys")
        node[leaf] = parse_value(value)
        touched[parts[0]].append(key)
    models: dict[str, Any] = {}
    for root, model in (
        ("safety", SafetyConfig),
        ("strategies", StrategiesConfig),
        ("backtest", BacktestSettings),
    ):
        try:
            models[root] = model.model_validate(dumped[root])
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                where = ".".join([root, *(str(p) for p in err["loc"])])
                message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
                problems.append(f"{where}: {message.removeprefix('Value error, ')}")
            named = ", ".join(touched[root]) or root
            raise OverrideError(f"invalid --set ({named}): " + "; ".join(problems)) from None
    return RunConfig(models["safety"], models["strategies"], models["backtest"])
