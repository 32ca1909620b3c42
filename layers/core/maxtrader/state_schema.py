"""The DynamoDB state table's key design, defined once.

The CDK stack (infra/) builds the table from these names and the tests create their moto table
from the synthesized template, so code, infrastructure and tests cannot drift apart.
See docs/safety-layer.md for the item layout.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final

from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.strategy_names import KNOWN_STRATEGIES

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
# HEALTH                  STATE                broker_failures, checked_at (last change), version
# DAY#<date>              ENTRIES              entries today (all strategies)
# DAY#<date>              ENTRIES#<strategy>   entries today of one strategy
# DAY#<date>              START_EQUITY         the start-of-day equity (pre-market run), write-once
# PORTFOLIO               HWM                  the high-water mark and its drawdown stop
# PNL#<period>            REALIZED             realized P&L of a day, ISO week or month
# SIGNAL#<signal_id>      ENTRY                the duplicate-signal guard
# TICKET                  <client_order_id>    one entry's lifecycle and position; while it holds
#                                              a slot it carries open_ticket (the sparse LSI)
# FILL#<fill_id>          APPLIED              the fill-idempotency guard
# AUDIT#<date>            <iso ts>#<unique>    append-only audit record
# STRATEGIES              <symbol>             every strategy's state of one symbol: one map
#                                              state#<strategy> = {last_bar_ts, payload} each
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
HIGH_WATER_KEY: Final[Key] = ("PORTFOLIO", "HWM")
GUARD_TTL_DAYS: Final = 35  # signal and fill guards outlive any replay of a month's data
CLOSED_TICKET_TTL_DAYS: Final = 400  # the audit log keeps the history; tickets are working state

# open_tickets reads a sparse local secondary index: only tickets holding a slot carry its sort
# key attribute, and an LSI (unlike a GSI) answers strongly consistent queries, updated in the
# same write as the ticket itself. Its cost is the open tickets, never the closed history.
OPEN_TICKETS_INDEX: Final = "open_tickets"
OPEN_TICKET_ATTRIBUTE: Final = "open_ticket"  # the client order id, on open tickets only

# A symbol's strategies step the same bars in the same invocation: their states are one item,
# read in one request and saved in one conditional write (each state keeps its own condition).
STRATEGY_STATES_PK: Final = "STRATEGIES"
STRATEGY_STATE_PREFIX: Final = "state#"  # + the strategy's name: that strategy's state attribute
REGIME_PK: Final = "REGIME"
REGIME_TTL_DAYS: Final = 35
BAR_PREFIX: Final = "BAR#"
ALERT_PREFIX: Final = "ALERT#"
ALERT_SK: Final = "COOLDOWN"


# Key parts are checked where keys are built: a counter keyed by free text (a misspelt strategy, a
# date in another format) would be a fresh, empty counter, i.e. a limit that silently resets.
SWITCH_NAMES: Final = frozenset({"kill_switch", "safe_mode"})
BREAKER_NAMES: Final = frozenset({"rapid_loss", "error_rate", "drawdown"})
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_PERIOD = re.compile(r"\d{4}-\d{2}-\d{2}|\d{4}-W\d{2}|\d{4}-\d{2}")
MAX_ID_LENGTH: Final = 256


def _one_of(kind: str, value: str, known: frozenset[str]) -> str:
    if value not in known:
        raise InvalidInputError(f"{kind} {value!r:.80} is not one of {', '.join(sorted(known))}")
    return value


def _matching(kind: str, value: str, pattern: re.Pattern[str], shape: str) -> str:
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise InvalidInputError(f"{kind} {value!r:.80} is not {shape}")
    return value


def _id(kind: str, value: str) -> str:
    """Ids we or the broker made: non-empty, bounded, printable (no newline or NUL in a key)."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_LENGTH or not value.isprintable():
        raise InvalidInputError(
            f"{kind} {value!r:.80} is not 1-{MAX_ID_LENGTH} printable characters"
        )
    return value


def switch_key(name: str) -> Key:
    return (CONTROL_PK, _one_of("switch", name, SWITCH_NAMES))


def breaker_key(name: str) -> Key:
    return (BREAKER_PK, _one_of("breaker", name, BREAKER_NAMES))


def entries_key(day: str, strategy: str | None = None) -> Key:
    pk = f"DAY#{_matching('trading date', day, _DAY, 'YYYY-MM-DD')}"
    if strategy is None:
        return (pk, "ENTRIES")
    return (pk, f"ENTRIES#{_one_of('strategy', strategy, KNOWN_STRATEGIES)}")


def start_equity_key(day: str) -> Key:
    return (f"DAY#{day}", "START_EQUITY")


def pnl_key(period: str) -> Key:
    shape = "a New York day, ISO week or month (YYYY-MM-DD, YYYY-Www, YYYY-MM)"
    return (f"PNL#{_matching('period', period, _PERIOD, shape)}", "REALIZED")


def signal_key(signal_id: str) -> Key:
    return (f"SIGNAL#{_id('signal id', signal_id)}", "ENTRY")


def ticket_key(client_order_id: str) -> Key:
    return (TICKET_PK, _id("client_order_id", client_order_id))


def fill_key(fill_id: str) -> Key:
    return (f"FILL#{_id('fill id', fill_id)}", "APPLIED")


def audit_pk(day: str) -> str:
    return f"AUDIT#{_matching('trading date', day, _DAY, 'YYYY-MM-DD')}"


def strategy_states_key(symbol: str) -> Key:
    return (STRATEGY_STATES_PK, _id("symbol", symbol))


def strategy_state_attribute(strategy: str) -> str:
    return f"{STRATEGY_STATE_PREFIX}{_one_of('strategy', strategy, KNOWN_STRATEGIES)}"


def regime_key(day: str) -> Key:
    return (REGIME_PK, _matching("trading date", day, _DAY, "YYYY-MM-DD"))


def bar_pk(symbol: str) -> str:
    return f"{BAR_PREFIX}{_id('symbol', symbol)}"


def bar_sk(start: datetime) -> str:
    """Fixed-width UTC ISO time: strings sort as the instants do, so a range is a key condition."""
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def alert_key(dedup_key: str) -> Key:
    # ``Alert`` bounds the key (MAX_ALERT_KEY_BYTES, longer than an id): not re-checked here.
    return (f"{ALERT_PREFIX}{dedup_key}", ALERT_SK)
