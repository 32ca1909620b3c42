"""The health function's logic on memory adapters with fakes that fail: each check, safe mode
on at a failure and off once healthy, the broker's failure count, the open's grace, alerts."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.adapters.alert_cooldown import Cooldown
from maxtrader.adapters.memory_alerts import InMemoryAlerts
from maxtrader.adapters.memory_session_store import InMemorySessionStore
from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import SecretUnavailableError
from maxtrader.domain.models import Bar, TradingState
from maxtrader.domain.ports import Broker, VixReading
from maxtrader.domain.safety.context import AccountFlags
from maxtrader.domain.safety.state import SwitchName
from maxtrader.operations.health import HealthDependencies, check_outcomes, run_health
from maxtrader.operations.run_result import RunResult
from tests.support.ops_fakes import FakeBroker, FakeMarket
from tests.support.safety import make_engine

CALENDAR = MarketCalendar.xnys()
OPEN = datetime(2024, 6, 3, 13, 30, tzinfo=UTC)
T = OPEN + timedelta(minutes=30)
SYMBOLS = ("QQQ", "SPY")
FAR = datetime(2030, 1, 1, tzinfo=UTC)


def bar(symbol: str, start: datetime) -> Bar:
    return Bar(symbol=symbol, ts=start, open=1, high=1, low=1, close=1, volume=1)


class Rig:
    def __init__(self, at: datetime = T) -> None:
        self.clock = FixedClock(at)
        self.store = InMemoryStateStore()
        self.sessions = InMemorySessionStore()
        self.market = FakeMarket()
        self.broker = FakeBroker(self.clock, CALENDAR)
        self.broker_factory_error: Exception | None = None
        self.alerts = InMemoryAlerts(self.clock, Cooldown(timedelta(minutes=15)))
        self.engine = make_engine(self.store, self.clock, calendar=CALENDAR)
        self.deps = HealthDependencies(
            self.engine, self.sessions, self.market, self._broker, self.alerts, CALENDAR, SYMBOLS
        )

    def _broker(self) -> Broker:
        if self.broker_factory_error is not None:
            raise self.broker_factory_error
        return self.broker

    def fresh(self, *, age: timedelta = timedelta(minutes=1), skip: str = "") -> None:
        """Each symbol's bar closed ``age`` ago, and a VIX as old."""
        now = self.clock.now()
        bars = [bar(s, now - age - timedelta(minutes=1)) for s in SYMBOLS if s != skip]
        self.sessions.put_bars(bars, expires_at=FAR)
        self.market.reading = VixReading(15.0, now - age)

    def run(self) -> RunResult:
        self.result = run_health(self.deps, self.clock.now())
        return self.result

    def failing(self) -> set[str]:
        return {name for name, ok in check_outcomes(self.result).items() if not ok}

    def minute(self) -> None:
        self.clock.advance(timedelta(minutes=1))


def test_a_healthy_minute_passes_every_check_and_changes_nothing() -> None:
    rig = Rig()
    rig.fresh()
    result = rig.run()
    assert result.acted and result.detail["healthy"] and rig.failing() == set()
    assert set(check_outcomes(result)) == {
        "market_hours",
        "data_freshness:QQQ",
        "data_freshness:SPY",
        "vix_freshness",
        "broker_connectivity",
        "account_flags",
        "broker_clock",
        "marks",
    }
    assert rig.engine.trading_state() is TradingState.ACTIVE and rig.alerts.sent == []


def _fresh_then(attr: str, name: str, value: object) -> Callable[[Rig], None]:
    def change(rig: Rig) -> None:
        rig.fresh()
        setattr(getattr(rig, attr), name, value)

    return change


FAILURES: dict[str, tuple[Callable[[Rig], None], set[str]]] = {
    "no-bar": (lambda r: r.fresh(skip="SPY"), {"data_freshness:SPY"}),
    "stale-bars": (
        lambda r: r.fresh(age=timedelta(minutes=6)),
        {"data_freshness:QQQ", "data_freshness:SPY"},
    ),
    "no-vix": (_fresh_then("market", "reading", None), {"vix_freshness"}),
    "vix-vendor-down": (_fresh_then("market", "error", "HTTP 503"), {"vix_freshness"}),
    "vix-nan": (_fresh_then("market", "reading", VixReading(math.nan, T)), {"vix_freshness"}),
    "account-blocked": (
        _fresh_then("broker", "flags", AccountFlags(trading_blocked=True)),
        {"account_flags"},
    ),
    "clock-skew": (_fresh_then("broker", "skew", timedelta(seconds=30)), {"broker_clock"}),
    "clock-closed": (_fresh_then("broker", "clock_open", False), {"broker_clock"}),
}


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_a_failure_turns_safe_mode_on_alerts_and_recovery_clears_it(case: str) -> None:
    break_it, failing = FAILURES[case]
    rig = Rig()
    break_it(rig)
    rig.run()
    assert rig.failing() == failing
    assert rig.engine.trading_state() is TradingState.REDUCING
    assert rig.store.switch(SwitchName.SAFE_MODE).automatic
    (sent,) = rig.alerts.sent
    assert sent.alert.line.startswith("Health FAILED, safe mode on")
    rig.minute()
    rig.broker.flags, rig.broker.skew, rig.broker.clock_open = AccountFlags(), timedelta(0), None
    rig.market.error = None
    rig.fresh()
    rig.run()
    assert rig.failing() == set() and rig.engine.trading_state() is TradingState.ACTIVE
    assert rig.alerts.sent[-1].alert.subject == "Health restored: safe mode off"


