"""The reservation's guards as DynamoDB transaction items (conditions + counter updates).

Kept apart from the store so the one place that encodes checks 1-3, 5-8 and 11 as condition
expressions can be read on its own. ``GUARD_NAMES`` names the items in order, so a cancelled
transaction's reasons say which guard failed.
"""

from __future__ import annotations

from typing import Any

from maxtrader import state_schema as schema
from maxtrader.adapters.dynamodb_items import EXPOSURE_ROUNDING, b, key, n, ts_value
from maxtrader.domain.safety.state import BreakerName, Reservation, SwitchName, exposure_cents

GUARD_NAMES = (
    "kill_switch",
    "safe_mode",
    *(f"circuit_breaker:{name.value}" for name in BreakerName),
    "drawdown_stop",
    "portfolio",  # positions, exposure and trade frequency share the portfolio item
    "daily_trades",
    "strategy_daily_trades",
    "duplicate_signal",
    "duplicate_order",
)


def guard_ops(table: str, reservation: Reservation) -> list[dict[str, Any]]:
    """ConditionChecks on the switches and breakers, conditional ADDs on the counters."""
    r, g, k = reservation, reservation.guards, reservation.keys
    now = ts_value(g.now)
    # Absent item: never set (off). A present one must say off; one without its flag fails.
    off = "attribute_not_exists(pk) OR #f = :false"
    ops: list[dict[str, Any]] = [
        {
            "ConditionCheck": {
                "TableName": table,
                "Key": key(*schema.switch_key(name.value)),
                "ConditionExpression": off,
                "ExpressionAttributeNames": {"#f": "on"},
                "ExpressionAttributeValues": {":false": b(False)},
            }
        }
        for name in (SwitchName.KILL_SWITCH, SwitchName.SAFE_MODE)
    ]
    ops += [
        {
            "ConditionCheck": {
                "TableName": table,
                "Key": key(*schema.breaker_key(name.value)),
                "ConditionExpression": "attribute_not_exists(#u) OR #u <= :now",
                "ExpressionAttributeNames": {"#u": "until"},
                "ExpressionAttributeValues": {":now": now},
            }
        }
        for name in BreakerName
    ]
    ops.append(
        {
            "ConditionCheck": {
                "TableName": table,
                "Key": key(*schema.HIGH_WATER_KEY),
                "ConditionExpression": "attribute_not_exists(#h) OR #h = :false",
                "ExpressionAttributeNames": {"#h": "halted"},
                "ExpressionAttributeValues": {":false": b(False)},
            }
        }
    )
    ops.append(
        {
            "Update": {
                "TableName": table,
                "Key": key(*schema.PORTFOLIO_KEY),
                "UpdateExpression": "ADD slots :one, exposure :loss SET last_entry_at = :now",
                # A present item must hold counters in range: a missing or negative one fails
                # the condition (the re-read then fails closed) instead of making room.
                "ConditionExpression": (
                    "(attribute_not_exists(pk) OR (slots >= :zero AND slots < :max_slots"
                    " AND exposure >= :floor AND exposure <= :cap))"
                    " AND (attribute_not_exists(last_entry_at) OR last_entry_at <= :cutoff)"
                ),
                "ExpressionAttributeValues": {
                    ":zero": n(0),
                    ":floor": n(-EXPOSURE_ROUNDING),
                    ":one": n(1),
                    ":loss": n(exposure_cents(r.ticket.max_loss)),
                    ":now": now,
                    ":max_slots": n(g.max_slots),
                    ":cap": n(g.exposure_cap),
                    ":cutoff": ts_value(g.last_entry_cutoff),
                },
            }
        }
    )
    for entries_key, limit in (
        (schema.entries_key(k.day), g.max_day_entries),
        (schema.entries_key(k.day, k.strategy), g.max_strategy_entries),
    ):
        ops.append(
            {
                "Update": {
                    "TableName": table,
                    "Key": key(*entries_key),
                    "UpdateExpression": "ADD entries :one",
                    "ConditionExpression": (
                        "attribute_not_exists(pk) OR (entries >= :zero AND entries < :max)"
                    ),
                    "ExpressionAttributeValues": {":zero": n(0), ":one": n(1), ":max": n(limit)},
                }
            }
        )
    return ops
