"""DynamoDB attribute values <-> the session store's values (strategy states, regime, bars).

The encoding follows dynamodb_items.py (instants as epoch microseconds, numbers from the float's
shortest repr). Decoders check every field they read and raise ``ItemShapeError`` naming the
item and the field; the store turns it into ``StateUnavailableError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import ValidationError

from maxtrader import state_schema as schema
from maxtrader.adapters.dynamodb_values import (
    Item,
    ItemShapeError,
    instant,
    key,
    n,
    req_num,
    s,
    ts_value,
    ttl,
    where,
)
from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.models import Bar, Regime
from maxtrader.domain.ports import StoredStrategyState
from maxtrader.domain.regime import RegimeState
from maxtrader.domain.strategy_names import KNOWN_STRATEGIES


def required(item: Mapping[str, Any], name: str, kind: str) -> Any:
    """The raw value of attribute ``name`` of DynamoDB type ``kind``, which must be there."""
    value = item.get(name)
    if not isinstance(value, Mapping) or kind not in value:
        raise ItemShapeError(f"item {where(item)}: attribute {name!r} is missing or not {kind}")
    return value[kind]


def required_instant(item: Mapping[str, Any], name: str) -> datetime:
    required(item, name, "N")
    when = instant(item, name)
    if when is None:  # unreachable after required(), but the type checker cannot know it
        raise ItemShapeError(f"item {where(item)}: attribute {name!r} is missing")
    return when


def _invalid(item: Mapping[str, Any], exc: ValidationError) -> ItemShapeError:
    fields = ", ".join(".".join(str(p) for p in e["loc"]) or "?" for e in exc.errors())
    return ItemShapeError(
        f"item {where(item)}: invalid field(s) {fields}: {exc.errors()[0]['msg']}"
    )


# --- strategy states (one item per symbol; see state_schema) -----------------------------------
def strategy_state_value(state: StoredStrategyState) -> dict[str, Any]:
    """The map one strategy's state is stored as, under ``strategy_state_attribute``."""
    return {"M": {"last_bar_ts": ts_value(state.last_bar_ts), "payload": s(state.payload)}}


