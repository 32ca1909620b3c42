"""Shared building blocks of the config models."""

from __future__ import annotations

from datetime import time
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _not_a_boolean(value: object) -> object:
    # pydantic reads true as 1 for a number, and YAML 1.1 reads yes/on as true: `min_rr: yes`
    # would quietly become 1.0 (looser than 1.5). A number must be written as a number.
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got the boolean {value}")
    return value


_Number = BeforeValidator(_not_a_boolean)
# A fraction written as a decimal: 0.02 means 2 %. Anything outside (0, 1] is a typo.
Fraction = Annotated[float, _Number, Field(gt=0, le=1, allow_inf_nan=False)]
PositiveFloat = Annotated[float, _Number, Field(gt=0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, _Number, Field(ge=0, allow_inf_nan=False)]
NonNegativeInt = Annotated[int, _Number, Field(ge=0)]
PositiveInt = Annotated[int, _Number, Field(gt=0)]


def _parse_hhmm(value: object) -> object:
    # YAML reads an unquoted 09:45 as the integer 585 (sexagesimal); insist on a quoted "HH:MM".
    if isinstance(value, str):
        try:
            hours, minutes = value.split(":")
            return time(int(hours), int(minutes))
        except ValueError as exc:
            raise ValueError(f'expected a quoted time "HH:MM", got {value!r}') from exc
    if isinstance(value, time):
        return value
    raise ValueError(f'expected a quoted time "HH:MM", got {value!r}')


ClockTime = Annotated[time, BeforeValidator(_parse_hhmm)]


class ConfigModel(BaseModel):
    """Frozen, unknown keys rejected, defaults validated too."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)
