"""Wave-Renko on hand-built sessions with a brick of exactly $1.00."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest

from maxtrader.config.strategies import SessionRules, WaveRenko
from maxtrader.domain.models import Bar, Direction, Regime, Signal
from maxtrader.domain.strategies.wave_renko import WaveRenkoState, WaveRenkoStrategy
from tests.unit.strategies.builders import DAY, MIRROR, at, mirror, path_bars, prior_days, session


def history(levels: Sequence[float] = (100.0, 100.2, 100.4, 100.6, 100.8, 101.0)) -> list[Bar]:
    """Prior sessions of 20 flat bars with a 0.25 range: ATR 0.25 -> brick 4 x 0.25 = $1.00."""
    days = prior_days(DAY, len(levels))
    return [
        b
        for d, lvl in zip(days, levels, strict=True)
        for b in path_bars(d, "09:30", [lvl] * 20, wick=0.125)
    ]


def strategy(**overrides: object) -> WaveRenkoStrategy:
    return WaveRenkoStrategy(WaveRenko.model_validate(overrides), SessionRules())


def run(
    closes: Sequence[float],
    *,
    start: str = "10:00",
    hist: list[Bar] | None = None,
    mirrored: bool = False,
    heavy_open: bool = False,
    **overrides: object,
) -> tuple[WaveRenkoState, list[Signal]]:
    """A session: flat at 100 from 09:30 until ``start``, then one close a minute."""
    pre = int((at(DAY, start) - at(DAY, "09:30")) / timedelta(minutes=1))
    bars = path_bars(DAY, "09:30", [100.0] * pre + list(closes))
    if heavy_open:
        bars[0] = bars[0].model_copy(update={"high": 120.0, "volume": 1e9})
    h = history() if hist is None else hist
    if mirrored:
        bars, h = mirror(bars), mirror(h)
    s = strategy(**overrides)
    state = s.start_session("SPY", session(), h)
    signals: list[Signal] = []
    for b in bars:
        state, out = s.step(state, b)
        signals += out
    return state, signals


def test_session_parameters_come_from_prior_sessions() -> None:
    s = strategy()
    state = s.start_session("SPY", session(), history())
    assert state.ready and state.brick == pytest.approx(1.0) and state.trend == 1
    down = s.start_session(
        "SPY", session(), history(levels=(101.0, 100.8, 100.6, 100.4, 100.2, 100.0))
    )
    assert down.trend == -1
    tiny = s.start_session(
        "SPY",
        session(),
        [b.model_copy(update={"high": b.close, "low": b.close}) for b in history()],
    )
    assert tiny.brick == 0.05  # min_brick floor


def test_not_ready_without_enough_history_and_never_signals() -> None:
    s = strategy()
    state = s.start_session("SPY", session(), history()[20:])  # 5 sessions, trend needs 6
    assert not state.ready and "6 prior sessions" in state.note
    _, signals = run([101, 102, 103, 102, 103], hist=history()[20:])
    assert signals == []


def test_history_from_the_session_itself_is_a_look_ahead() -> None:
    today = path_bars(DAY, "09:30", [100.0] * 3)
    with pytest.raises(ValueError, match="look-ahead"):
        strategy().start_session("SPY", session(), [*history(), *today])


def test_wave_pullback_and_resume_gives_one_long_signal() -> None:
    state, signals = run([101, 102, 103, 102, 103])
    [sig] = signals
    assert (
        sig.side is Direction.LONG
        and sig.regime is Regime.NORMAL_VOL
        and sig.strategy == "wave_renko"
    )
    assert sig.bar_ts == at(DAY, "10:04")
    assert (sig.entry, sig.stop, sig.target) == pytest.approx((103.0, 101.5, 106.0))
    assert sig.reward_risk == pytest.approx(2.0)
    assert state.wave_dir == 0  # the wave is spent


def test_mirror_gives_the_short_signal() -> None:
    _, signals = run([101, 102, 103, 102, 103], mirrored=True)
    [sig] = signals
    assert sig.side is Direction.SHORT
    assert (sig.entry, sig.stop, sig.target) == pytest.approx(
        (MIRROR - 103, MIRROR - 101.5, MIRROR - 106)
    )


def test_several_bricks_on_one_bar_form_the_wave() -> None:
    _, signals = run([103.4, 102.0, 103.0])  # +3 bricks in one minute
    [sig] = signals
    assert (sig.stop, sig.target) == pytest.approx((101.5, 106.0))


def test_retracement_at_max_retrace_drops_the_wave() -> None:
    # H = 3; pullback to 101 is r = 2/3 >= 0.62: dropped, the resume brick is not an entry
    state, signals = run([101, 102, 103, 102, 101, 102, 103])
    assert signals == [] and state.wave_dir == 0
    # the wave 100 -> 105 (H = 5) pulled back to 102 (r = 0.6 < 0.62) stays alive
    _, alive = run([101, 102, 103, 104, 105, 104, 103, 102, 103])
    [sig] = alive
    assert (sig.stop, sig.target) == pytest.approx((101.5, 110.0))


def test_shallow_pullback_does_not_trigger_and_the_wave_extends() -> None:
    # H = 6 (100 -> 106); pullback to 105 is r = 1/6 < 0.2: no entry, the wave goes on to 107
    _, signals = run([101, 102, 103, 104, 105, 106, 105, 106, 107, 106, 105, 106])
    [sig] = signals
    # P2 = 107, H = 7, pullback extreme 105 (r = 2/7)
    assert sig.bar_ts == at(DAY, "10:11")
    assert (sig.entry, sig.stop, sig.target) == pytest.approx((106.0, 104.5, 114.0))


def test_one_signal_per_wave() -> None:
    _, signals = run([101, 102, 103, 102, 103, 102, 103])
    assert len(signals) == 1


def test_a_new_wave_after_the_trigger_can_signal_again() -> None:
    _, signals = run([101, 102, 103, 102, 103, 104, 105, 104, 105])
    assert [s.bar_ts for s in signals] == [at(DAY, "10:04"), at(DAY, "10:08")]
    assert signals[1].stop == pytest.approx(103.5) and signals[1].target == pytest.approx(108.0)


def test_reversal_of_two_bricks_needs_a_deeper_pullback() -> None:
    # with reversal 2, 103 -> 102 is not a brick; 103 -> 101 makes two (r = 2/3: dropped)
    _, none = run([101, 102, 103, 102, 103], reversal_bricks=2)
    assert none == []
    # H = 5, pullback of 2 bricks to 103 (r = 0.4); resuming also takes 2 bricks (to 105)
    assert run([101, 102, 103, 104, 105, 103, 104], reversal_bricks=2)[1] == []
    _, signals = run([101, 102, 103, 104, 105, 103, 105], reversal_bricks=2)
    [sig] = signals
    assert (sig.entry, sig.stop, sig.target) == pytest.approx((105.0, 102.5, 110.0))


def test_filters_daily_trend_vwap_min_rr_and_entry_window() -> None:
    down_trend = history(levels=(101.0, 100.8, 100.6, 100.4, 100.2, 100.0))
    assert run([101, 102, 103, 102, 103], hist=down_trend)[1] == []
    assert len(run([101, 102, 103, 102, 103], hist=down_trend, trend_filter=False)[1]) == 1
    # a heavy 09:30 print with a 120 high puts VWAP near 106.7: the long at 103 is below it
    assert run([101, 102, 103, 102, 103], heavy_open=True)[1] == []
    assert len(run([101, 102, 103, 102, 103], heavy_open=True, vwap_filter=False)[1]) == 1
    # reward/risk 1.0 < 1.5 with a half-wave target
    assert run([101, 102, 103, 102, 103], target_wave_mult=0.5)[1] == []
    # trigger decided at 09:44's close... 09:45 is the first allowed decision instant
    early = run([101, 102, 103, 102, 103], start="09:39")[1]
    assert early == []  # trigger bar 09:43 closes 09:44 < 09:45: consumed, not traded
    on_time = run([101, 102, 103, 102, 103], start="09:40")[1]
    assert [s.bar_ts for s in on_time] == [at(DAY, "09:44")]
    late = run([101, 102, 103, 102, 103], start="15:25")[1]
    assert late == []  # 15:29 closes at 15:30 = close - 30 min: window closed


def test_redelivered_bar_is_ignored_and_bad_bars_are_rejected() -> None:
    s = strategy()
    state = s.start_session("SPY", session(), history())
    bars = path_bars(DAY, "09:30", [100.0, 101.0])
    state, _ = s.step(state, bars[0])
    state, _ = s.step(state, bars[1])
    again, out = s.step(state, bars[0])
    assert again is state and out == []
    with pytest.raises(ValueError, match="QQQ"):
        s.step(state, bars[1].model_copy(update={"symbol": "QQQ", "ts": at(DAY, "09:32")}))
    with pytest.raises(ValueError, match="outside the regular hours"):
        s.step(state, bars[1].model_copy(update={"ts": at(DAY, "16:00")}))
    with pytest.raises(ValueError, match="1-minute"):
        s.step(state, bars[1].model_copy(update={"ts": at(DAY, "09:35"), "minutes": 5}))


def test_state_round_trips_exactly() -> None:
    s = strategy()
    state = s.start_session("SPY", session(), history())
    for b in path_bars(DAY, "09:30", [100.0, 101, 102, 103, 102]):
        state, _ = s.step(state, b)
        assert s.load_state(state.model_dump_json()) == state
