"""DynamoDB ``StateStore`` (live): one table, conditional transactions, consistent reads.

- ``snapshot`` is one TransactGetItems (strongly consistent and serializable across items);
  ``control_state`` one BatchGetItem (strongly consistent per item, half the read units: what
  is decided from it is written conditioned on what was read).
- ``reserve`` is one TransactWriteItems whose conditions re-check the kill switch, safe mode,
  every breaker's pause and the counted limits (positions, exposure, trade frequency, daily
  trades global and per strategy, duplicate signal): concurrent invocations cannot both take the
  last slot, and either everything (ticket, counters, guard, audit) is written or nothing.
- A write of one item is one conditional PutItem or UpdateItem (atomic by itself, half a
  transaction's write units); a write with its audit records is one transaction.
- Every botocore error becomes ``StateUnavailableError`` (the engine rejects with
  ``state_unavailable``); a failed condition becomes ``StateConflictError`` (re-read, re-decide).
  The requests themselves are ``dynamodb_state_table.StateTable``'s.

The item layout is in ``maxtrader.state_schema`` and docs/safety-layer.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import boto3
from botocore.config import Config

from maxtrader import state_schema as schema
from maxtrader.adapters import dynamodb_equity_items as equity_items
from maxtrader.adapters import dynamodb_items as items
from maxtrader.adapters.dynamodb_items import n, s, ts_value
from maxtrader.adapters.dynamodb_reservation import GUARD_NAMES, guard_ops
from maxtrader.adapters.dynamodb_state_table import CONFLICT_CODES, Cancelled, StateTable
from maxtrader.adapters.dynamodb_ticket_index import ticket_record
from maxtrader.domain.models import AuditRecord
from maxtrader.domain.safety.state import (
    BreakerName,
    BreakerState,
    ControlState,
    FillApplication,
    HealthState,
    HighWaterMark,
    PortfolioState,
    Reservation,
    Snapshot,
    SnapshotKeys,
    StateConflictError,
    SwitchName,
    SwitchState,
    Ticket,
    exposure_cents,
)

# Fail fast rather than hang a Lambda: one retry, short timeouts; the engine then fails closed.
# The read timeout can be raised (MAXTRADER_AWS_READ_TIMEOUT_SECONDS, validated with the function
# environment): the test suite does, because a local emulator on a loaded machine is slow.
READ_TIMEOUT_ENV = "MAXTRADER_AWS_READ_TIMEOUT_SECONDS"
CLIENT_CONFIG = Config(
    retries={"max_attempts": 2, "mode": "standard"},
    connect_timeout=2,
    read_timeout=float(os.environ.get(READ_TIMEOUT_ENV, "3")),
)


class DynamoDBStateStore(StateTable):
    @classmethod
    def create(cls, table_name: str, *, region: str | None = None) -> DynamoDBStateStore:
        """A store on a new client (AWS_ENDPOINT_URL, if set, points it at an emulator)."""
        client = boto3.client("dynamodb", region_name=region, config=CLIENT_CONFIG)
        return cls(client, table_name)

    # --- reads ---------------------------------------------------------------------------------
    def snapshot(self, keys: SnapshotKeys) -> Snapshot:
        wanted = [
            schema.switch_key(SwitchName.KILL_SWITCH.value),
            schema.switch_key(SwitchName.SAFE_MODE.value),
            *(schema.breaker_key(name.value) for name in BreakerName),
            schema.PORTFOLIO_KEY,
            schema.entries_key(keys.day),
            schema.entries_key(keys.day, keys.strategy),
            schema.pnl_key(keys.day),
            schema.pnl_key(keys.week),
            schema.pnl_key(keys.month),
            schema.signal_key(keys.signal_id),
            schema.start_equity_key(keys.day),
            schema.HIGH_WATER_KEY,
        ]
        got = self._get_many(wanted)
        nb = len(BreakerName)

        def build() -> Snapshot:
            return Snapshot(
                kill_switch=items.switch_state(SwitchName.KILL_SWITCH, got[0]),
                safe_mode=items.switch_state(SwitchName.SAFE_MODE, got[1]),
                breakers=tuple(
                    items.breaker_state(name, got[2 + i]) for i, name in enumerate(BreakerName)
                ),
                portfolio=items.portfolio_state(got[2 + nb]),
                day_entries=items.entries(got[3 + nb]),
                strategy_entries=items.entries(got[4 + nb]),
                day_realized=items.realized(got[5 + nb]),
                week_realized=items.realized(got[6 + nb]),
                month_realized=items.realized(got[7 + nb]),
                signal_seen=got[8 + nb] is not None,
                start_of_day_equity=equity_items.start_equity(got[9 + nb], keys.day),
                high_water=equity_items.high_water(got[10 + nb]),
            )

        result: Snapshot = self._decode(build)
        return result

    def control_state(self, day: str) -> ControlState:
        wanted = [
            schema.switch_key(SwitchName.KILL_SWITCH.value),
            schema.switch_key(SwitchName.SAFE_MODE.value),
            *(schema.breaker_key(name.value) for name in BreakerName),
            schema.PORTFOLIO_KEY,
            schema.HIGH_WATER_KEY,
            schema.HEALTH_KEY,
            schema.pnl_key(day),
            schema.start_equity_key(day),
        ]
        got = self._batch_get(wanted)
        nb = len(BreakerName)

        def build() -> ControlState:
            return ControlState(
                day=day,
                kill_switch=items.switch_state(SwitchName.KILL_SWITCH, got[0]),
                safe_mode=items.switch_state(SwitchName.SAFE_MODE, got[1]),
                breakers=tuple(
                    items.breaker_state(name, got[2 + i]) for i, name in enumerate(BreakerName)
                ),
                portfolio=items.portfolio_state(got[2 + nb]),
                refused_marks=equity_items.refused_marks(got[2 + nb]),
                high_water=equity_items.high_water(got[3 + nb]),
                health=items.health_state(got[4 + nb]),
                day_realized=items.realized(got[5 + nb]),
                start_of_day_equity=equity_items.start_equity(got[6 + nb], day),
            )

        result: ControlState = self._decode(build)
        return result

    def switch(self, name: SwitchName) -> SwitchState:
        item = self._get(schema.switch_key(name.value))
        result: SwitchState = self._decode(lambda: items.switch_state(name, item))
        return result

    def breaker(self, name: BreakerName) -> BreakerState:
        item = self._get(schema.breaker_key(name.value))
        result: BreakerState = self._decode(lambda: items.breaker_state(name, item))
        return result

    def portfolio(self) -> PortfolioState:
        item = self._get(schema.PORTFOLIO_KEY)
        result: PortfolioState = self._decode(lambda: items.portfolio_state(item))
        return result

    def ticket(self, client_order_id: str) -> Ticket | None:
        item = self._get(schema.ticket_key(client_order_id))
        if item is None:
            return None
        result: Ticket = self._decode(lambda: items.ticket(item))
        return result

    def open_tickets(self) -> list[Ticket]:
        # The sparse LSI holds only tickets with a slot: the cost is theirs, not the history's.
        found = self._query(schema.TICKET_PK, IndexName=schema.OPEN_TICKETS_INDEX)
        result: list[Ticket] = self._decode(lambda: [items.ticket(i) for i in found])
        return result

    def health(self) -> HealthState:
        item = self._get(schema.HEALTH_KEY)
        result: HealthState = self._decode(lambda: items.health_state(item))
        return result

    def realized(self, period_key: str) -> float:
        item = self._get(schema.pnl_key(period_key))
        result: float = self._decode(lambda: items.realized(item))
        return result

    def day_entries(self, day: str, strategy: str | None = None) -> int:
        item = self._get(schema.entries_key(day, strategy))
        result: int = self._decode(lambda: items.entries(item))
        return result

    def audit_log(self, day: str) -> list[AuditRecord]:
        found = self._query(schema.audit_pk(day))
        result: list[AuditRecord] = self._decode(lambda: [items.audit_record(i) for i in found])
        return result

    def fill_applied(self, fill_id: str) -> bool:
        return self._get(schema.fill_key(fill_id)) is not None

    def start_of_day_equity(self, day: str) -> float | None:
        item = self._get(schema.start_equity_key(day))
        result: float | None = self._decode(lambda: equity_items.start_equity(item, day))
        return result

    def high_water_mark(self) -> HighWaterMark:
        item = self._get(schema.HIGH_WATER_KEY)
        result: HighWaterMark = self._decode(lambda: equity_items.high_water(item))
        return result

    def refused_marks(self) -> dict[str, str]:
        item = self._get(schema.PORTFOLIO_KEY)
        result: dict[str, str] = self._decode(lambda: equity_items.refused_marks(item))
        return result

    # --- writes --------------------------------------------------------------------------------
    def reserve(self, reservation: Reservation) -> None:
        r, g, k = reservation, reservation.guards, reservation.keys
        if min(g.max_slots, g.max_day_entries, g.max_strategy_entries) <= 0 or g.exposure_cap < 0:
            # A missing counter reads as "no condition to fail": never write against a zero limit.
            raise StateConflictError("a limit leaves no room", ("limit_zero",))
        now = ts_value(g.now)
        ops = guard_ops(self.table, reservation)
        guard = {
            "client_order_id": s(r.ticket.client_order_id),
            "reserved_at": now,
            schema.TTL_ATTRIBUTE: items.ttl(g.now, schema.GUARD_TTL_DAYS),
        }
        ops.append(self._put(schema.signal_key(k.signal_id), guard, "attribute_not_exists(pk)"))
        ops.append(
            self._put(
                schema.ticket_key(r.ticket.client_order_id),
                ticket_record(r.ticket),
                "attribute_not_exists(pk)",
            )
        )
        ops += self._audit_puts(r.audit)
        try:
            self._transact(ops)
        except Cancelled as exc:
            failed = tuple(
                name
                for name, code in zip(GUARD_NAMES, exc.codes, strict=False)
                if code in CONFLICT_CODES
            )
            raise StateConflictError("reservation guards failed", failed) from exc

    def update_ticket(
        self,
        ticket: Ticket,
        expected_version: int,
        *,
        slot_delta: int = 0,
        exposure_delta: float = 0.0,
        audit: Sequence[AuditRecord] = (),
    ) -> None:
        ops = [self._ticket_put(ticket, expected_version)]
        if slot_delta or exposure_delta:
            ops.append(
                self._add(
                    schema.PORTFOLIO_KEY,
                    {"slots": slot_delta, "exposure": exposure_cents(exposure_delta)},
                )
            )
        self._transact(ops + self._audit_puts(audit))

    def _ticket_put(self, ticket: Ticket, expected_version: int) -> Any:
        return self._put(
            schema.ticket_key(ticket.client_order_id),
            ticket_record(ticket),
            "version = :v",
            **{":v": n(expected_version)},
        )

    def apply_fill(self, application: FillApplication) -> bool:
        a = application
        guard = {
            "ticket": s(a.ticket.client_order_id),
            schema.TTL_ATTRIBUTE: items.ttl(a.ticket.reserved_at, schema.GUARD_TTL_DAYS),
        }
        ops = [
            self._put(schema.fill_key(a.fill_id), guard, "attribute_not_exists(pk)"),
            self._ticket_put(a.ticket, a.expected_version),
            *(
                self._add(schema.pnl_key(period), {"realized": a.realized})
                for period in (a.day, a.week, a.month)
            ),
        ]
        deltas = {
            "slots": a.slot_delta,
            "exposure": exposure_cents(a.exposure_delta),
            "unrealized": a.unrealized_delta,
        }
        if any(deltas.values()):
            ops.append(self._add(schema.PORTFOLIO_KEY, deltas))
        if a.loss_at is not None:
            ops.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": self._key(schema.breaker_key(BreakerName.RAPID_LOSS.value)),
                        # The version moves too: a concurrent put_breaker re-reads the events.
                        "UpdateExpression": "SET events = list_append(if_not_exists(events, :none),"
                        " :event) ADD version :one",
                        "ExpressionAttributeValues": {
                            ":none": {"L": []},
                            ":event": {"L": [ts_value(a.loss_at)]},
                            ":one": n(1),
                        },
                    }
                }
            )
        try:
            self._transact(ops + self._audit_puts(a.audit))
        except Cancelled as exc:
            if exc.codes and exc.codes[0] == "ConditionalCheckFailed":
                return False  # this fill id was applied before: nothing written now either
            raise StateConflictError("ticket changed while applying a fill") from exc
        return True

    def put_switch(
        self, state: SwitchState, expected_version: int, audit: Sequence[AuditRecord] = ()
    ) -> None:
        k = schema.switch_key(state.name.value)
        put = self._versioned_put(k, items.switch_item(state), expected_version)
        self._transact([put, *self._audit_puts(audit)])

    def put_breaker(
        self, state: BreakerState, expected_version: int, audit: Sequence[AuditRecord] = ()
    ) -> None:
        k = schema.breaker_key(state.name.value)
        put = self._versioned_put(k, items.breaker_item(state), expected_version)
        self._transact([put, *self._audit_puts(audit)])

    def put_health(self, state: HealthState, expected_version: int) -> None:
        put = self._versioned_put(schema.HEALTH_KEY, items.health_item(state), expected_version)
        self._transact([put])

    def put_start_of_day_equity(
        self, day: str, equity: float, audit: Sequence[AuditRecord] = ()
    ) -> bool:
        k = schema.start_equity_key(day)
        put = self._put(
            k,
            equity_items.start_equity_item(equity),
            "attribute_not_exists(pk)",
        )
        try:
            self._transact([put, *self._audit_puts(audit)])
        except Cancelled as exc:
            stored = self.start_of_day_equity(day)
            if stored == equity:
                return False
            raise StateConflictError(f"start-of-day equity of {day} is already {stored}") from exc
        return True

    def put_high_water_mark(
        self, state: HighWaterMark, expected_version: int, audit: Sequence[AuditRecord] = ()
    ) -> None:
        item = equity_items.high_water_item(state)
        put = self._versioned_put(schema.HIGH_WATER_KEY, item, expected_version)
        self._transact([put, *self._audit_puts(audit)])

    def update_marks(
        self,
        *,
        unrealized: float,
        marks: Mapping[str, float],
        equity: float,
        peak: float,
        reset_peak: bool = False,
        refused: Mapping[str, str] | None = None,
    ) -> None:
        values: dict[str, Any] = {
            ":zero": n(0),
            ":u": n(unrealized),
            ":m": {"M": {sym: n(float(p)) for sym, p in marks.items()}},
            ":e": n(equity),
            ":p": n(peak),
        }
        # The counters are created too (at 0) when a mark comes first: a present portfolio
        # item always carries them, so one without them is corrupt (the decoder fails closed).
        expr = (
            "SET unrealized = :u, marks = :m, equity = :e, peak = :p,"
            " slots = if_not_exists(slots, :zero), exposure = if_not_exists(exposure, :zero)"
        )
        if refused is not None:
            expr += ", refused = :r"
            values[":r"] = equity_items.refused_value(refused)
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Key": self._key(schema.PORTFOLIO_KEY),
            "UpdateExpression": expr,
            "ExpressionAttributeValues": values,
        }
        if not reset_peak:
            kwargs["ConditionExpression"] = "attribute_not_exists(peak) OR peak <= :p"
        self._call("update_item", **kwargs)

    def append_audit(self, records: Sequence[AuditRecord]) -> None:
        puts = self._audit_puts(records)
        for start in range(0, len(puts), 100):  # a transaction holds at most 100 items
            self._transact(puts[start : start + 100])
