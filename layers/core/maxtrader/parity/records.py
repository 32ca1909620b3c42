"""The decisions of one day as an audit log holds them, keyed by signal id: what parity compares.

    decisions_of(records) -> Decisions

From a day's audit records (live's, or those the backtester's replay rebuilt):

- ``AuditKind.SIGNAL`` (trading/signal_message.py ``signal_record``): subject = the signal id;
  strategy, symbol, side, entry, stop, target, bar_ts, regime, last_price;
- ``AuditKind.VERDICT`` of an ENTRY (domain/safety/audit.py ``verdict_record``): keyed by its
  ``signal_id``; approved, the failing checks' names, the order's symbol and quantity (exit
  verdicts are not signals' decisions and are left out);
- ``AuditKind.NOT_SENT``: subject = the signal id; its ``reason``.

A record of one of these kinds that does not have that shape is kept as ``unreadable`` (the
comparison reports it) rather than dropped or fatal: a night's check must say what it could
not read. A signal decided twice keeps its last decision (a retry's).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from maxtrader.domain.models import AuditKind, AuditRecord, OrderPurpose

__all__ = ["Decisions", "NotSentView", "SignalView", "VerdictView", "decisions_of"]


@dataclass(frozen=True, slots=True)
class SignalView:
    strategy: str
    symbol: str
    side: str
    entry: float
    stop: float
    target: float
    bar_ts: datetime
    regime: str
    last_price: float
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class VerdictView:
    approved: bool
    failures: tuple[str, ...]  # the failing checks' names, sorted
    symbol: str  # the order's: the underlying (equity) or the contract (option)
    qty: int


@dataclass(frozen=True, slots=True)
class NotSentView:
    reason: str


Decision = VerdictView | NotSentView
DUPLICATE_SIGNAL = "duplicate_signal"  # the safety check naming a signal reserved before


@dataclass(slots=True)
class Decisions:
    signals: dict[str, SignalView] = field(default_factory=dict)
    decisions: dict[str, Decision] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)  # "kind subject: what is wrong"

    def ids(self) -> set[str]:
        """Every signal id this side knows of (a signal record, a decision, or both)."""
        return set(self.signals) | set(self.decisions)


def decisions_of(records: Iterable[AuditRecord]) -> Decisions:
    out = Decisions()
    for record in records:
        try:
            if record.kind is AuditKind.SIGNAL:
                out.signals[record.subject] = _signal(record.detail, record.ts)
            elif record.kind is AuditKind.VERDICT:
                if record.detail.get("purpose") == OrderPurpose.ENTRY.value:
                    signal_id = _text(record.detail, "signal_id")
                    seen = _verdict(record.detail)
                    # A delivery that found the signal already reserved decided nothing: the
                    # earlier decision stands (a redelivery, or a reservation retried after its
                    # write went through).
                    if not (DUPLICATE_SIGNAL in seen.failures and signal_id in out.decisions):
                        out.decisions[signal_id] = seen
            elif record.kind is AuditKind.NOT_SENT:
                out.decisions[record.subject] = NotSentView(_text(record.detail, "reason"))
        except (KeyError, TypeError, ValueError) as exc:
            out.unreadable.append(f"{record.kind.value} {record.subject}: {exc}")
    return out


def _signal(detail: Mapping[str, Any], ts: datetime) -> SignalView:
    return SignalView(
        strategy=_text(detail, "strategy"),
        symbol=_text(detail, "symbol"),
        side=_text(detail, "side"),
        entry=_number(detail, "entry"),
        stop=_number(detail, "stop"),
        target=_number(detail, "target"),
        bar_ts=datetime.fromisoformat(_text(detail, "bar_ts")),
        regime=_text(detail, "regime"),
        last_price=_number(detail, "last_price"),
        decided_at=ts,
    )


def _verdict(detail: Mapping[str, Any]) -> VerdictView:
    approved = detail["approved"]
    failures = detail["failures"]
    if not isinstance(approved, bool) or not isinstance(failures, list):
        raise ValueError("approved must be a boolean and failures a list")
    qty = detail["qty"]
    if not isinstance(qty, int) or isinstance(qty, bool):
        raise ValueError(f"qty {qty!r} is not an integer")
    names = sorted(_text(f, "name") for f in failures)
    return VerdictView(approved, tuple(names), _text(detail, "symbol"), qty)


def _text(detail: Mapping[str, Any], key: str) -> str:
    value = detail[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} {value!r} is not a non-empty string")
    return value


def _number(detail: Mapping[str, Any], key: str) -> float:
    value = detail[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} {value!r} is not a number")
    return float(value)
