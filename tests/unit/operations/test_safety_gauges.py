"""The safety gauges the alarms watch, read from the state store."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.config.safety import Limits
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.safety.state import BreakerName
from maxtrader.operations.safety_gauges import Gauge, safety_gauges
from tests.support.safety import make_engine

NOW = datetime(2024, 6, 3, 15, 0, tzinfo=UTC)


def _by_key(gauges: list[Gauge]) -> dict[tuple[str, str], float]:
    return {(g.name, g.dimensions.get("breaker", "")): g.value for g in gauges}


def test_a_quiet_day_reads_all_zero_with_one_gauge_per_breaker() -> None:
    store = InMemoryStateStore()
    gauges = _by_key(safety_gauges(store, NOW, Limits()))
    assert gauges[("KillSwitchEngaged", "")] == gauges[("SafeModeOn", "")] == 0.0
    assert {b for (n, b) in gauges if n == "BreakerTripped"} == {b.value for b in BreakerName}
    assert gauges[("DailyLossStopHit", "")] == 0.0 and gauges[("DailyPnl", "")] == 0.0


def test_switches_and_a_paused_breaker_read_one() -> None:
    store = InMemoryStateStore()
    clock = FixedClock(NOW)
    engine = make_engine(store, clock)
    engine.engage_kill_switch("arn:aws:iam::123456789012:user/op", "drill")
    engine.set_safe_mode(True, "arn:aws:iam::123456789012:user/op", reason="drill")
    breaker = store.breaker(BreakerName.ERROR_RATE)
    store.put_breaker(replace(breaker, until=NOW + timedelta(minutes=30), tripped_at=NOW), 0)
    gauges = _by_key(safety_gauges(store, NOW, Limits()))
    assert gauges[("KillSwitchEngaged", "")] == gauges[("SafeModeOn", "")] == 1.0
    assert gauges[("BreakerTripped", "error_rate")] == 1.0
    assert gauges[("BreakerTripped", "rapid_loss")] == 0.0
    # Once its pause is over, the breaker no longer holds entries.
    later = _by_key(safety_gauges(store, NOW + timedelta(hours=1), Limits()))
    assert later[("BreakerTripped", "error_rate")] == 0.0


def test_the_daily_loss_stop_uses_the_checks_floor_the_tighter_of_pct_and_abs() -> None:
    store = InMemoryStateStore()
    store.put_start_of_day_equity("2024-06-03", 50_000.0)
    store.update_marks(unrealized=-999.0, marks={}, equity=49_001.0, peak=50_000.0)
    limits = Limits(max_daily_loss_pct=0.02, max_daily_loss_abs=2000.0)  # floor: -1000
    assert _by_key(safety_gauges(store, NOW, limits))[("DailyLossStopHit", "")] == 0.0
    store.update_marks(unrealized=-1000.0, marks={}, equity=49_000.0, peak=50_000.0)
    gauges = _by_key(safety_gauges(store, NOW, limits))
    assert gauges[("DailyLossStopHit", "")] == 1.0 and gauges[("DailyPnl", "")] == -1000.0
