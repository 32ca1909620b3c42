"""DynamoDB items of the figures the engine checks callers against: the start-of-day equity, the
high-water mark (with its drawdown stop) and the refused marks. Kept apart from
``dynamodb_items`` (the older items' codecs); the same rules: a value outside its range is an
``ItemShapeError`` (the store fails closed), never a default that loosens a limit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from maxtrader.adapters.dynamodb_values import (
    Item,
    ItemShapeError,
    b,
    n,
    opt_instant,
    req_int,
    req_text,
    s,
    ts_value,
)
from maxtrader.domain.safety.state import HighWaterMark


def _positive(item: Mapping[str, Any], name: str, where: str) -> float:
    try:
        value = float(item[name]["N"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ItemShapeError(f"{where}: {name!r} is not a number") from exc
    if not (math.isfinite(value) and value > 0):
        raise ItemShapeError(f"{where}: {name!r} must be finite and positive, got {value}")
    return value


def start_equity_item(equity: float) -> Item:
    return {"equity": n(equity)}


def start_equity(item: Mapping[str, Any] | None, day: str) -> float | None:
    if not item:
        return None
    return _positive(item, "equity", f"start-of-day equity of {day}")


def high_water_item(state: HighWaterMark) -> Item:
    item: Item = {
        "halted": b(state.halted),
        "reason": s(state.reason),
        "actor": s(state.actor),
        "version": n(state.version),
    }
    if state.value is not None:
        item["value"] = n(state.value)
    if state.changed_at is not None:
        item["changed_at"] = ts_value(state.changed_at)
    return item


def high_water(item: Mapping[str, Any] | None) -> HighWaterMark:
    if not item:
        return HighWaterMark()
    halted = item.get("halted")
    if not isinstance(halted, Mapping) or not isinstance(halted.get("BOOL"), bool):
        # A stop whose flag cannot be read is not "off": fail closed.
        raise ItemShapeError("high-water mark item: 'halted' is not a boolean")
    # Every writer writes reason, actor and version: a present item without them is corrupt.
    return HighWaterMark(
        value=_positive(item, "value", "high-water mark item") if "value" in item else None,
        halted=halted["BOOL"],
        reason=req_text(item, "reason"),
        actor=req_text(item, "actor", non_empty=True),
        changed_at=opt_instant(item, "changed_at"),
        version=req_int(item, "version", minimum=1),
    )


def refused_value(refused: Mapping[str, str]) -> dict[str, Any]:
    return {"M": {sym: s(reason) for sym, reason in refused.items()}}


def refused_marks(item: Mapping[str, Any] | None) -> dict[str, str]:
    raw = (item or {}).get("refused")
    if raw is None:
        return {}
    try:
        return {sym: str(v["S"]) for sym, v in raw["M"].items()}
    except (KeyError, TypeError, AttributeError) as exc:
        raise ItemShapeError("portfolio item: malformed 'refused' marks") from exc
