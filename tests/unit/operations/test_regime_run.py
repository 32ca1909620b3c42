"""The regime function's logic on memory adapters: classification, fail closed, audit, alerts."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from maxtrader.adapters.alert_cooldown import Cooldown
from maxtrader.adapters.memory_alerts import InMemoryAlerts
from maxtrader.adapters.memory_session_store import InMemorySessionStore
from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.config.strategies import RegimeRules
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import AlertDeliveryError
from maxtrader.domain.models import AuditKind, Regime
from maxtrader.domain.ports import Alert, VixReading
from maxtrader.domain.regime import RegimeDetector, RegimeState
from maxtrader.operations.regime import RegimeDependencies, run_regime
from maxtrader.trading.regime import RegimeTimeline
from tests.support.ops_fakes import FakeMarket

CALENDAR = MarketCalendar.xnys()
DAY = date(2024, 6, 3)
OPEN = datetime(2024, 6, 3, 13, 30, tzinfo=UTC)
T = OPEN + timedelta(minutes=30)  # 10:00 New York


class Rig:
    def __init__(self, at: datetime = T) -> None:
        self.clock = FixedClock(at)
        self.market = FakeMarket()
        self.sessions = InMemorySessionStore()
        self.state = InMemoryStateStore()
        self.alerts = InMemoryAlerts(self.clock, Cooldown(timedelta(minutes=15)))
        self.deps = RegimeDependencies(
            market=self.market,
            sessions=self.sessions,
            state=self.state,
            alerts=self.alerts,
            calendar=CALENDAR,
            detector=RegimeDetector(RegimeRules()),
        )

    def tick(self, vix: float | None, *, age: timedelta = timedelta(minutes=1)) -> None:
        now = self.clock.now()
        self.market.reading = None if vix is None else VixReading(vix, now - age)
        self.result = run_regime(self.deps, now)

    def regime(self) -> Regime | None:
        state = self.sessions.regime(DAY)
        return None if state is None else state.regime

    def audited(self) -> list[tuple[object, object]]:
        out: list[tuple[object, object]] = []
        for r in self.state.audit_log(DAY.isoformat()):
            assert r.kind is AuditKind.REGIME
            before, after = r.detail["before"], r.detail["after"]
            assert isinstance(before, dict) and isinstance(after, dict)
            out.append((before["regime"], after["regime"]))
        return out


def test_a_reading_is_classified_stored_audited_and_alerted_once() -> None:
    rig = Rig()
    rig.tick(16.0)
    assert rig.regime() is Regime.NORMAL_VOL and rig.result.acted
    rig.clock.advance(timedelta(minutes=5))
    rig.tick(16.5)  # same regime: stored, not audited, not alerted
    assert rig.audited() == [(None, "NORMAL_VOL")]
    assert [s.alert.subject for s in rig.alerts.sent] == ["Regime none -> NORMAL_VOL"]
    stored = rig.sessions.regime(DAY)
    assert stored is not None and stored.vix == 16.5  # the latest level is kept


@pytest.mark.parametrize(
    ("vix", "age", "reason"),
    [
        (None, timedelta(minutes=1), "VIX is absent"),
        (math.nan, timedelta(minutes=1), "not finite"),
        (-1.0, timedelta(minutes=1), "not positive"),
        (16.0, timedelta(minutes=16), "stale"),
    ],
)
def test_missing_invalid_or_stale_vix_is_unknown_and_alerted(
    vix: float | None, age: timedelta, reason: str
) -> None:
    rig = Rig()
    rig.tick(16.0)
    rig.clock.advance(timedelta(minutes=5))
    rig.tick(vix, age=age)
    stored = rig.sessions.regime(DAY)
    assert stored is not None and stored.regime is Regime.UNKNOWN and reason in stored.reason
    assert stored.anchor is Regime.NORMAL_VOL  # a gap does not forget the last valid regime
    assert rig.audited() == [(None, "NORMAL_VOL"), ("NORMAL_VOL", "UNKNOWN")]
    assert rig.alerts.sent[-1].alert.line.startswith("Regime NORMAL_VOL -> UNKNOWN")


def test_a_vendor_error_is_unknown_naming_the_error() -> None:
    rig = Rig()
    rig.market.error = "massive: HTTP 503"
    rig.result = run_regime(rig.deps, T)
    stored = rig.sessions.regime(DAY)
    assert stored is not None and stored.regime is Regime.UNKNOWN
    assert "VIX unavailable" in stored.reason and "HTTP 503" in stored.reason


def test_hysteresis_holds_the_regime_near_a_boundary() -> None:
    rig = Rig()
    rig.tick(14.0)
    for vix, expected in (
        (12.8, Regime.NORMAL_VOL),
        (12.4, Regime.ULTRA_LOW_VOL),
        (13.2, Regime.ULTRA_LOW_VOL),
        (13.6, Regime.NORMAL_VOL),
    ):
        rig.clock.advance(timedelta(minutes=5))
        rig.tick(vix)
        assert rig.regime() is expected, vix


@pytest.mark.parametrize(
    "at",
    [
        datetime(2024, 7, 4, 14, 0, tzinfo=UTC),  # Independence Day
        datetime(2024, 6, 3, 12, 0, tzinfo=UTC),  # 08:00 New York, before the open
        datetime(2024, 7, 3, 17, 30, tzinfo=UTC),  # 13:30 on an early-close day
    ],
)
def test_outside_the_session_it_does_nothing_and_says_so(at: datetime) -> None:
    rig = Rig(at)
    result = run_regime(rig.deps, at)
    assert not result.acted and "market closed" in result.summary
    assert rig.market.calls == 0 and rig.alerts.sent == []
    assert (
        rig.sessions.regime(at.date()) is None and rig.state.audit_log(at.date().isoformat()) == []
    )


def test_an_alert_that_cannot_be_delivered_is_a_warning_and_the_regime_stands() -> None:
    class Down:
        def publish(self, alert: Alert) -> bool:
            raise AlertDeliveryError("sns: InternalError")

    rig = Rig()
    deps = RegimeDependencies(
        rig.market, rig.sessions, rig.state, Down(), CALENDAR, RegimeDetector(RegimeRules())
    )
    rig.market.reading = VixReading(20.0, T - timedelta(minutes=1))
    result = run_regime(deps, T)
    assert rig.regime() is Regime.NORMAL_VOL
    assert result.alert_failures == 1 and "not sent" in result.warnings[0]


PRIOR_CLOSE = VixReading(13.2, datetime(2024, 5, 31, 20, 15, tzinfo=UTC))  # Friday's last print


def premarket_state() -> RegimeState:
    detector = RegimeDetector(RegimeRules())  # as the pre-market run classifies the prior close
    return detector.update(detector.start_session(DAY), PRIOR_CLOSE.value)


class SavedStates(InMemorySessionStore):
    """Every state saved, not only the last."""

    def __init__(self) -> None:
        super().__init__()
        self.saved: list[RegimeState] = []

    def save_regime(self, state: RegimeState) -> None:
        self.saved.append(state)
        super().save_regime(state)


def test_the_first_ticks_of_a_session_keep_the_premarket_regime_and_alert_nothing() -> None:
    rig = Rig(OPEN)
    sessions = SavedStates()
    sessions.save_regime(premarket_state())
    deps = replace(rig.deps, sessions=sessions)
    rig.market.reading = PRIOR_CLOSE  # 09:30: the vendor's latest is still Friday's close
    run_regime(deps, OPEN)
    rig.clock.set(OPEN + timedelta(minutes=5))
    rig.market.reading = VixReading(12.8, OPEN + timedelta(minutes=3))  # the first intraday print
    result = run_regime(deps, OPEN + timedelta(minutes=5))
    assert [s.regime for s in sessions.saved] == [Regime.NORMAL_VOL] * 3  # pre-market, 2 ticks
    assert sessions.saved[1].observed_at == PRIOR_CLOSE.observed_at
    assert result.detail["changed"] is False  # 12.8 held in NORMAL_VOL by the anchor
    assert rig.alerts.sent == [] and rig.state.audit_log(DAY.isoformat()) == []


def test_a_prior_close_still_served_after_the_grace_is_stale_and_alerted() -> None:
    rig = Rig(OPEN)
    rig.sessions.save_regime(premarket_state())
    rig.market.reading = PRIOR_CLOSE
    for minutes in (0, 5, 10):
        run_regime(rig.deps, OPEN + timedelta(minutes=minutes))
        assert rig.regime() is Regime.NORMAL_VOL, minutes
    rig.clock.set(OPEN + timedelta(minutes=15))
    run_regime(rig.deps, OPEN + timedelta(minutes=15))  # 09:45: no intraday print yet
    stored = rig.sessions.regime(DAY)
    assert stored is not None and stored.regime is Regime.UNKNOWN and "stale" in stored.reason
    assert rig.audited() == [("NORMAL_VOL", "UNKNOWN")]
    assert [s.alert.subject for s in rig.alerts.sent] == ["Regime NORMAL_VOL -> UNKNOWN"]


def test_no_reading_at_the_open_is_unknown_and_alerted() -> None:
    rig = Rig(OPEN)
    rig.sessions.save_regime(premarket_state())
    rig.tick(None)
    stored = rig.sessions.regime(DAY)
    assert stored is not None and stored.regime is Regime.UNKNOWN and "absent" in stored.reason
    assert rig.audited() == [("NORMAL_VOL", "UNKNOWN")]


@pytest.mark.parametrize(
    "readings",
    [
        [(1, 12.0), (20, 12.9), (40, 13.7), (95, 31.0), (120, 30.2), (240, 29.0)],
        # Friday's close at the open, then a first print only after the grace (09:52)
        [(-3915, 12.8), (22, 13.6), (40, 12.3), (95, 31.0), (240, 29.0)],
    ],
    ids=["from-the-first-print", "prior-close-at-the-open"],
)
def test_live_ticks_make_the_backtesters_replay_of_the_same_readings(
    readings: list[tuple[int, float]],
) -> None:
    """Parity: the function every 5 minutes over a day's readings = RegimeTimeline.intraday."""
    series = [VixReading(v, OPEN + timedelta(minutes=m)) for m, v in readings]
    session = CALENDAR.session(DAY)
    assert session is not None
    detector = RegimeDetector(RegimeRules())
    timeline = RegimeTimeline.intraday(detector, session, series)
    rig = Rig(OPEN)
    now = OPEN
    while now < session.close:
        rig.clock.set(now)
        seen = [r for r in series if r.observed_at <= now]
        rig.market.reading = seen[-1] if seen else None
        run_regime(rig.deps, now)
        stored = rig.sessions.regime(DAY)
        assert stored is not None and stored.regime is timeline.at(now).regime, now
        now += timedelta(minutes=5)
    assert {s.regime for s in timeline.states} >= {Regime.ULTRA_LOW_VOL, Regime.HIGH_VOL}
    assert (timeline.at(OPEN).regime is Regime.UNKNOWN) is (series[0].observed_at > OPEN)