def strategy_states_update(symbol: str, states: Sequence[StoredStrategyState]) -> dict[str, Any]:
    """The UpdateItem arguments (but the table) that save ``states`` of ``symbol`` together:
    each set only if its strategy's stored ``last_bar_ts`` is earlier or absent, the other
    strategies' attributes left as they are."""
    names = {"#sym": "symbol", "#ts": "last_bar_ts"}
    values: dict[str, Any] = {":sym": s(symbol)}
    sets, conditions = ["#sym = :sym"], []
    for i, state in enumerate(states):
        names[f"#s{i}"] = schema.strategy_state_attribute(state.strategy)
        values[f":s{i}"] = strategy_state_value(state)
        values[f":t{i}"] = ts_value(state.last_bar_ts)
        sets.append(f"#s{i} = :s{i}")
        conditions.append(f"(attribute_not_exists(#s{i}) OR #s{i}.#ts < :t{i})")
    return {
        "Key": key(*schema.strategy_states_key(symbol)),
        "UpdateExpression": "SET " + ", ".join(sets),
        "ConditionExpression": " AND ".join(conditions),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def strategy_states(item: Mapping[str, Any], symbol: str) -> dict[str, StoredStrategyState]:
    """Every strategy state an item of ``symbol`` holds: strategy -> state."""
    stored = required(item, "symbol", "S")
    if stored != symbol:
        raise ItemShapeError(f"item {where(item)}: holds the symbol {stored!r}, not {symbol!r}")
    out: dict[str, StoredStrategyState] = {}
    for attribute in item:
        if not attribute.startswith(schema.STRATEGY_STATE_PREFIX):
            continue
        strategy = attribute.removeprefix(schema.STRATEGY_STATE_PREFIX)
        if strategy not in KNOWN_STRATEGIES:
            raise ItemShapeError(f"item {where(item)}: attribute {attribute!r}: unknown strategy")
        fields = required(item, attribute, "M")
        # The map's fields read as document paths, so an error names e.g. state#x.payload.
        view = {"pk": item.get("pk"), "sk": item.get("sk")}
        view |= {f"{attribute}.{k}": v for k, v in fields.items()}
        try:
            out[strategy] = StoredStrategyState(
                strategy=strategy,
                symbol=symbol,
                last_bar_ts=required_instant(view, f"{attribute}.last_bar_ts"),
                payload=str(required(view, f"{attribute}.payload", "S")),
            )
        except InvalidInputError as exc:
            raise ItemShapeError(f"item {where(item)}: {attribute}: {exc}") from exc
    return out


# --- regime -------------------------------------------------------------------------------------
def regime_item(state: RegimeState) -> Item:
    # Kept a few weeks after its session: a post-mortem can still read what the detector saw.
    session_start = datetime.combine(state.day, time(0), NEW_YORK).astimezone(UTC)
    try:
        item: Item = {
            "day": s(state.day.isoformat()),
            "regime": s(state.regime.value),
            "reason": s(state.reason),
            schema.TTL_ATTRIBUTE: ttl(session_start, schema.REGIME_TTL_DAYS),
        }
        if state.anchor is not None:
            item["anchor"] = s(state.anchor.value)
        if state.vix is not None:
            item["vix"] = n(float(state.vix))
        if state.observed_at is not None:
            item["observed_at"] = ts_value(state.observed_at)
    except ValueError as exc:  # a non-finite VIX: the detector never keeps one
        raise InvalidInputError(f"regime state of {state.day}: {exc}") from exc
    return item


def regime_state(item: Mapping[str, Any], day: date) -> RegimeState:
    stored_day = required(item, "day", "S")
    if stored_day != day.isoformat():
        raise ItemShapeError(f"item {where(item)}: holds the day {stored_day!r}, not {day}")
    anchor = item.get("anchor")
    vix = item.get("vix")
    try:
        return RegimeState(
            day=day,
            regime=Regime(required(item, "regime", "S")),
            anchor=None if anchor is None else Regime(required(item, "anchor", "S")),
            vix=None if vix is None else req_num(item, "vix"),
            observed_at=instant(item, "observed_at"),
            reason=required(item, "reason", "S"),
        )
    except ValidationError as exc:
        raise _invalid(item, exc) from exc
    except ValueError as exc:  # an unknown regime name
        raise ItemShapeError(f"item {where(item)}: {exc}") from exc


# --- bars ---------------------------------------------------------------------------------------
_PRICES = (("o", "open"), ("h", "high"), ("l", "low"), ("c", "close"), ("v", "volume"))


def bar_item(bar: Bar, expires_at: datetime) -> Item:
    item: Item = {
        "pk": s(schema.bar_pk(bar.symbol)),
        "sk": s(schema.bar_sk(bar.ts)),
        "ts": ts_value(bar.ts),
        **{short: n(float(getattr(bar, name))) for short, name in _PRICES},
        schema.TTL_ATTRIBUTE: n(int(expires_at.timestamp())),
    }
    if bar.vwap is not None:
        item["vwap"] = n(float(bar.vwap))
    return item


def bar(item: Mapping[str, Any], symbol: str) -> Bar:
    if required(item, "pk", "S") != schema.bar_pk(symbol):
        raise ItemShapeError(f"item {where(item)}: not a bar of {symbol}")
    start = required_instant(item, "ts")
    if schema.bar_sk(start) != required(item, "sk", "S"):
        raise ItemShapeError(f"item {where(item)}: ts {start.isoformat()} disagrees with its key")
    values: dict[str, Any] = {}
    for short, name in _PRICES:
        required(item, short, "N")
        values[name] = req_num(item, short)
    try:
        return Bar(
            symbol=symbol,
            ts=start,
            vwap=req_num(item, "vwap") if "vwap" in item else None,
            **values,
        )
    except ValidationError as exc:
        raise _invalid(item, exc) from exc


def bar_range_end(end: datetime) -> str:
    """The sort key of the last instant before ``end`` (BETWEEN is inclusive at both ends)."""
    return schema.bar_sk(end - timedelta(microseconds=1))
