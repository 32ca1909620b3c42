"""The DynamoDB state table's key design, defined once.

The CDK stack (infra/) builds the table from these names and the tests create their moto table
from the synthesized template, so code, infrastructure and tests cannot drift apart.
See docs/safety-layer.md for the item layout.
"""

from __future__ import annotations

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
# DAY#<date>              START_EQUITY         the start-of-day equity (pre-market run), write-once
# PORTFOLIO               HWM                  the high-water mark and its drawdown stop
# PNL#<period>            REALIZED             realized P&L of a day, ISO week or month
# SIGNAL#<signal_id>      ENTRY                the duplicate-signal guard
# TICKET                  <client_order_id>    one entry's lifecycle and position
# FILL#<fill_id>          APPLIED              the fill-idempotency guard
# AUDIT#<date>            <iso ts>#<unique>    append-only audit record
# Dates, weeks and months are New York ones (domain/clock.py: trading_date, iso_week, month_key).

Key = tuple[str, str]

CONTROL_PK: Final = "CONTROL"
BREAKER_PK: Final = "BREAKER"
TICKET_PK: Final = "TICKET"
PORTFOLIO_KEY: Final[Key] = ("PORTFOLIO", "STATE")
HEALTH_KEY: Final[Key] = ("HEALTH", "STATE")
HIGH_WATER_KEY: Final[Key] = ("PORTFOLIO", "HWM")
GUARD_TTL_DAYS: Final = 35  # signal and fill guards outlive any replay of a month's data
CLOSED_TICKET_TTL_DAYS: Final = 400  # the audit log keeps the history; tickets are working state


def switch_key(name: str) -> Key:
    return (CONTROL_PK, name)


def breaker_key(name: str) -> Key:
    return (BREAKER_PK, name)


def entries_key(day: str, strategy: str | None = None) -> Key:
    return (f"DAY#{day}", "ENTRIES" if strategy is None else f"ENTRIES#{strategy}")


def start_equity_key(day: str) -> Key:
    return (f"DAY#{day}", "START_EQUITY")


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
