"""configs/stages/<stage>.yaml: where and how one deployment runs.

``StageConfig.resources`` derives the names the CDK stack gives the stage's resources
(``maxtrader-<stage>-state``, ...), so that infra and the handlers' environment
(``maxtrader.function_env``) are built from one definition and cannot disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, model_validator

from maxtrader.config.base import ClockTime, ConfigModel, PositiveInt

# Contacts no real operator would use: the shipped files carry these until someone fills them in.
_PLACEHOLDER_EMAIL = re.compile(r"@example\.(com|org|net)$|^changeme@", re.IGNORECASE)
_PLACEHOLDER_PHONE = re.compile(r"^\+1555555\d{4}$|^\+10{10}$")
# Account ids of documentation and of the shipped files: one digit twelve times, or 123456789012.
_PLACEHOLDER_ACCOUNT = re.compile(r"^(\d)\1{11}$|^123456789012$")

Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
E164Phone = Annotated[str, Field(pattern=r"^\+[1-9]\d{7,14}$")]
StageName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,20}$")]
AwsRegion = Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")]


def _https_url(value: str) -> str:
    """An https URL with a host and no credentials (SNS delivers alerts to it)."""
    parts = urlsplit(value)
    if parts.scheme != "https":
        raise ValueError(f"{value!r} is not an https URL (alerts never travel in clear text)")
    if not parts.hostname:
        raise ValueError(f"{value!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{value!r} carries credentials: keep them out of the stage file")
    return value


HttpsUrl = Annotated[str, Field(max_length=2048), AfterValidator(_https_url)]


class AwsTarget(ConfigModel):
    account: Annotated[str, Field(pattern=r"^\d{12}$")]
    region: AwsRegion

    @property
    def partition(self) -> str:
        if self.region.startswith("cn-"):
            return "aws-cn"
        return "aws-us-gov" if "-gov-" in self.region else "aws"

    @property
    def domain(self) -> str:
        return "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"


class AlpacaSettings(ConfigModel):
    live: bool = False  # paper unless a stage says otherwise, explicitly
    secret_name: Annotated[str, Field(min_length=1)]


class MassiveSettings(ConfigModel):
    secret_name: Annotated[str, Field(min_length=1)]


class AlertContacts(ConfigModel):
    emails: list[Email] = Field(default_factory=list)
    sms: list[E164Phone] = Field(default_factory=list)
    # HTTPS endpoints (a monitoring or chat tool) subscribed to the alerts topic.
    webhooks: list[HttpsUrl] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_webhooks(self) -> Self:
        if len(set(self.webhooks)) != len(self.webhooks):
            raise ValueError("webhooks must not repeat")
        return self


class Schedules(ConfigModel):
    """New York times and cadences of the EventBridge schedules."""

    premarket: ClockTime = time(9, 0)
    regime_every_minutes: PositiveInt = 5
    monitor_every_minutes: PositiveInt = 1
    health_every_minutes: PositiveInt = 1
    eod_before_close_minutes: PositiveInt = 15


@dataclass(frozen=True, slots=True)
class ResourceNames:
    """What the stack names a stage's resources, and the handlers read from their environment."""

    state_table: str
    idempotency_table: str  # Powertools idempotency records
    alerts_topic: str
    alerts_topic_arn: str
    bars_queue: str  # FIFO: ingest -> signals, a symbol's bars in order, a bar sent once
    bars_queue_url: str
    signal_queue: str  # FIFO: signals -> execute, a symbol's signals in order, a signal id once
    signal_queue_url: str
    alpaca_secret: str
    massive_secret: str
    webhook_secret: str  # the relay's HMAC key for the ingest URL


class StageConfig(ConfigModel):
    name: StageName
    aws: AwsTarget
    alpaca: AlpacaSettings
    massive: MassiveSettings
    symbols: Annotated[list[Annotated[str, Field(pattern=r"^[A-Z]{1,6}$")]], Field(min_length=1)]
    alerts: AlertContacts = AlertContacts()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    schedules: Schedules = Schedules()
    # How long a warm function reuses a secret before reading it again (0: every call). An
    # authentication failure re-reads it at once whatever this says (force_fetch).
    secrets_max_age_seconds: Annotated[int, Field(ge=0, le=3600)] = 300

    @model_validator(mode="after")
    def _unique_symbols(self) -> Self:
        if len(set(self.symbols)) != len(self.symbols):
            raise ValueError("symbols must not repeat")
        return self

    @property
    def trading_mode(self) -> Literal["paper", "live"]:
        return "live" if self.alpaca.live else "paper"

    @property
    def resources(self) -> ResourceNames:
        prefix = f"maxtrader-{self.name}"
        region, account = self.aws.region, self.aws.account
        topic, queue, bars = f"{prefix}-alerts", f"{prefix}-signals.fifo", f"{prefix}-bars.fifo"
        sqs = f"https://sqs.{region}.{self.aws.domain}/{account}"
        return ResourceNames(
            state_table=f"{prefix}-state",
            idempotency_table=f"{prefix}-idempotency",
            alerts_topic=topic,
            alerts_topic_arn=f"arn:{self.aws.partition}:sns:{region}:{account}:{topic}",
            bars_queue=bars,
            bars_queue_url=f"{sqs}/{bars}",
            signal_queue=queue,
            signal_queue_url=f"{sqs}/{queue}",
            alpaca_secret=self.alpaca.secret_name,
            massive_secret=self.massive.secret_name,
            webhook_secret=f"maxtrader/{self.name}/webhook",
        )

    def placeholder_contacts(self) -> list[str]:
        """Obviously placeholder alert contacts (synth warns, a production deploy refuses)."""
        found = [e for e in self.alerts.emails if _PLACEHOLDER_EMAIL.search(e)]
        found += [p for p in self.alerts.sms if _PLACEHOLDER_PHONE.match(p)]
        if not self.alerts.emails and not self.alerts.sms:
            found.append("(no alert contacts at all)")
        return found

    def placeholder_account(self) -> str | None:
        """The AWS account id when it is an obvious placeholder (synth warns, a production
        deploy refuses), else None."""
        account = self.aws.account
        return account if _PLACEHOLDER_ACCOUNT.match(account) else None