def test_the_broker_fails_only_after_three_consecutive_failures_and_flags_do_not_pile_on() -> None:
    rig = Rig()
    rig.broker.fail = {"account"}
    outcomes = []
    for _ in range(3):
        rig.fresh()
        rig.run()
        outcomes.append(rig.failing())
        rig.minute()
    assert outcomes == [set(), set(), {"broker_connectivity"}]
    assert rig.result.detail["broker_failures"] == 3
    rig.broker.fail = set()
    rig.fresh()
    rig.run()
    assert rig.failing() == set() and rig.result.detail["broker_failures"] == 0


def test_a_broker_secret_that_cannot_be_read_counts_as_a_broker_failure() -> None:
    rig = Rig()
    rig.broker_factory_error = SecretUnavailableError("secretsmanager: throttled")
    rig.fresh()
    rig.run()
    assert rig.result.detail["broker_failures"] == 1 and rig.failing() == set()


def test_in_the_first_minutes_of_the_session_data_not_yet_due_is_not_stale() -> None:
    rig = Rig(OPEN + timedelta(minutes=1))
    rig.market.reading = VixReading(15.0, OPEN - timedelta(hours=17))  # the prior close
    rig.run()
    assert rig.failing() == set()
    rig.clock.set(OPEN + timedelta(minutes=5))  # max_staleness after the open: due by now
    rig.run()
    assert rig.failing() == {"data_freshness:QQQ", "data_freshness:SPY"}
    checks = rig.result.detail["checks"]
    assert isinstance(checks, list) and any("no bar for SPY" in str(c) for c in checks)


def test_a_bar_stamped_in_the_future_fails_as_skewed() -> None:
    rig = Rig()
    rig.fresh()
    rig.sessions.put_bars([bar("SPY", T)], expires_at=FAR)  # it closes a minute from now
    rig.run()
    assert rig.failing() == {"data_freshness:SPY"}


def test_a_persisting_failure_pages_once_per_cooldown_and_a_new_one_at_once() -> None:
    rig = Rig()
    rig.fresh(skip="SPY")
    for _ in range(3):
        rig.run()
        rig.minute()
        rig.fresh(skip="SPY")
    assert len(rig.alerts.sent) == 1 and len(rig.alerts.suppressed) == 2
    rig.broker.skew = timedelta(minutes=2)
    rig.run()
    assert len(rig.alerts.sent) == 2 and "+1 more" in rig.alerts.sent[-1].alert.line


def test_health_never_clears_an_operators_safe_mode() -> None:
    rig = Rig()
    rig.engine.set_safe_mode(True, "arn:aws:iam::123456789012:user/alice", reason="checking")
    rig.fresh()
    rig.run()
    assert rig.failing() == set() and rig.engine.trading_state() is TradingState.REDUCING
    assert rig.alerts.sent == []


@pytest.mark.parametrize(
    "at",
    [datetime(2024, 7, 4, 15, 0, tzinfo=UTC), datetime(2024, 6, 3, 20, 0, tzinfo=UTC)],
    ids=["holiday", "after-the-close"],
)
def test_outside_the_session_nothing_is_checked_or_written(at: datetime) -> None:
    rig = Rig(at)
    result = rig.run()
    assert not result.acted and "market closed" in result.summary
    assert rig.broker.calls == [] and rig.market.calls == 0
    assert rig.store.health().version == 0 and rig.alerts.sent == []


def test_a_retry_that_runs_after_the_close_skips_instead_of_failing_market_hours() -> None:
    rig = Rig(datetime(2024, 6, 3, 20, 1, tzinfo=UTC))  # the engine's clock: 16:01
    result = run_health(rig.deps, datetime(2024, 6, 3, 19, 59, tzinfo=UTC))  # the 15:59 firing
    assert not result.acted and "after the session" in result.summary
    assert rig.store.health().version == 0 and rig.alerts.sent == []


@pytest.mark.property
@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["ok", "no-bar", "broker-down", "skew", "no-vix"]), min_size=1,
                max_size=25))  # fmt: skip
def test_safe_mode_follows_health_minute_by_minute(minutes: list[str]) -> None:
    """Property: after every run, automatic safe mode is on exactly when that run failed; each
    recovery from a failure is one "restored" page; a failure run always turns it on."""
    rig = Rig()
    failed_before = False
    recoveries = 0
    for what in minutes:
        rig.broker.fail = {"account"} if what == "broker-down" else set()
        rig.broker.skew = timedelta(seconds=60) if what == "skew" else timedelta(0)
        rig.fresh(skip="SPY" if what == "no-bar" else "")
        if what == "no-vix":
            rig.market.reading = None
        result = rig.run()
        healthy = bool(result.detail["healthy"])
        assert rig.engine.trading_state() is (
            TradingState.ACTIVE if healthy else TradingState.REDUCING
        )
        recoveries += failed_before and healthy
        failed_before = not healthy
        rig.minute()
    restored = [s for s in rig.alerts.sent if s.alert.subject.startswith("Health restored")]
    assert len(restored) == recoveries
