"""Generated bad input at the operator's and the health function's boundaries.

Operator calls (kill switch, safe mode, drawdown-peak reset) carry an actor (the caller's IAM
ARN), a reason and, for the reset, an equity; the health function hands the engine what it
observed this minute. Bad values get a clear error naming them and change nothing; values that
pass never loosen a limit (a NaN peak would silence the drawdown breaker, a bar stamped in the
future would look fresh).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.domain.calendar import MarketCalendar, Session
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.safety.context import AccountFlags
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.domain.safety.health import HealthInputs
from maxtrader.domain.safety.operator import MAX_ACTOR_LENGTH, MAX_REASON_LENGTH
from maxtrader.domain.safety.state import SwitchName
from tests.support.safety import make_engine

pytestmark = pytest.mark.fuzz
NOW = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)  # 10:00 New York, a Monday session
DAY = "2024-06-03"
SKEW = timedelta(seconds=5)  # Health.max_clock_skew_seconds
OPEN, CLOSE = datetime(2024, 6, 3, 13, 30, tzinfo=UTC), datetime(2024, 6, 3, 20, 0, tzinfo=UTC)
CALENDAR = MarketCalendar([Session(day=OPEN.date(), open=OPEN, close=CLOSE)])

actors = st.one_of(
    st.sampled_from(["", " ", "\t", "ops\n[fake] kill switch released", "a" * 5000, "\x00"]),
    st.text(max_size=40),
    st.just("arn:aws:iam::123456789012:user/ops"),
)
reasons = st.one_of(st.text(max_size=40), st.just("r" * 10_000), st.just("line\nbreak"))
equities = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, -1.0, 5e-324, 1e308]),
)


def plain_actor(actor: str) -> bool:
    return bool(actor.strip()) and len(actor) <= MAX_ACTOR_LENGTH and actor.isprintable()


def plain_reason(reason: str) -> bool:
    return len(reason) <= MAX_REASON_LENGTH and all(c.isprintable() or c in "\n\t" for c in reason)


def engine_and_store() -> tuple[SafetyEngine, InMemoryStateStore]:
    store = InMemoryStateStore()
    return make_engine(store, FixedClock(NOW)), store


@settings(max_examples=150, deadline=None)
@given(actor=actors, reason=reasons, call=st.sampled_from(["engage", "release", "safe"]))
def test_switch_calls_take_a_plain_actor_and_reason_or_change_nothing(
    actor: str, reason: str, call: str
) -> None:
    engine, store = engine_and_store()
    if call == "release":
        engine.engage_kill_switch("ops", "drill")
    before = (store.switch(SwitchName.KILL_SWITCH), store.switch(SwitchName.SAFE_MODE))
    audit_before = len(store.audit_log(DAY))
    act: Callable[[], None] = {
        "engage": lambda: engine.engage_kill_switch(actor, reason),
        "release": lambda: engine.release_kill_switch(actor, reason),
        "safe": lambda: engine.set_safe_mode(True, actor, reason=reason),
    }[call]
    ok = plain_actor(actor) and plain_reason(reason)
    if not ok:
        with pytest.raises(InvalidInputError, match=r"actor|reason"):
            act()
        assert (store.switch(SwitchName.KILL_SWITCH), store.switch(SwitchName.SAFE_MODE)) == before
        assert len(store.audit_log(DAY)) == audit_before
        return
    act()
    [record] = store.audit_log(DAY)[audit_before:]
    assert record.actor == actor


@settings(max_examples=150, deadline=None)
@given(actor=actors, equity=equities)
def test_a_peak_reset_takes_a_finite_positive_equity_or_changes_nothing(
    actor: str, equity: float
) -> None:
    engine, store = engine_and_store()
    engine.mark_to_market({}, 100_000.0)
    before = store.portfolio()
    if not (plain_actor(actor) and math.isfinite(equity) and equity > 0):
        with pytest.raises(InvalidInputError, match=r"actor|equity"):
            engine.reset_drawdown_peak(actor, equity)
        assert store.portfolio() == before and store.audit_log(DAY) == []
        return
    engine.reset_drawdown_peak(actor, equity)
    assert store.portfolio().peak_equity == equity


def test_a_nan_peak_can_no_longer_silence_the_drawdown_breaker() -> None:
    # On main reset_drawdown_peak(actor, nan) stored a NaN peak: every later drawdown was NaN,
    # NaN >= 3 % is false, and the breaker never tripped again.
    engine, _ = engine_and_store()
    with pytest.raises(InvalidInputError, match="equity"):
        engine.reset_drawdown_peak("ops", float("nan"))
    engine.mark_to_market({}, 100_000.0)
    assert engine.mark_to_market({}, 90_000.0).tripped


# --- health inputs ---------------------------------------------------------------------------
timestamps = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(1970, 1, 2),
        max_value=datetime(2200, 1, 1),
        timezones=st.just(UTC),
    ),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["now", "", "2024-06-03T14:00:00", "2024-06-03T14:00:00+00:00"]),
    st.builds(lambda s: NOW + timedelta(seconds=s), st.integers(-3600, 3600)),
)


@settings(max_examples=250, deadline=None)
@given(
    bars=st.dictionaries(st.sampled_from(["SPY", "QQQ", "", " ", "S" * 100]), timestamps),
    vix=timestamps,
    broker_ok=st.one_of(st.booleans(), st.sampled_from(["yes", 2, None, float("nan")])),
)
def test_health_inputs_are_validated_and_nothing_stale_or_future_passes(
    bars: dict[str, Any], vix: Any, broker_ok: Any
) -> None:
    raw = {"newest_bars": bars, "vix_at": vix, "broker_ok": broker_ok, "account": {}}
    try:
        inputs = HealthInputs.model_validate(raw)
    except ValidationError as exc:
        assert {str(e["loc"][0]) for e in exc.errors()} <= set(raw)
        return
    store = InMemoryStateStore()
    engine = make_engine(store, FixedClock(NOW), calendar=CALENDAR)
    report = engine.evaluate_health(inputs)
    fresh = [
        NOW - timedelta(seconds=300) < t <= NOW + SKEW
        for t in inputs.newest_bars.values()
        if t is not None
    ]
    vix_at = inputs.vix_at
    vix_fresh = vix_at is not None and NOW - timedelta(seconds=900) < vix_at <= NOW + SKEW
    all_fresh = bool(inputs.newest_bars) and len(fresh) == len(inputs.newest_bars) and all(fresh)
    if report.healthy:
        assert all_fresh and vix_fresh
    else:
        assert store.switch(SwitchName.SAFE_MODE).on


@pytest.mark.parametrize(
    ("changes", "failing"),
    [
        ({"newest_bars": {"SPY": NOW + timedelta(minutes=10)}}, "data_freshness:SPY"),
        ({"vix_at": NOW + timedelta(hours=1)}, "vix_freshness"),
        ({"newest_bars": {}}, "data_freshness"),
        ({"window": (NOW + timedelta(hours=1), NOW - timedelta(hours=1))}, "market_hours"),
    ],
)
def test_future_stamps_and_no_symbols_fail_closed(changes: dict[str, object], failing: str) -> None:
    # On main a bar stamped 10 minutes ahead was "-600 s old": fresh. No symbol at all: no check.
    # (A reversed window already failed closed; kept as a regression case.)
    raw: dict[str, object] = {
        "newest_bars": {"SPY": NOW - timedelta(seconds=60)},
        "vix_at": NOW - timedelta(minutes=5),
        "broker_ok": True,
        "account": AccountFlags(),
    }
    engine = make_engine(InMemoryStateStore(), FixedClock(NOW), calendar=CALENDAR)
    report = engine.evaluate_health(HealthInputs.model_validate(raw | changes))
    assert {c.name for c in report.failures} == {failing}
    assert report.safe_mode


def test_a_stamp_within_the_clock_skew_is_fresh() -> None:
    raw: dict[str, object] = {
        "newest_bars": {"SPY": NOW + SKEW},
        "vix_at": NOW + SKEW,
        "broker_ok": True,
        "account": AccountFlags(),
    }
    engine = make_engine(InMemoryStateStore(), FixedClock(NOW), calendar=CALENDAR)
    assert engine.evaluate_health(HealthInputs.model_validate(raw)).healthy
    late = raw | {"vix_at": NOW + SKEW + timedelta(microseconds=1)}
    report = engine.evaluate_health(HealthInputs.model_validate(late))
    assert [c.name for c in report.failures] == ["vix_freshness"]
    assert "in the future" in report.failures[0].reason
