"""The vendor's push message for a minute aggregate (Polygon/Massive "AM" events) -> ``Bar``.

    MinuteAggregate.model_validate(obj)            # one event, strict
    parse_minute_aggregates(payload) -> list[MinuteAggregate]
    MinuteAggregate.to_bar() -> Bar

Fields: ``ev`` (must be "AM"), ``sym``, ``v`` (volume of the minute), ``av`` (accumulated day
volume), ``op`` (official open of the day), ``vw`` (VWAP of the minute), ``o c h l``, ``a``
(the day's VWAP), ``z`` (average trade size), ``s``/``e`` (start/end, epoch milliseconds).
Types are strict (a price sent as text is rejected), prices finite and positive, ``h >= l``
with ``o`` and ``c`` inside, ``s`` on a whole minute and ``e - s`` exactly one minute. Fields
the vendor may add later (``otc``, ``dv``...) are ignored.

``parse_minute_aggregates`` takes the JSON array a socket frame carries, skips "status" events
and raises ``DataError`` naming the event's index and the offending field.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from maxtrader.domain.errors import DataError
from maxtrader.domain.models import Bar, Price, Symbol

MINUTE_MS = 60_000
# Epoch milliseconds between 2000 and 2100: anything else is a unit mistake (s or ns).
EpochMs = Annotated[int, Field(ge=946_684_800_000, lt=4_102_444_800_000)]
Amount = Annotated[float, Field(ge=0, allow_inf_nan=False)]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class MinuteAggregate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)

    ev: Literal["AM"]
    sym: Symbol
    v: Amount
    av: Amount
    op: Price
    vw: Price
    o: Price
    c: Price
    h: Price
    low: Price = Field(alias="l")
    a: Price
    z: Amount
    s: EpochMs
    e: EpochMs

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.h < self.low:
            raise ValueError(f"h ({self.h}) is below l ({self.low})")
        if not self.low <= self.o <= self.h:
            raise ValueError(f"o ({self.o}) is outside [l {self.low}, h {self.h}]")
        if not self.low <= self.c <= self.h:
            raise ValueError(f"c ({self.c}) is outside [l {self.low}, h {self.h}]")
        if self.s % MINUTE_MS:
            raise ValueError(f"s ({self.s}) is not on a whole minute")
        if self.e - self.s != MINUTE_MS:
            raise ValueError(f"e - s is {self.e - self.s} ms, not one minute")
        return self

    @property
    def start(self) -> datetime:
        return _EPOCH + timedelta(milliseconds=self.s)

    def to_bar(self) -> Bar:
        return Bar(
            symbol=self.sym,
            ts=self.start,
            open=self.o,
            high=self.h,
            low=self.low,
            close=self.c,
            volume=self.v,
            minutes=1,
            vwap=self.vw,
        )


def parse_minute_aggregates(payload: str | bytes | list[Any]) -> list[MinuteAggregate]:
    """A socket frame (a JSON array of events, or one event) -> its minute aggregates."""
    if isinstance(payload, str | bytes):
        try:
            payload = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as exc:
            raise DataError(f"push message is not JSON: {exc}") from exc
    events = payload if isinstance(payload, list) else [payload]
    out: list[MinuteAggregate] = []
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise DataError(f"push event {index}: not an object but {type(event).__name__}")
        if event.get("ev") == "status":
            continue
        try:
            out.append(MinuteAggregate.model_validate(event))
        except ValidationError as exc:
            raise DataError(f"push event {index}: {_describe(exc)}") from exc
    return out


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        message = str(error["msg"]).removeprefix("Value error, ")
        where = ".".join(str(p) for p in error["loc"])
        problems.append(f"field '{where}': {message}" if where else message)
    return "; ".join(problems)
