"""What a Lambda handler reads from its environment: one typed, frozen model, validated once.

    function_env() -> FunctionEnv              # os.environ, read on first use, then reused
    parse_function_env(environ) -> FunctionEnv # the same from any mapping (tests, tools)
    FunctionEnv.for_stage(stage).to_environ()  # what the CDK stack sets on each function

Every variable is ``MAXTRADER_<FIELD>`` (``MAXTRADER_STATE_TABLE``...). A missing required one,
a malformed value or an unknown ``MAXTRADER_*`` name (a typo would otherwise leave a default in
force) is a ``ConfigError`` listing every problem at once, each naming its variable. Other
variables (``AWS_REGION``, ``PATH``...) are not this model's business.

Not core: it reads ``os.environ``. The values derive from the stage config
(``StageConfig.resources``), so the stack and the handlers agree on every name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from maxtrader.config.stage import StageConfig, StageName
from maxtrader.domain.errors import ConfigError

PREFIX = "MAXTRADER_"

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_AWS_HOST = re.compile(r"^sqs\.[a-z]{2}(-gov)?-[a-z]+-\d\.amazonaws\.com(\.cn)?$")
_QUEUE_PATH = re.compile(r"^/\d{12}/[A-Za-z0-9_-]{1,75}(\.fifo)?$")


def _queue_url(value: str) -> str:
    """An SQS queue URL: https on an AWS SQS host, or a local emulator on a loopback address."""
    parts = urlsplit(value)
    local = parts.hostname in _LOOPBACK
    if not (parts.scheme == "https" or (local and parts.scheme == "http")):
        raise ValueError("must be an https URL (http only on a loopback address)")
    if not local and not _AWS_HOST.match(parts.netloc):
        raise ValueError(
            f"host {parts.netloc!r} is not an SQS endpoint (sqs.<region>.amazonaws.com)"
        )
    if not _QUEUE_PATH.match(parts.path) or parts.query or parts.fragment:
        raise ValueError("path must be /<12-digit account>/<queue name>")
    return value


def _emulator_url(value: str) -> str:
    """A vendor endpoint override: only ever a local emulator (tests, ``maxtrader simulate``).

    A deployed function talks to the vendor's own host, chosen by the adapter (paper or live):
    an override to any other host would send keys and orders somewhere nobody reviewed."""
    parts = urlsplit(value)
    if parts.scheme != "http" or parts.hostname not in _LOOPBACK:
        raise ValueError("must be http://127.0.0.1:<port> (an emulator on a loopback address)")
    if parts.path.rstrip("/") or parts.query or parts.fragment or parts.username:
        raise ValueError("must be a bare base URL (no path, query or credentials)")
    return value.rstrip("/")


def _directory(value: object) -> Path:
    # Path("") is the working directory: an empty or relative value is a mistake, not a default.
    if not isinstance(value, str | Path) or not str(value).strip():
        raise ValueError("must name a directory")
    path = Path(value)
    if not path.is_absolute():
        raise ValueError(f"{value} is not an absolute path")
    if not path.is_dir():
        raise ValueError(f"{value} is not a directory")
    return path


TableName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{3,255}$")]
TopicArn = Annotated[
    str,
    Field(
        pattern=r"^arn:aws(-cn|-us-gov)?:sns:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:[A-Za-z0-9_-]{1,256}$"
    ),
]
QueueUrl = Annotated[str, AfterValidator(_queue_url)]
SecretName = Annotated[
    str,
    Field(
        pattern=r"^(arn:aws(-cn|-us-gov)?:secretsmanager:[a-z0-9-]+:\d{12}:secret:)?"
        r"[A-Za-z0-9/_+=.@-]{1,512}$"
    ),
]
ConfigDir = Annotated[Path, BeforeValidator(_directory)]
EmulatorUrl = Annotated[str, AfterValidator(_emulator_url)]


def _seconds(value: object) -> float:
    # The environment holds text; a strict model would refuse "3" as a float.
    try:
        return float(value) if isinstance(value, str) else value  # type: ignore[return-value]
    except ValueError:
        raise ValueError(f"{value!r} is not a number of seconds") from None


Seconds = Annotated[float, BeforeValidator(_seconds), Field(gt=0, le=60, allow_inf_nan=False)]


class FunctionEnv(BaseModel):
    """The environment of every MaxTrader function (each reads the fields it needs)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    stage: StageName
    state_table: TableName
    idempotency_table: TableName
    alerts_topic_arn: TopicArn
    bars_queue_url: QueueUrl  # ingest -> signals
    signal_queue_url: QueueUrl  # signals -> execute
    alpaca_secret_name: SecretName
    massive_secret_name: SecretName
    webhook_secret_name: SecretName
    config_dir: ConfigDir | None = None  # default: the package's own configs
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    trading_mode: Literal["paper", "live"] = "paper"  # live only when a stage says so
    # How long one AWS call may take before the caller fails closed (adapters/dynamodb_store.py).
    aws_read_timeout_seconds: Seconds = 3.0
    # Local emulators only (tests, ``maxtrader simulate``); never set by the stack.
    alpaca_url_override: EmulatorUrl | None = None
    massive_base_url: EmulatorUrl | None = None
    # How long the broker may take to answer, against the emulator only: a simulated timeout
    # (the emulator holding an answer) then costs this, not the real 10 s, of wall clock.
    emulator_broker_read_timeout_seconds: Seconds | None = None

    @field_validator("emulator_broker_read_timeout_seconds")
    @classmethod
    def _emulator_timeout_needs_the_emulator(
        cls, value: float | None, info: ValidationInfo
    ) -> float | None:
        if value is not None and not info.data.get("alpaca_url_override"):
            raise ValueError("applies to the Alpaca emulator only (set alpaca_url_override)")
        return value

    @property
    def live(self) -> bool:
        return self.trading_mode == "live"

    @classmethod
    def for_stage(cls, stage: StageConfig, *, config_dir: Path | None = None) -> Self:
        """The environment the stack gives a stage's functions."""
        names = stage.resources
        return cls(
            stage=stage.name,
            state_table=names.state_table,
            idempotency_table=names.idempotency_table,
            alerts_topic_arn=names.alerts_topic_arn,
            bars_queue_url=names.bars_queue_url,
            signal_queue_url=names.signal_queue_url,
            alpaca_secret_name=names.alpaca_secret,
            massive_secret_name=names.massive_secret,
            webhook_secret_name=names.webhook_secret,
            config_dir=config_dir,
            log_level=stage.log_level,
            trading_mode=stage.trading_mode,
        )

    def to_environ(self) -> dict[str, str]:
        """Variable -> value, as a Lambda's environment holds them (unset optionals left out)."""
        return {variable(name): str(value) for name, value in self if value is not None}


