"""The DynamoDB state table's key design, defined once.

The CDK stack (infra/) builds the table from these names and the tests create their moto table
from the synthesized template, so code, infrastructure and tests cannot drift apart.
See docs/safety-layer.md for the item layout.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

PARTITION_KEY: Final = "pk"
SORT_KEY: Final = "sk"
KEY_TYPE: Final = "S"  # both keys are strings
TTL_ATTRIBUTE: Final = "expires_at"  # epoch seconds; idempotency and short-lived items expire
TABLE_LOGICAL_ID: Final = "StateTable"

# --- Item layout (one table; every key is a string; see docs/safety-layer.md) -----------------
# pk                      sk                   what
# CONTROL                 kill_switch|safe_mode on, automatic, actor, reason, changed_at, version
# BREAKER                 rapid_loss|...       until (epoch), tripped_at, reason, events, version
# PORTFOLIO               STATE                slots, exposure, last_entry_at, unrealized, peak...
# HEALTH                  STATE                broker_failures, checked_at, version
# DAY#<date>              ENTRIES              entries today (all strategies)
# DAY#<date>              ENTRIES#<strategy>   entries today of one strategy
# PNL#<period>            REALIZED             realized P&L of a day, ISO week or month
# SIGNAL#<signal_id>      ENTRY                the duplicate-signal guard
# TICKET                  <client_order_id>    one entry's lifecycle and position; while it holds
#                                              a slot it carries open_ticket (the sparse LSI)
# FILL#<fill_id>          APPLIED              the fill-idempotency guard
# AUDIT#<date>            <iso ts>#<unique>    append-only audit record
# STRATEGY#<strategy>     <symbol>             a strategy's serialized state, last_bar_ts
# REGIME                  <date>               the regime detector's state of a trading day
# BAR#<symbol>            <iso UTC start>      a stored minute bar (expires_at)
# ALERT#<dedup key>       COOLDOWN             the last send of an alert (expires_at)
# Dates, weeks and months are New York ones (domain/clock.py: trading_date, iso_week, month_key).

Key = tuple[str, str]

CONTROL_PK: Final = "CONTROL"
BREAKER_PK: Final = "BREAKER"
TICKET_PK: Final = "TICKET"
PORTFOLIO_KEY: Final[Key] = ("PORTFOLIO", "STATE")
HEALTH_KEY: Final[Key] = ("HEALTH", "STATE")
GUARD_TTL_DAYS: Final = 35  # signal and fill guards outlive any replay of a month's data
CLOSED_TICKET_TTL_DAYS: Final = 400  # the audit log keeps the history; tickets are working state

# open_tickets reads a sparse local secondary index: only tickets holding a slot carry its sort
# key attribute, and an LSI (unlike a GSI) answers strongly consistent queries, updated in the
# same write as the ticket itself. Its cost is the open tickets, never the closed history.
OPEN_TICKETS_INDEX: Final = "open_tickets"
OPEN_TICKET_ATTRIBUTE: Final = "open_ticket"  # the client order id, on open tickets only

STRATEGY_STATE_PREFIX: Final = "STRATEGY#"
REGIME_PK: Final = "REGIME"
REGIME_TTL_DAYS: Final = 35
BAR_PREFIX: Final = "BAR#"
ALERT_PREFIX: Final = "ALERT#"
ALERT_SK: Final = "COOLDOWN"


def switch_key(name: str) -> Key:
    return (CONTROL_PK, name)


def breaker_key(name: str) -> Key:
    return (BREAKER_PK, name)


def entries_key(day: str, strategy: str | None = None) -> Key:
    return (f"DAY#{day}", "ENTRIES" if strategy is None else f"ENTRIES#{strategy}")


def pnl_key(period: str) -> Key:
    return (f"PNL#{period}", "REALIZED")


def signal_key(signal_id: str) -> Key:
    return (f"SIGNAL#{signal_id}", "ENTRY")


def ticket_key(client_order_id: str) -> Key:
    return (TICKET_PK, client_order_id)


def fill_key(fill_id: str) -> Key:
    return (f"FILL#{fill_id}", "APPLIED")


def audit_pk(day: str) -> str:
    return f"AUDIT#{day}"


def strategy_state_key(strategy: str, symbol: str) -> Key:
    return (f"{STRATEGY_STATE_PREFIX}{strategy}", symbol)


def regime_key(day: str) -> Key:
    return (REGIME_PK, day)


def bar_pk(symbol: str) -> str:
    return f"{BAR_PREFIX}{symbol}"


def bar_sk(start: datetime) -> str:
    """Fixed-width UTC ISO time: strings sort as the instants do, so a range is a key condition."""
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def alert_key(dedup_key: str) -> Key:
    return (f"{ALERT_PREFIX}{dedup_key}", ALERT_SK)
