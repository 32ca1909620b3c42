"""The nightly run on memory adapters: stored result, alert on a difference, nothing on a holiday.

The day here has stored start-of-day equity and no bars: the replay decides nothing, so a live
SIGNAL record is a difference and an empty log is parity.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from maxtrader.adapters.alert_cooldown import Cooldown
from maxtrader.adapters.memory_alerts import InMemoryAlerts
from maxtrader.adapters.memory_session_store import InMemorySessionStore
from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.config import load_safety, load_strategies
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.models import AuditKind, AuditRecord, Direction, Regime, Signal
from maxtrader.parity import DaySources, ParityPorts, nightly_parity
from maxtrader.parity.compare import Difference, DifferenceKind, ParityResult
from maxtrader.parity.nightly import MAX_LINE, MAX_STORED, alert_line, capped
from maxtrader.trading.signal_message import signal_record

DAY = date(2024, 7, 2)
AFTER_CLOSE = datetime(2024, 7, 2, 20, 30, tzinfo=UTC)  # 16:30 New York
CALENDAR = MarketCalendar.xnys("2024-01-01", "2024-12-31")


class Day:
    def __init__(self) -> None:
        self.state = InMemoryStateStore()
        self.sessions = InMemorySessionStore()
        self.clock = FixedClock(AFTER_CLOSE)
        self.alerts = InMemoryAlerts(self.clock, Cooldown(timedelta(minutes=30)))
        self.state.put_start_of_day_equity(DAY.isoformat(), 100_000.0)
        sources = DaySources(self.state, self.sessions, CALENDAR, load_strategies(), ("SPY",))
        self.ports = ParityPorts(sources=sources, alerts=self.alerts, safety=load_safety())

    def parity_records(self, day: date = DAY) -> list[AuditRecord]:
        return [r for r in self.state.audit_log(day.isoformat()) if r.kind is AuditKind.PARITY]


def live_signal(minute: int = 35) -> AuditRecord:
    bar_ts = datetime(2024, 7, 2, 13, 30, tzinfo=UTC) + timedelta(minutes=minute)
    signal = Signal.create(strategy="vwap_reversion", symbol="SPY", side=Direction.LONG,
                           entry=540.0, stop=539.0, target=542.0, bar_ts=bar_ts,
                           regime=Regime.NORMAL_VOL)  # fmt: skip
    return signal_record(signal, regime=Regime.NORMAL_VOL, last_price=540.0,
                         decided_at=bar_ts + timedelta(minutes=1), actor="signals")  # fmt: skip


def test_a_day_in_parity_is_stored_ok_and_alerts_nothing() -> None:
    day = Day()
    outcome = nightly_parity(DAY, day.ports, now=AFTER_CLOSE)
    assert outcome.result is not None and outcome.result.ok
    assert outcome.answer() == {"day": "2024-07-02", "ok": True, "differences": 0,
                                "alerted": False, "stored": True}  # fmt: skip
    (record,) = day.parity_records()
    assert (record.subject, record.actor, record.ts) == ("2024-07-02", "parity", AFTER_CLOSE)
    assert record.detail["ok"] is True and record.detail["differences_total"] == 0
    assert day.alerts.sent == []


def test_a_difference_is_alerted_once_per_day_and_each_run_is_stored() -> None:
    day = Day()
    signal = live_signal()
    day.state.append_audit([signal])
    first = nightly_parity(DAY, day.ports, now=AFTER_CLOSE)
    assert first.alerted and first.result is not None and not first.result.ok
    (sent,) = day.alerts.sent
    assert sent.alert.dedup_key == "parity:2024-07-02"
    assert sent.alert.line.startswith("Parity 2024-07-02: 1 difference; missing_in_backtest")
    assert len(sent.alert.line) <= MAX_LINE
    assert sent.alert.details["differences"][0]["subject"] == signal.subject  # type: ignore[index]
    # a retry (or a re-run) re-stores and re-compares; its own PARITY record is not a signal
    second = nightly_parity(DAY, day.ports, now=AFTER_CLOSE + timedelta(minutes=5))
    assert second.result == first.result and not second.alerted  # the cooldown held it
    assert len(day.alerts.suppressed) == 1
    assert [r.detail["differences_total"] for r in day.parity_records()] == [1, 1]


def test_a_holiday_is_skipped_and_nothing_is_stored() -> None:
    day = Day()
    holiday = date(2024, 7, 4)
    outcome = nightly_parity(holiday, day.ports, now=datetime(2024, 7, 4, 20, 30, tzinfo=UTC))
    assert outcome.result is None and outcome.answer() == {"skipped": "not a session"}
    assert day.parity_records(holiday) == [] and day.alerts.sent == []


def test_an_alert_that_cannot_be_sent_stores_nothing_so_a_retry_redoes_it() -> None:
    from maxtrader.domain.errors import AlertDeliveryError

    class Down:
        def publish(self, alert: object) -> bool:
            raise AlertDeliveryError("topic unreachable")

    day = Day()
    day.state.append_audit([live_signal()])
    broken = ParityPorts(sources=day.ports.sources, alerts=Down(), safety=day.ports.safety)
    with pytest.raises(AlertDeliveryError):
        nightly_parity(DAY, broken, now=AFTER_CLOSE)
    assert day.parity_records() == []
    assert nightly_parity(DAY, day.ports, now=AFTER_CLOSE).stored  # the retry


def test_the_alert_line_fits_an_sms_and_the_stored_record_is_capped() -> None:
    many = [
        Difference(kind=DifferenceKind.MISSING_IN_LIVE, subject=f"{i:024x}", cause="x" * 300)
        for i in range(MAX_STORED + 7)
    ]
    result = ParityResult(day=DAY, ok=False, compared={}, differences=many)
    line = alert_line(result)
    assert len(line) == MAX_LINE and line.endswith("...")
    assert line.startswith(f"Parity 2024-07-02: {MAX_STORED + 7} differences; missing_in_live")
    stored = capped(result)
    assert stored["differences_total"] == MAX_STORED + 7
    assert len(stored["differences"]) == MAX_STORED  # type: ignore[arg-type]


@pytest.mark.faults
def test_a_refused_record_raises_and_its_retry_stores_it_without_alerting_again() -> None:
    from maxtrader.domain.errors import StateUnavailableError

    day = Day()
    day.state.append_audit([live_signal()])
    day.state.fail_next(StateUnavailableError("throttled"), operation="append_audit")
    with pytest.raises(StateUnavailableError):
        nightly_parity(DAY, day.ports, now=AFTER_CLOSE)
    assert day.parity_records() == [] and len(day.alerts.sent) == 1  # alerted, not stored
    retry = nightly_parity(DAY, day.ports, now=AFTER_CLOSE + timedelta(seconds=30))
    assert retry.stored and not retry.alerted  # stored now; the alert's cooldown held it
    assert len(day.alerts.sent) == 1 and len(day.parity_records()) == 1
