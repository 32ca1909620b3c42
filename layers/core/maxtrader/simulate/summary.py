"""What the simulated day did, read back from where the system recorded it.

    summary = read_summary(store, day, alpaca, alerts, cash)

Everything here comes from the system's own records, never from a handler's return value: the
audit log in DynamoDB (``StateStore.audit_log``: regimes, signals, verdicts with every failing
check, fills, breaker trips and resets, reconciliations, kill-switch changes), the broker
emulator (its orders by ``client_order_id``, positions, equity) and the alerts the SNS topic
delivered. ``reconcile`` compares the store's open tickets with the broker's positions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from maxtrader.domain.models import AuditKind, AuditRecord
from maxtrader.simulate.live_log import regime_state


class OrderRow(BaseModel):
    model_config = ConfigDict(frozen=True)
    client_order_id: str
    symbol: str
    side: str
    qty: float
    status: str
    filled_qty: float = 0.0
    filled_avg_price: float | None = None


class Summary(BaseModel):
    """The JSON ``maxtrader simulate --json`` writes (with the run's own fields around it)."""

    model_config = ConfigDict(frozen=True)
    regime: list[dict[str, Any]] = Field(default_factory=list)  # each regime record, in order
    signals: int = 0
    approvals: int = 0
    rejections: dict[str, int] = Field(default_factory=dict)  # failing check -> count
    not_sent: int = 0
    orders: list[OrderRow] = Field(default_factory=list)
    fills: int = 0  # fill audit records (each a fill the store booked)
    filled_orders: int = 0  # emulator orders with a fill
    realized_pnl: float = 0.0  # the booked fills' realized P&L
    equity_change: float = 0.0  # broker equity at the end minus at the start
    breaker_events: list[dict[str, Any]] = Field(default_factory=list)
    kill_switch_events: list[dict[str, Any]] = Field(default_factory=list)
    alerts: list[str] = Field(default_factory=list)  # subjects, in delivery order
    positions_open_at_end: int = 0
    positions: dict[str, float] = Field(default_factory=dict)
    reconciliation: dict[str, Any] = Field(default_factory=dict)
    audit_records: dict[str, int] = Field(default_factory=dict)  # kind -> count
    duplicate_client_order_ids: list[str] = Field(default_factory=list)


def _of(records: Sequence[AuditRecord], kind: AuditKind) -> list[AuditRecord]:
    return [r for r in records if r.kind is kind]


def _order_row(order: dict[str, Any]) -> OrderRow:
    price = order.get("filled_avg_price")
    return OrderRow(
        client_order_id=str(order.get("client_order_id")),
        symbol=str(order.get("symbol")),
        side=str(order.get("side")),
        qty=float(order.get("qty") or 0),
        status=str(order.get("status")),
        filled_qty=float(order.get("filled_qty") or 0),
        filled_avg_price=None if price is None else float(price),
    )


def rejection_counts(verdicts: Sequence[AuditRecord]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for record in verdicts:
        if record.detail.get("approved") is False:
            failures = record.detail.get("failures") or []
            names = [f.get("name") for f in failures if isinstance(f, dict)]  # type: ignore[union-attr]
            counts.update(str(n) for n in names or ["(no check named)"])
    return dict(sorted(counts.items()))


def reconcile(open_tickets: dict[str, float], broker_positions: dict[str, float]) -> dict[str, Any]:
    """The store's open positions (symbol -> qty) against the broker's: equal, or each gap."""
    symbols = sorted(set(open_tickets) | set(broker_positions))
    gaps = {
        s: {"store": open_tickets.get(s, 0.0), "broker": broker_positions.get(s, 0.0)}
        for s in symbols
        if abs(open_tickets.get(s, 0.0) - broker_positions.get(s, 0.0)) > 1e-9
    }
    return {"ok": not gaps, "differences": gaps}


def read_summary(  # noqa: PLR0917 - each source the summary reads
    records: Sequence[AuditRecord],
    orders: Sequence[dict[str, Any]],
    positions: dict[str, float],
    open_tickets: dict[str, float],
    alerts: Sequence[dict[str, Any]],
    equity_change: float,
) -> Summary:
    verdicts = _of(records, AuditKind.VERDICT)
    fills = _of(records, AuditKind.FILL)
    rows = [_order_row(o) for o in orders]
    ids = Counter(r.client_order_id for r in rows)
    breakers = [r for r in records if r.kind in (AuditKind.BREAKER_TRIP, AuditKind.BREAKER_RESET)]
    switches = [r for r in records if r.kind in (AuditKind.KILL_SWITCH, AuditKind.SAFE_MODE)]
    held = {s: q for s, q in positions.items() if q}
    reconciliations = _of(records, AuditKind.RECONCILIATION)
    return Summary(
        regime=[
            {
                "ts": r.ts.isoformat(),
                "regime": state.get("regime"),
                "vix": state.get("vix"),
                "reason": state.get("reason"),
            }
            for r in _of(records, AuditKind.REGIME)
            for state in [regime_state(r.detail)]
        ],
        signals=len(_of(records, AuditKind.SIGNAL)),
        approvals=sum(1 for r in verdicts if r.detail.get("approved") is True),
        rejections=rejection_counts(verdicts),
        not_sent=len(_of(records, AuditKind.NOT_SENT)),
        orders=rows,
        fills=len(fills),
        filled_orders=sum(1 for r in rows if r.filled_qty > 0),
        realized_pnl=round(sum(_number(r.detail.get("realized")) for r in fills), 2),
        equity_change=round(equity_change, 2),
        breaker_events=[
            {
                "ts": r.ts.isoformat(),
                "event": r.kind.value,
                "breaker": r.subject,
                "reason": r.detail.get("reason"),
            }
            for r in breakers
        ],
        kill_switch_events=[
            {
                "ts": r.ts.isoformat(),
                "switch": r.subject,
                "actor": r.actor,
                "on": r.detail.get("on"),
            }
            for r in switches
        ],
        alerts=[str(a.get("Subject") or a.get("Message", ""))[:120] for a in alerts],
        positions_open_at_end=len(held),
        positions=held,
        reconciliation={
            **reconcile(open_tickets, held),
            "audit_records": len(reconciliations),
            "last": reconciliations[-1].detail if reconciliations else None,
        },
        audit_records=dict(sorted(Counter(r.kind.value for r in records).items())),
        duplicate_client_order_ids=sorted(i for i, n in ids.items() if n > 1),
    )


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0
