"""The pre-market logic on memory adapters: start-of-day equity, the day's regime from the prior
close, the session-preparation hook, and a readiness alert that says armed or why not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from maxtrader.adapters.alert_cooldown import Cooldown
from maxtrader.adapters.memory_alerts import InMemoryAlerts
from maxtrader.adapters.memory_session_store import InMemorySessionStore
from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.config.strategies import RegimeRules
from maxtrader.domain.calendar import MarketCalendar, Session
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import DataError
from maxtrader.domain.models import AuditKind, Regime
from maxtrader.domain.ports import VixReading
from maxtrader.domain.regime import RegimeDetector
from maxtrader.domain.safety.state import BreakerName
from maxtrader.operations.premarket import PremarketDependencies, run_premarket
from maxtrader.operations.regime import RegimeDependencies, run_regime
from tests.support.ops_fakes import FakeBroker, FakeMarket
from tests.support.safety import make_engine

CALENDAR = MarketCalendar.xnys()
NINE = datetime(2024, 6, 4, 13, 0, tzinfo=UTC)  # Tuesday 09:00 New York
DAY = date(2024, 6, 4)
PRIOR_CLOSE = datetime(2024, 6, 3, 20, 15, tzinfo=UTC)  # Monday, the index's last print
OPERATOR = "arn:aws:iam::123456789012:user/alice"


class Rig:
    def __init__(self, at: datetime = NINE, *, prepare: bool = True) -> None:
        self.clock = FixedClock(at)
        self.store = InMemoryStateStore()
        self.sessions = InMemorySessionStore()
        self.market = FakeMarket(VixReading(15.0, PRIOR_CLOSE))
        self.broker = FakeBroker(self.clock, CALENDAR, equity=100_000.0)
        self.alerts = InMemoryAlerts(self.clock, Cooldown(timedelta(minutes=15)))
        self.engine = make_engine(self.store, self.clock, calendar=CALENDAR, seed=None)
        self.prepared: list[Session] = []
        self.deps = PremarketDependencies(
            engine=self.engine,
            broker=lambda: self.broker,
            market=self.market,
            sessions=self.sessions,
            alerts=self.alerts,
            calendar=CALENDAR,
            detector=RegimeDetector(RegimeRules()),
            prepare_sessions=self._prepare if prepare else None,
        )

    def _prepare(self, session: Session) -> int:
        self.prepared.append(session)
        return 4

    def run(self) -> str:
        self.result = run_premarket(self.deps, self.clock.now())
        return self.alerts.sent[-1].alert.line if self.alerts.sent else ""


def test_an_armed_day_stores_equity_and_regime_and_says_so() -> None:
    rig = Rig()
    line = rig.run()
    assert line == ("armed: NORMAL_VOL, limits 10 trades/3 pos, loss stop $2,000, kill switch off")
    assert rig.store.start_of_day_equity("2024-06-04") == 100_000.0
    stored = rig.sessions.regime(DAY)
    assert stored is not None and stored.regime is Regime.NORMAL_VOL
    assert stored.anchor is Regime.NORMAL_VOL and stored.observed_at == PRIOR_CLOSE
    assert [s.day for s in rig.prepared] == [DAY]
    kinds = [r.kind for r in rig.store.audit_log("2024-06-04")]
    assert kinds == [AuditKind.START_OF_DAY, AuditKind.REGIME]


def test_the_loss_stop_is_the_tighter_of_percent_and_dollars() -> None:
    rig = Rig()
    rig.broker.equity = 50_000.0
    assert "loss stop $1,000" in rig.run()  # 2% of 50,000 beats $2,000


def _vix(reading: VixReading | None) -> Callable[[Rig], None]:
    return lambda r: setattr(r.market, "reading", reading)


def _vendor_down(rig: Rig) -> None:
    rig.market.error = "HTTP 500"


def _equity_conflict(rig: Rig) -> None:
    rig.store.put_start_of_day_equity("2024-06-04", 90_000.0)


NOT_ARMED: dict[str, tuple[Callable[[Rig], None], str]] = {
    "no-vix": (_vix(None), "regime UNKNOWN (VIX is absent)"),
    "vix-vendor-down": (_vendor_down, "VIX unavailable"),
    "vix-too-old": (
        _vix(VixReading(15.0, PRIOR_CLOSE - timedelta(days=3))),
        "not the prior session's close",
    ),
    "broker-down": (lambda r: r.broker.fail.add("account"), "no start-of-day equity"),
    "kill-switch": (lambda r: r.engine.engage_kill_switch(OPERATOR, "drill"), "kill switch ON"),
    "safe-mode": (
        lambda r: r.engine.set_safe_mode(True, OPERATOR, reason="checking"),
        "safe mode ON (checking)",
    ),
    "equity-conflict": (_equity_conflict, "different start-of-day equity"),
}


@pytest.mark.parametrize("case", sorted(NOT_ARMED))
def test_not_armed_says_why(case: str) -> None:
    change, reason = NOT_ARMED[case]
    rig = Rig()
    change(rig)
    line = rig.run()
    assert line.startswith("NOT armed: ") and reason in line, line
    assert rig.result.detail["armed"] is False


def test_a_closed_regime_is_armed_with_limits_that_allow_nothing() -> None:
    rig = Rig()
    rig.market.reading = VixReading(5.0, PRIOR_CLOSE)
    assert rig.run().startswith("armed: EXTREME_CALM_PAUSE, limits 0 trades/0 pos")


def test_a_paused_breaker_is_a_reason_and_every_reason_is_listed() -> None:
    rig = Rig()
    breaker = rig.store.breaker(BreakerName.RAPID_LOSS)
    rig.store.put_breaker(replace(breaker, until=NINE + timedelta(hours=1), version=1), 0)
    rig.market.reading = None
    rig.run()
    reasons = rig.result.detail["reasons"]
    assert reasons == ["rapid_loss breaker paused", "regime UNKNOWN (VIX is absent)"]


def test_an_unwired_session_preparation_is_not_armed_and_says_so() -> None:
    rig = Rig(prepare=False)
    assert rig.run() == "NOT armed: strategy sessions not prepared (not wired)"


def test_a_failing_session_preparation_is_a_reason() -> None:
    rig = Rig()

    def broken(session: Session) -> int:
        raise DataError("massive: HTTP 429 on SPY history")

    run_premarket(replace(rig.deps, prepare_sessions=broken), NINE)
    assert "HTTP 429 on SPY history" in rig.alerts.sent[-1].alert.line


def test_a_holiday_does_nothing() -> None:
    at = datetime(2024, 7, 4, 13, 0, tzinfo=UTC)
    rig = Rig(at)
    result = run_premarket(rig.deps, at)
    assert not result.acted and "no session on 2024-07-04" in result.summary
    assert rig.broker.calls == [] and rig.alerts.sent == [] and rig.prepared == []


def test_a_retried_run_stores_nothing_twice_and_readiness_pages_once() -> None:
    rig = Rig()
    rig.run()
    rig.run()
    assert rig.result.detail["armed"] is True  # the same equity again is not a conflict
    assert len(rig.alerts.sent) == 1 and len(rig.alerts.suppressed) == 1


def test_the_first_regime_tick_anchors_its_hysteresis_on_the_premarket_regime() -> None:
    rig = Rig()
    rig.market.reading = VixReading(13.2, PRIOR_CLOSE)
    rig.run()
    regime = RegimeDependencies(
        rig.market, rig.sessions, rig.store, rig.alerts, CALENDAR, RegimeDetector(RegimeRules())
    )
    tick = datetime(2024, 6, 4, 13, 35, tzinfo=UTC)
    rig.clock.set(tick)
    rig.market.reading = VixReading(12.8, tick - timedelta(minutes=1))
    run_regime(regime, tick)
    stored = rig.sessions.regime(DAY)
    assert stored is not None and stored.regime is Regime.NORMAL_VOL  # 12.8: within 0.5 of 13
    fresh = InMemorySessionStore()  # without the pre-market state the same tick is ULTRA_LOW
    run_regime(
        RegimeDependencies(
            rig.market, fresh, rig.store, rig.alerts, CALENDAR, RegimeDetector(RegimeRules())
        ),
        tick,
    )
    other = fresh.regime(DAY)
    assert other is not None and other.regime is Regime.ULTRA_LOW_VOL
