"""configs/stages/<stage>.yaml: where and how one deployment runs."""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from maxtrader.config.base import ClockTime, ConfigModel, PositiveInt

# Contacts no real operator would use: the shipped files carry these until someone fills them in.
_PLACEHOLDER_EMAIL = re.compile(r"@example\.(com|org|net)$|^changeme@", re.IGNORECASE)
_PLACEHOLDER_PHONE = re.compile(r"^\+1555555\d{4}$|^\+10{10}$")

Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
E164Phone = Annotated[str, Field(pattern=r"^\+[1-9]\d{7,14}$")]


class AwsTarget(ConfigModel):
    account: Annotated[str, Field(pattern=r"^\d{12}$")]
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")]


class AlpacaSettings(ConfigModel):
    live: bool = False  # paper unless a stage says otherwise, explicitly
    secret_name: Annotated[str, Field(min_length=1)]


class MassiveSettings(ConfigModel):
    secret_name: Annotated[str, Field(min_length=1)]


class AlertContacts(ConfigModel):
    emails: list[Email] = Field(default_factory=list)
    sms: list[E164Phone] = Field(default_factory=list)


class Schedules(ConfigModel):
    """New York times and cadences of the EventBridge schedules."""

    premarket: ClockTime = time(9, 0)
    regime_every_minutes: PositiveInt = 5
    monitor_every_minutes: PositiveInt = 1
    health_every_minutes: PositiveInt = 1
    eod_before_close_minutes: PositiveInt = 15


class StageConfig(ConfigModel):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,20}$")]
    aws: AwsTarget
    alpaca: AlpacaSettings
    massive: MassiveSettings
    symbols: Annotated[list[Annotated[str, Field(pattern=r"^[A-Z]{1,6}$")]], Field(min_length=1)]
    alerts: AlertContacts = AlertContacts()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    schedules: Schedules = Schedules()

    @model_validator(mode="after")
    def _unique_symbols(self) -> Self:
        if len(set(self.symbols)) != len(self.symbols):
            raise ValueError("symbols must not repeat")
        return self

    @property
    def trading_mode(self) -> str:
        return "live" if self.alpaca.live else "paper"

    def placeholder_contacts(self) -> list[str]:
        """Obviously placeholder alert contacts (synth warns, a production deploy refuses)."""
        found = [e for e in self.alerts.emails if _PLACEHOLDER_EMAIL.search(e)]
        found += [p for p in self.alerts.sms if _PLACEHOLDER_PHONE.match(p)]
        if not self.alerts.emails and not self.alerts.sms:
            found.append("(no alert contacts at all)")
        return found