def test_an_unknown_regime_stored_here_closes_entries_in_the_safety_engine() -> None:
    from tests.support.safety import entry, make_engine, market

    rig = Rig()
    rig.tick(None)
    stored = rig.sessions.regime(DAY)
    assert stored is not None and stored.regime is Regime.UNKNOWN
    engine = make_engine(InMemoryStateStore(), rig.clock)
    verdict = engine.reserve(entry(), market(regime=stored.regime))
    assert not verdict.approved
    assert {"concurrent_positions", "daily_trades"} <= {c.name for c in verdict.failures}


def test_a_store_that_fails_the_save_audits_again_on_the_retry_but_alerts_once() -> None:
    from maxtrader.domain.errors import StateUnavailableError

    class FailsFirstSave(InMemorySessionStore):
        failures = 1

        def save_regime(self, state: RegimeState) -> None:
            if self.failures:
                self.failures -= 1
                raise StateUnavailableError("put_item: throttled")
            super().save_regime(state)

    rig = Rig()
    flaky = FailsFirstSave()
    deps = RegimeDependencies(rig.market, flaky, rig.state, rig.alerts, CALENDAR,
                              RegimeDetector(RegimeRules()))  # fmt: skip
    rig.market.reading = VixReading(20.0, T - timedelta(minutes=1))
    with pytest.raises(StateUnavailableError):
        run_regime(deps, T)
    assert rig.alerts.sent == []  # not stored, not announced
    run_regime(deps, T)  # Lambda's retry of the same firing
    stored = flaky.regime(DAY)
    assert stored is not None and stored.regime is Regime.NORMAL_VOL
    assert len(rig.state.audit_log(DAY.isoformat())) == 2 and len(rig.alerts.sent) == 1


def test_a_vendor_secret_that_cannot_be_read_is_unknown_not_a_crash() -> None:
    from maxtrader.domain.errors import SecretUnavailableError

    rig = Rig()
    rig.tick(16.0)
    rig.market.build_error = SecretUnavailableError("secret 'maxtrader/staging/massive': denied")
    rig.clock.advance(timedelta(minutes=5))
    run_regime(rig.deps, rig.clock.now())
    stored = rig.sessions.regime(DAY)
    assert stored is not None and stored.regime is Regime.UNKNOWN  # not the last NORMAL_VOL
    assert "SecretUnavailableError" in stored.reason
