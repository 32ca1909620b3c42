"""VWAP mean reversion on hand-built sessions, checked against a direct computation."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from maxtrader.config.strategies import SessionRules, VwapMeanReversion
from maxtrader.domain.models import Bar, Direction, Regime, Signal
from maxtrader.domain.strategies.vwap_reversion import VwapReversionState, VwapReversionStrategy
from tests.unit.strategies.builders import DAY, MIRROR, at, mirror, path_bars, session

# 10 wide swings (to give sigma), then flat at 100 until 09:59
MORNING = [100 + (3 if i % 2 else -3) for i in range(10)] + [100.0] * 20
DIP = [98.0, 98.55]  # below the lower band, then back inside it


def reference(
    bars: Sequence[Bar], band_sigma: float = 2.0, min_pct: float = 0.0005
) -> tuple[float, float, float]:
    """(VWAP, lower, upper) over all of ``bars``, straight from the definition."""
    tps = [(b.high + b.low + b.close) / 3 for b in bars]
    vol = sum(b.volume for b in bars)
    mid = sum(tp * b.volume for tp, b in zip(tps, bars, strict=True)) / vol
    sd = math.sqrt(sum(b.volume * (tp - mid) ** 2 for tp, b in zip(tps, bars, strict=True)) / vol)
    half = max(band_sigma * sd, min_pct * bars[-1].close)
    return mid, mid - half, mid + half


def run(
    closes: Sequence[float], *, mirrored: bool = False, **overrides: object
) -> tuple[VwapReversionState, list[Signal], list[Bar]]:
    bars = path_bars(DAY, "09:30", list(closes))
    if mirrored:
        bars = mirror(bars)
    s = VwapReversionStrategy(VwapMeanReversion.model_validate(overrides), SessionRules())
    state = s.start_session("SPY", session(), [])
    signals: list[Signal] = []
    for b in bars:
        state, out = s.step(state, b)
        signals += out
    return state, signals, bars


def test_long_on_re_entry_into_the_lower_band() -> None:
    _, signals, bars = run([*MORNING, *DIP, 100.0])
    [sig] = signals
    assert (
        sig.side is Direction.LONG
        and sig.regime is Regime.ULTRA_LOW_VOL
        and sig.strategy == "vwap_reversion"
    )
    assert sig.bar_ts == at(DAY, "10:01")
    _, prev_lower, _ = reference(bars[:31])
    mid, lower, _ = reference(bars[:32])
    assert bars[30].close < prev_lower and bars[31].close > lower  # the setup really is a re-entry
    assert sig.entry == 98.55
    assert sig.target == pytest.approx(mid, rel=1e-12)
    assert sig.stop == pytest.approx(min(b.low for b in bars[22:32]) - 0.001 * 98.55)
    assert sig.reward_risk >= 1.5


def test_mirror_is_a_short_at_the_upper_band() -> None:
    _, signals, bars = run([*MORNING, *DIP], mirrored=True)
    [sig] = signals
    mid, _, upper = reference(bars)
    assert sig.side is Direction.SHORT and bars[-1].close < upper
    assert sig.target == pytest.approx(mid, rel=1e-12)
    assert sig.stop == pytest.approx(max(b.high for b in bars[-10:]) + 0.001 * (MIRROR - 98.55))


def test_needs_min_bars_and_the_strategy_hours() -> None:
    assert run([*MORNING, *DIP], min_bars=40)[1] == []
    # the same dip at 09:50 is before 10:00; at 15:30 it is too late
    early_dip = [97.5, 98.2]  # with fewer calm bars the band is wider
    assert run([*MORNING[:20], *early_dip])[1] == []
    assert len(run([*MORNING[:20], *early_dip], entry_start="09:45")[1]) == 1
    # the re-entry bar 10:01 closes at 10:02: entries must close before entry_end
    assert run([*MORNING, *DIP], entry_end="10:02")[1] == []
    assert len(run([*MORNING, *DIP], entry_end="10:03")[1]) == 1


def test_strategy_hours_are_intersected_with_the_session_window() -> None:
    from datetime import date

    s = VwapReversionStrategy(VwapMeanReversion(), SessionRules())
    state = s.start_session("SPY", session(), [])
    assert (state.entry_start, state.entry_end) == (at(DAY, "10:00"), at(DAY, "15:30"))
    early = date(2024, 11, 29)  # 13:00 close: entries end at 12:30
    short_day = s.start_session("SPY", session(early), [])
    assert short_day.entry_end == at(early, "12:30")


def test_min_rr_filters_a_re_entry_too_close_to_vwap() -> None:
    assert run([*MORNING, 98.0, 98.9])[1] == []  # reward/risk about 1.0


def test_cooldown_blocks_the_next_ten_bars() -> None:
    def dips(gap: int) -> list[Signal]:
        return run([*MORNING, *DIP, *[100.0] * gap, *DIP])[1]

    # the second dip's re-entry bar is gap + 2 bars after the first signal
    assert len(dips(8)) == 1  # 10 bars later: still cooling down
    assert len(dips(9)) == 2  # 11 bars later: allowed


def test_at_most_two_signals_a_day() -> None:
    closes = [*MORNING]
    for _ in range(3):  # the band narrows as the calm goes on: re-enter higher, accept less
        closes += [98.0, 98.8, *[100.0] * 20]
    _, signals, _ = run(closes, min_rr=0.5)
    assert len(signals) == 2
    assert len(run(closes, min_rr=0.5, max_signals_per_day=3)[1]) == 3


def test_state_round_trips_exactly_between_bars() -> None:
    s = VwapReversionStrategy(VwapMeanReversion(), SessionRules())
    state = s.start_session("SPY", session(), [])
    for b in path_bars(DAY, "09:30", [*MORNING, *DIP]):
        state, _ = s.step(state, b)
        assert s.load_state(state.model_dump_json()) == state
