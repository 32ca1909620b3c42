"""Properties of the comparison: symmetric in what it reports missing, ok exactly when equal."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maxtrader.parity import Difference, DifferenceKind, compare
from maxtrader.parity.records import Decisions, NotSentView, SignalView, VerdictView

pytestmark = pytest.mark.property

DAY = date(2024, 7, 2)
OPEN = datetime(2024, 7, 2, 13, 30, tzinfo=UTC)
IDS = [f"{i:024x}" for i in range(6)]  # a small id space: both sides often share ids

prices = st.integers(50_000, 50_100).map(lambda c: c / 100)  # a cent grid: equal or far apart
signal_views = st.builds(
    SignalView,
    strategy=st.sampled_from(["wave_renko", "vwap_reversion"]),
    symbol=st.just("SPY"),
    side=st.sampled_from(["long", "short"]),
    entry=prices,
    stop=prices,
    target=prices,
    bar_ts=st.integers(0, 3).map(lambda m: OPEN + timedelta(minutes=m)),
    regime=st.sampled_from(["NORMAL_VOL", "ULTRA_LOW_VOL"]),
    last_price=prices,
    decided_at=st.just(OPEN + timedelta(minutes=5)),
)
decision_views = st.one_of(
    st.builds(
        VerdictView,
        approved=st.booleans(),
        failures=st.lists(
            st.sampled_from(["notional", "kill_switch", "daily_loss"]), unique=True, max_size=2
        ).map(lambda f: tuple(sorted(f))),
        symbol=st.sampled_from(["SPY", "SPY240702C00500000"]),
        qty=st.integers(1, 3),
    ),
    st.builds(
        NotSentView, reason=st.sampled_from(["no_tradeable_contract", "size_below_one_unit"])
    ),
)


@st.composite
def sides(draw: st.DrawFn) -> Decisions:
    out = Decisions()
    for sid in draw(st.lists(st.sampled_from(IDS), unique=True, max_size=len(IDS))):
        signal = draw(st.none() | signal_views)
        decision = draw(st.none() | decision_views)
        if signal is None and decision is None:
            signal = draw(signal_views)
        if signal is not None:
            out.signals[sid] = signal
        if decision is not None:
            out.decisions[sid] = decision
    return out


def missing(differences: list[Difference], kind: DifferenceKind) -> set[str]:
    return {d.subject for d in differences if d.kind is kind}


@given(sides())
def test_a_side_compared_with_itself_is_ok(x: Decisions) -> None:
    result = compare(DAY, x, x)
    assert result.ok and result.differences == []


@given(sides(), sides())
def test_what_is_missing_swaps_with_the_sides(x: Decisions, y: Decisions) -> None:
    xy, yx = compare(DAY, x, y).differences, compare(DAY, y, x).differences
    assert missing(xy, DifferenceKind.MISSING_IN_LIVE) == missing(
        yx, DifferenceKind.MISSING_IN_BACKTEST
    )
    assert missing(xy, DifferenceKind.MISSING_IN_BACKTEST) == missing(
        yx, DifferenceKind.MISSING_IN_LIVE
    )
    assert missing(xy, DifferenceKind.MISSING_IN_BACKTEST) == x.ids() - y.ids()
    assert missing(xy, DifferenceKind.MISSING_IN_LIVE) == y.ids() - x.ids()
    # and what differs on shared ids is reported on both orders, field by field
    shared = {(d.kind, d.subject, d.field) for d in xy if d.subject in x.ids() & y.ids()}
    assert shared == {(d.kind, d.subject, d.field) for d in yx if d.subject in x.ids() & y.ids()}


@given(sides(), sides())
def test_ok_exactly_when_the_decisions_are_equal(x: Decisions, y: Decisions) -> None:
    result = compare(DAY, x, y)
    equal = x.signals == y.signals and _sized(x) == _sized(y)
    assert result.ok is equal
    assert result.ok is (not result.differences)


def _sized(side: Decisions) -> dict[str, object]:
    """Decisions as compared: an option order's symbol and quantity are not (by default)."""
    out: dict[str, object] = {}
    for sid, decision in side.decisions.items():
        signal = side.signals.get(sid)
        if isinstance(decision, VerdictView) and signal and decision.symbol != signal.symbol:
            out[sid] = (decision.approved, decision.failures)
        else:
            out[sid] = decision
    return out
