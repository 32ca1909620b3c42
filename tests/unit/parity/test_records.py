"""Reading a day's audit log back: decisions by signal id, and the regime live had."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from maxtrader.domain.calendar import MarketCalendar, Session
from maxtrader.domain.models import AuditKind, AuditRecord, Regime
from maxtrader.domain.regime import RegimeState
from maxtrader.parity import decisions_of, live_timeline, regime_record
from maxtrader.parity.records import NotSentView, VerdictView

DAY = date(2024, 7, 2)
_SESSION = MarketCalendar.xnys("2024-01-01", "2024-12-31").session(DAY)
assert _SESSION is not None
SESSION: Session = _SESSION
SID = "0123456789abcdef01234567"


def verdict(purpose: str, approved: bool, *failures: str, qty: int = 3) -> AuditRecord:
    return AuditRecord(ts=SESSION.open + timedelta(minutes=5), kind=AuditKind.VERDICT,
                       subject=f"mt-{SID}-{purpose}",
                       detail={"signal_id": SID, "strategy": "vwap_reversion", "symbol": "SPY",
                               "purpose": purpose, "qty": qty, "approved": approved, "checks": 21,
                               "failures": [{"name": n, "reason": "", "observed": None,
                                             "limit": None} for n in failures]})  # fmt: skip


def test_entry_verdicts_and_not_sent_are_decisions_and_exit_verdicts_are_not() -> None:
    got = decisions_of([verdict("entry", False, "notional", "daily_loss"), verdict("exit", True)])
    assert got.decisions == {SID: VerdictView(False, ("daily_loss", "notional"), "SPY", 3)}
    not_sent = AuditRecord(ts=SESSION.open, kind=AuditKind.NOT_SENT, subject=SID,
                           detail={"reason": "no_tradeable_contract"})  # fmt: skip
    assert decisions_of([not_sent]).decisions == {SID: NotSentView("no_tradeable_contract")}


def test_a_signal_decided_twice_keeps_its_last_decision() -> None:
    got = decisions_of([verdict("entry", False, "state_store"), verdict("entry", True)])
    assert got.decisions[SID] == VerdictView(True, (), "SPY", 3)


def test_a_redelivery_refused_as_a_duplicate_does_not_replace_the_decision() -> None:
    """Live, an approval then (the same signal delivered again, or the reservation's write
    retried after it went through) a rejection for duplicate_signal: the approval stands."""
    approved, again = (
        verdict("entry", True),
        verdict("entry", False, "duplicate_signal", "trade_frequency"),
    )
    assert decisions_of([approved, again]).decisions[SID] == VerdictView(True, (), "SPY", 3)
    # Alone, a duplicate_signal rejection is what there is to compare.
    assert decisions_of([again]).decisions[SID].approved is False  # type: ignore[union-attr]


def test_a_record_without_its_shape_is_reported_not_dropped() -> None:
    bad_signal = AuditRecord(ts=SESSION.open, kind=AuditKind.SIGNAL, subject=SID,
                             detail={"strategy": "vwap_reversion"})  # fmt: skip
    bad_qty = verdict("entry", True, qty=3).model_copy(
        update={"detail": {**verdict("entry", True).detail, "qty": "three"}}
    )
    got = decisions_of([bad_signal, bad_qty])
    assert got.signals == {} and got.decisions == {}
    assert [u.split(":")[0] for u in got.unreadable] == [f"signal {SID}", f"verdict mt-{SID}-entry"]


def state(regime: Regime, vix: float) -> RegimeState:
    return RegimeState(day=DAY, regime=regime, anchor=regime, vix=vix, reason="test")


def test_the_audit_ticks_are_the_timeline_with_unknown_before_the_first() -> None:
    normal, high = state(Regime.NORMAL_VOL, 17.0), state(Regime.HIGH_VOL, 26.0)
    first, change = SESSION.open + timedelta(minutes=5), SESSION.open + timedelta(hours=2)
    records = [
        regime_record(high, change),
        regime_record(normal, first),
        regime_record(normal, first + timedelta(minutes=5)),  # the same state: no change
        regime_record(state(Regime.ULTRA_LOW_VOL, 12.0), SESSION.close),  # after the close: ignored
        AuditRecord(ts=first, kind=AuditKind.REGIME, subject="x", detail={"other": 1}),
    ]
    timeline, source = live_timeline(DAY, SESSION, records, stored=high)
    assert source == "audit"
    assert [s.regime for s in timeline.states] == [Regime.UNKNOWN, Regime.NORMAL_VOL,
                                                   Regime.HIGH_VOL]  # fmt: skip
    assert timeline.at(SESSION.open).regime is Regime.UNKNOWN
    assert timeline.at(change - timedelta(seconds=1)).regime is Regime.NORMAL_VOL
    assert timeline.at(change).regime is Regime.HIGH_VOL


def test_without_ticks_the_stored_state_holds_all_day_and_without_it_unknown() -> None:
    normal = state(Regime.NORMAL_VOL, 17.0)
    timeline, source = live_timeline(DAY, SESSION, [], stored=normal)
    assert (source, timeline.single, timeline.at(SESSION.open)) == ("stored", True, normal)
    yesterday = normal.model_copy(update={"day": DAY - timedelta(days=1)})
    timeline, source = live_timeline(DAY, SESSION, [], stored=yesterday)
    assert (source, timeline.at(SESSION.close).regime) == ("none", Regime.UNKNOWN)


def test_a_tick_of_another_day_is_not_this_days_regime() -> None:
    other = state(Regime.HIGH_VOL, 30.0).model_copy(update={"day": date(2024, 7, 1)})
    at = datetime(2024, 7, 2, 14, 0, tzinfo=UTC)
    _, source = live_timeline(DAY, SESSION, [regime_record(other, at)], stored=None)
    assert source == "none"
