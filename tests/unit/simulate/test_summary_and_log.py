"""The summary read from audit records and broker orders, and the live log's lines."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

from maxtrader.domain.models import AuditKind, AuditRecord
from maxtrader.simulate.live_log import LiveLog, describe
from maxtrader.simulate.summary import read_summary, reconcile

T0 = datetime(2024, 6, 12, 15, 0, tzinfo=UTC)  # 11:00 New York


def _record(kind: AuditKind, subject: str, minute: int = 0, **detail: object) -> AuditRecord:
    return AuditRecord(ts=T0 + timedelta(minutes=minute), kind=kind, subject=subject,
                       detail=detail)  # fmt: skip


def _order(cid: str, filled: float = 0.0) -> dict[str, object]:
    return {"client_order_id": cid, "symbol": "SPY240612C00530000", "side": "buy", "qty": "2",
            "status": "filled" if filled else "new", "filled_qty": str(filled),
            "filled_avg_price": "1.05" if filled else None}  # fmt: skip


RECORDS = [
    _record(AuditKind.SIGNAL, "s1"),
    _record(AuditKind.VERDICT, "c1", approved=True, purpose="entry", symbol="SPY", qty=2),
    _record(AuditKind.VERDICT, "c2", approved=False, symbol="QQQ",
            failures=[{"name": "min_seconds_between_trades"}, {"name": "premium"}]),
    _record(AuditKind.VERDICT, "c3", approved=False, symbol="QQQ", failures=[{"name": "premium"}]),
    _record(AuditKind.FILL, "f1", 1, client_order_id="c1", realized=0.0),
    _record(AuditKind.FILL, "f2", 20, client_order_id="c1x", realized=-120.5),
    _record(AuditKind.BREAKER_TRIP, "rapid_loss", 21, reason="3 losses"),
]  # fmt: skip


def test_counts_rejections_by_check_pnl_and_breakers_from_the_records() -> None:
    summary = read_summary(RECORDS, [_order("c1", 2), _order("c1x", 2)], {}, {}, [], -121.0)
    assert summary.signals == 1 and summary.approvals == 1
    assert summary.rejections == {"min_seconds_between_trades": 1, "premium": 2}
    assert summary.fills == 2 and summary.filled_orders == 2
    assert summary.realized_pnl == -120.5 and summary.equity_change == -121.0
    assert summary.breaker_events[0]["breaker"] == "rapid_loss"
    assert summary.audit_records == {"breaker_trip": 1, "fill": 2, "signal": 1, "verdict": 3}
    assert summary.positions_open_at_end == 0 and summary.reconciliation["ok"] is True


def test_a_client_order_id_seen_twice_and_an_unreconciled_position_are_reported() -> None:
    summary = read_summary([], [_order("c1"), _order("c1")], {"SPY": 3.0}, {}, [], 0.0)
    assert summary.duplicate_client_order_ids == ["c1"]
    assert summary.positions_open_at_end == 1
    assert summary.reconciliation["differences"] == {"SPY": {"store": 0.0, "broker": 3.0}}
    assert reconcile({"SPY": 2.0}, {"SPY": 2.0}) == {"ok": True, "differences": {}}


def test_the_live_log_prints_new_york_time_and_no_progress_bar_off_a_terminal() -> None:
    out, progress = io.StringIO(), io.StringIO()
    log = LiveLog(out, progress=None)
    log.records(RECORDS[:3])
    log.tick(1, 10, T0)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("11:00:00 signal")
    assert "REJECTED QQQ: min_seconds_between_trades, premium" in lines[2]
    bar = LiveLog(io.StringIO(), progress=progress)
    bar.tick(5, 10, T0)
    assert "11:00:00 NY" in progress.getvalue() and "█" in progress.getvalue()
    assert describe(RECORDS[6]) == "rapid_loss 3 losses"


def test_regime_records_of_both_shapes_are_read() -> None:
    from maxtrader.simulate.live_log import regime_state

    functions: dict[str, Any] = {
        "day": "2024-06-12",
        "after": {"regime": "ULTRA_LOW_VOL", "vix": 11.6},
    }
    parity: dict[str, Any] = {"day": "2024-06-12", "regime": "NORMAL_VOL", "vix": 17.0}
    assert regime_state(functions)["regime"] == "ULTRA_LOW_VOL"
    assert regime_state(parity)["regime"] == "NORMAL_VOL"
    record = _record(AuditKind.REGIME, "regime", 0, **functions)
    assert describe(record) == "ULTRA_LOW_VOL (VIX 11.6)"
    summary = read_summary([record], [], {}, {}, [], 0.0)
    assert summary.regime[0]["regime"] == "ULTRA_LOW_VOL" and summary.regime[0]["vix"] == 11.6


def test_a_standing_drift_is_logged_once_until_it_changes() -> None:
    out = io.StringIO()
    log = LiveLog(out, progress=None)
    drift = [{"kind": "unknown_order", "symbol": "SPY"}]
    same = [_record(AuditKind.RECONCILIATION, "reconciliation", m, drift=drift) for m in range(3)]
    log.records([*same, _record(AuditKind.RECONCILIATION, "reconciliation", 4, drift=[])])
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "1 difference" in lines[0] and "0 difference" in lines[1]


def test_a_losing_close_marker_and_a_breaker_reset_read_as_what_they_are() -> None:
    marker = _record(AuditKind.FILL, "losing_close:mt-sig-1-entry", realized=-120.5)
    assert describe(marker) == "losing close mt-sig-1-entry (realized -120.5)"
    reset = _record(AuditKind.BREAKER_RESET, "rapid_loss", reason="3 losing closes in 30 min")
    assert describe(reset) == "rapid_loss reset (was: 3 losing closes in 30 min)"
    trip = _record(AuditKind.BREAKER_TRIP, "rapid_loss", reason="3 losing closes in 30 min")
    assert describe(trip) == "rapid_loss 3 losing closes in 30 min"
