"""DynamoDB attribute values: writers, and strict readers that range-check what they decode.

A reader never fills in a default for an attribute a present item lacks: the caller says whether
an attribute is required, and an absent required attribute, a value of the wrong type, a
non-finite number or one outside its range raises ``ItemShapeError`` naming the item, the
attribute and the value. The store turns that into ``StateUnavailableError`` (fail closed).

Instants are integer epoch microseconds (exact, and comparable in condition expressions); money is
a DynamoDB number written from the float's shortest repr.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from maxtrader.domain.errors import StateUnavailableError

T = TypeVar("T")

Item = dict[str, Any]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
# Nothing this code writes is stamped outside these years: anything else is a corrupt instant
# (a negative epoch would, for instance, read as a breaker pause that ended decades ago).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
_PYTHON_TYPES: dict[str, type] = {"S": str, "N": str, "BOOL": bool, "L": list, "M": dict}


class ItemShapeError(ValueError):
    """A stored item does not have the shape this code writes."""


def decoded(fn: Callable[[], T]) -> T:
    """``fn()``, a decoding of stored items: any bad shape is ``StateUnavailableError``."""
    try:
        return fn()
    except ItemShapeError as exc:
        raise StateUnavailableError(str(exc)) from exc
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        # A shape the decoders did not foresee: still a bad item, still fail closed.
        raise StateUnavailableError(f"item of unexpected shape: {exc!r}") from exc


# --- writers ---------------------------------------------------------------------------------
def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: float | int) -> dict[str, str]:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value} is not a storable number")
    return {"N": repr(value) if isinstance(value, float) else str(value)}


def b(value: bool) -> dict[str, bool]:
    return {"BOOL": value}


def micros(ts: datetime) -> int:
    return (ts - _EPOCH) // _US


def ts_value(ts: datetime) -> dict[str, str]:
    return n(micros(ts))


def ttl(ts: datetime, days: int) -> dict[str, str]:
    return n(int((ts + timedelta(days=days)).timestamp()))


def key(pk: str, sk: str) -> dict[str, dict[str, str]]:
    return {"pk": s(pk), "sk": s(sk)}


# --- readers ---------------------------------------------------------------------------------
def where(item: Mapping[str, Any]) -> str:
    try:
        return f"{item['pk']['S']}/{item['sk']['S']}"
    except (KeyError, TypeError):
        return "<no key>"


def bad(item: Mapping[str, Any], name: str, problem: str) -> ItemShapeError:
    return ItemShapeError(f"item {where(item)}: attribute {name!r} {problem}")


_MISSING = object()


def raw(item: Mapping[str, Any], name: str, kind: str, *, required: bool) -> Any:
    """The attribute's value of DynamoDB type ``kind``; None when absent and not required."""
    value = item.get(name, _MISSING)
    if value is _MISSING:
        if required:
            raise bad(item, name, "is missing")
        return None
    try:  # the common case first: boto3 hands back plain dicts (a hot path of every decision)
        got = value[kind]
    except (KeyError, TypeError, IndexError):
        raise bad(item, name, f"is not of type {kind}: {value!r:.80}") from None
    if type(got) is not _PYTHON_TYPES[kind]:
        raise bad(item, name, f"is not of type {kind}: {value!r:.80}")
    return got


def _finite(item: Mapping[str, Any], name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise bad(item, name, f"is not a number: {text!r:.40}") from None
    if not math.isfinite(value):
        raise bad(item, name, f"is not finite: {text!r:.40}")
    return value


def _number(
    item: Mapping[str, Any], name: str, text: str, minimum: float | None, positive: bool
) -> float:
    value = _finite(item, name, text)
    if positive and not value > 0:
        raise bad(item, name, f"must be positive, is {value!r}")
    if minimum is not None and value < minimum:
        raise bad(item, name, f"must be at least {minimum!r}, is {value!r}")
    return value


def opt_num(
    item: Mapping[str, Any], name: str, *, minimum: float | None = None, positive: bool = False
) -> float | None:
    """A finite number, at least ``minimum`` (strictly above 0 when ``positive``), or None."""
    text = raw(item, name, "N", required=False)
    return None if text is None else _number(item, name, text, minimum, positive)


def req_num(
    item: Mapping[str, Any], name: str, *, minimum: float | None = None, positive: bool = False
) -> float:
    return _number(item, name, raw(item, name, "N", required=True), minimum, positive)


def req_int(item: Mapping[str, Any], name: str, *, minimum: int = 0) -> int:
    """A whole number (DynamoDB may spell one ``3`` or ``3.0``), at least ``minimum``."""
    text = raw(item, name, "N", required=True)
    try:
        value = int(text)
    except ValueError:
        number = _finite(item, name, text)
        if not number.is_integer():
            raise bad(item, name, f"is not a whole number: {text!r:.40}") from None
        value = int(number)
    if value < minimum:
        raise bad(item, name, f"must be at least {minimum}, is {value}")
    return value


def req_text(item: Mapping[str, Any], name: str, *, non_empty: bool = False) -> str:
    value: str = raw(item, name, "S", required=True)
    if non_empty and not value.strip():
        raise bad(item, name, "is empty")
    return value


def opt_text(item: Mapping[str, Any], name: str) -> str | None:
    value: str | None = raw(item, name, "S", required=False)
    return value


def req_flag(item: Mapping[str, Any], name: str) -> bool:
    value: bool = raw(item, name, "BOOL", required=True)
    return value


def _instant_of(item: Mapping[str, Any], name: str, text: Any) -> datetime:
    if not isinstance(text, str):
        raise bad(item, name, f"holds an instant that is not a number: {text!r:.40}")
    try:
        when = _EPOCH + int(text) * _US
    except (ValueError, OverflowError):
        raise bad(item, name, f"is not a whole-microsecond instant: {text!r:.40}") from None
    if not EARLIEST <= when < LATEST:
        raise bad(item, name, f"holds an instant outside [{EARLIEST.year}, {LATEST.year}): {when}")
    return when


def opt_instant(item: Mapping[str, Any], name: str) -> datetime | None:
    text = raw(item, name, "N", required=False)
    return None if text is None else _instant_of(item, name, text)


def req_instant(item: Mapping[str, Any], name: str) -> datetime:
    return _instant_of(item, name, raw(item, name, "N", required=True))


def instant_list(item: Mapping[str, Any], name: str) -> tuple[datetime, ...]:
    """A required list of instants (each ``{"N": micros}``)."""
    values: list[Any] = raw(item, name, "L", required=True)
    out = []
    for value in values:
        if not isinstance(value, dict) or "N" not in value:
            raise bad(item, name, f"holds an element that is not an instant: {value!r:.40}")
        out.append(_instant_of(item, name, value["N"]))
    return tuple(out)


def instant(item: Mapping[str, Any], name: str) -> datetime | None:
    """An optional instant (kept under its old name for callers outside the codec)."""
    return opt_instant(item, name)
