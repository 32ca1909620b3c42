"""Two refinements of the health evaluation for the health function: an unreachable broker is
counted by broker_connectivity alone (its account flags cannot be read, which is not a second
failure), and the broker's clock must agree with ours within the allowed skew."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from maxtrader.config.safety import Health
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.safety.context import AccountFlags
from maxtrader.domain.safety.health import HealthInputs, evaluate
from maxtrader.domain.safety.state import HealthState

NOW = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)
CALENDAR = MarketCalendar.xnys()


def inputs(**changes: object) -> HealthInputs:
    base: dict[str, object] = {
        "newest_bars": {"SPY": NOW - timedelta(seconds=30)},
        "vix_at": NOW - timedelta(seconds=30),
        "broker_ok": True,
        "account": AccountFlags(),
        "broker_clock_open": True,
        "broker_time": NOW,
    }
    return HealthInputs.model_validate({**base, **changes})


def failing(given: HealthInputs, state: HealthState | None = None) -> set[str]:
    checks, _ = evaluate(given, state or HealthState(), Health(), CALENDAR, NOW)
    return {c.name for c in checks if not c.passed}


def test_unknown_flags_fail_closed_while_the_broker_answers() -> None:
    assert failing(inputs(account=None)) == {"account_flags"}


def test_unknown_flags_of_an_unreachable_broker_are_left_to_the_failure_count() -> None:
    down = inputs(broker_ok=False, account=None, broker_clock_open=None, broker_time=None)
    assert failing(down) == set()
    assert failing(down, HealthState(broker_failures=2)) == {"broker_connectivity"}


@pytest.mark.parametrize(("skew", "fails"), [(0, False), (5, False), (-5, False), (6, True),
                                             (-6, True), (3600, True)])  # fmt: skip
def test_the_brokers_clock_must_be_within_the_allowed_skew(skew: int, fails: bool) -> None:
    got = failing(inputs(broker_time=NOW + timedelta(seconds=skew)))
    assert got == ({"broker_clock"} if fails else set())