def variable(field: str) -> str:
    """The environment variable of a ``FunctionEnv`` field."""
    return PREFIX + field.upper()


VARIABLES: dict[str, str] = {variable(name): name for name in FunctionEnv.model_fields}


def parse_function_env(environ: Mapping[str, str]) -> FunctionEnv:
    """Validate ``environ``'s ``MAXTRADER_*`` variables; every problem names its variable."""
    problems = [
        f"{name}: unknown variable (known: {', '.join(sorted(VARIABLES))})"
        for name in sorted(environ)
        if name.startswith(PREFIX) and name not in VARIABLES
    ]
    values = {field: environ[name] for name, field in VARIABLES.items() if name in environ}
    try:
        env = FunctionEnv.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            name = variable(str(error["loc"][0])) if error["loc"] else "(environment)"
            if error["type"] == "missing":
                problems.append(f"{name}: missing (required)")
            else:
                message = str(error["msg"]).removeprefix("Value error, ")
                problems.append(f"{name}: {message} (got {environ.get(name, '')!r})")
    if problems:
        raise ConfigError(problems)
    return env


@lru_cache(maxsize=1)
def function_env() -> FunctionEnv:
    """The process's environment, validated on first use (a Lambda's init) and then reused:
    a warm container does not re-read it. (``function_env.cache_clear()`` for tests.)"""
    return parse_function_env(os.environ)
