"""NORMAL_VOL: Wave-Renko.

Session parameters, fixed before the open from PRIOR sessions only:
- brick b = max(brick_atr_mult x median ATR(atr_period) of the prior brick_sessions sessions'
  1-minute RTH bars, min_brick);
- daily trend = sign(last prior close - the close trend_sessions sessions before it).

Per closed bar: Renko bricks from the close (several may form on one bar, reversal after
reversal_bricks), a wave = a run of >= wave_min_bricks same-direction bricks (P1 = close of the
brick before the run, P2 = its last brick, H = |P2 - P1|; a same-direction brick extends it).
Bricks against the wave form the pullback (extreme = its furthest brick close); r = |P2 -
extreme| / H. r >= max_retrace drops the wave. The first brick resuming the wave after a pullback
with r >= min_retrace is the trigger: entry = the bar's close, stop = extreme -/+
stop_buffer_bricks x b, target = P2 +/- target_wave_mult x H. A shallower pullback (r <
min_retrace) is forgotten and the wave continues. A trigger ends its wave (one signal per wave)
whether or not a filter (entry window, VWAP side, daily trend, min_rr) lets the signal out.
While a wave is alive its own pullback never starts a competing wave; once dropped, the
pullback's run can become the next wave.
"""

from __future__ import annotations

from collections.abc import Sequence

from maxtrader.config.strategies import SessionRules, WaveRenko
from maxtrader.domain.calendar import Session
from maxtrader.domain.models import Bar, Direction, Regime, Signal
from maxtrader.domain.strategies.atr import median_of, session_atr_series
from maxtrader.domain.strategies.base import (
    StrategyState,
    accept_bar,
    evolve,
    feed_many,
    in_entry_window,
    make_signal,
    session_frame,
)
from maxtrader.domain.strategies.history import prior_sessions
from maxtrader.domain.strategies.renko import new_bricks
from maxtrader.domain.strategies.vwap import RunningVwap, VwapSums


class WaveRenkoState(StrategyState):
    brick: float = 0.0
    trend: int = 0  # +1 up, -1 down, 0 flat/unknown (then no trend-filtered entry)
    anchor: float | None = None  # first close of the session: brick level 0
    level: int = 0  # last brick's level
    direction: int = 0  # last brick's direction, 0 before the first brick
    run_len: int = 0
    run_start: int = 0  # level of the brick before the current run
    wave_dir: int = 0  # 0: no live wave
    p1: int = 0
    p2: int = 0
    extreme: int | None = None  # pullback extreme level, None: no pullback in progress
    sums: VwapSums = VwapSums()


class _Work:
    """The fields a bar changes, mutable: one per step, or one per step_many call."""

    __slots__ = (
        "anchor",
        "direction",
        "extreme",
        "last_ts",
        "level",
        "p1",
        "p2",
        "run_len",
        "run_start",
        "sums",
        "wave_dir",
    )

    def __init__(self, s: WaveRenkoState) -> None:
        self.last_ts, self.sums, self.anchor = s.last_ts, RunningVwap(s.sums), s.anchor
        self.level, self.direction, self.run_len, self.run_start = (
            s.level,
            s.direction,
            s.run_len,
            s.run_start,
        )
        self.wave_dir, self.p1, self.p2, self.extreme = s.wave_dir, s.p1, s.p2, s.extreme

    def state(self, s: WaveRenkoState) -> WaveRenkoState:
        return evolve(
            s,
            {
                "last_ts": self.last_ts,
                "sums": self.sums.sums(),
                "anchor": self.anchor,
                "level": self.level,
                "direction": self.direction,
                "run_len": self.run_len,
                "run_start": self.run_start,
                "wave_dir": self.wave_dir,
                "p1": self.p1,
                "p2": self.p2,
                "extreme": self.extreme,
            },
        )


class WaveRenkoStrategy:
    name = "wave_renko"
    regime = Regime.NORMAL_VOL

    def __init__(self, config: WaveRenko, session_rules: SessionRules) -> None:
        self.config = config
        self.session_rules = session_rules
        self.instrument = config.instrument
        self.min_rr = config.min_rr
        self.max_hold_minutes = config.max_hold_minutes
        trend_needs = config.trend_sessions + 1 if config.trend_filter else 0
        self.history_sessions = max(config.brick_sessions, trend_needs)

    def start_session(
        self, symbol: str, session: Session, history: Sequence[Bar]
    ) -> WaveRenkoState:
        cfg = self.config
        sessions = prior_sessions(history, session.day)[-self.history_sessions :]
        frame = session_frame(symbol, session, self.session_rules)
        if len(sessions) < self.history_sessions:
            return WaveRenkoState.model_validate(
                {
                    **frame,
                    "ready": False,
                    "note": f"needs {self.history_sessions} prior sessions, got {len(sessions)}",
                }
            )
        period = cfg.atr_period
        median_atr = median_of(  # each session's series once per backtest run (see history.py)
            s.summary(("atr", period), lambda bars: sorted(session_atr_series(bars, period)))
            for s in sessions[-cfg.brick_sessions :]
        )
        if median_atr is None:
            return WaveRenkoState.model_validate(
                {**frame, "ready": False, "note": "prior sessions too short for the ATR"}
            )
        brick = max(cfg.brick_atr_mult * median_atr, cfg.min_brick)
        trend = 0
        if cfg.trend_filter:
            last, first = sessions[-1].bars[-1], sessions[-1 - cfg.trend_sessions].bars[-1]
            change = last.close - first.close
            trend = (change > 0) - (change < 0)
        return WaveRenkoState.model_validate(
            {**frame, "brick": brick, "trend": trend, "note": f"brick {brick:.4f}"}
        )

    def load_state(self, data: str | bytes) -> WaveRenkoState:
        return WaveRenkoState.model_validate_json(data)

    def step(self, state: WaveRenkoState, bar: Bar) -> tuple[WaveRenkoState, list[Signal]]:
        if not accept_bar(state, bar):
            return state, []
        work = _Work(state)
        signal = self._feed(state, work, bar)
        return work.state(state), [signal] if signal is not None else []

    def step_many(
        self, state: WaveRenkoState, bars: Sequence[Bar]
    ) -> tuple[WaveRenkoState, list[tuple[int, list[Signal]]]]:
        """``step`` bar after bar (see base.py), converting the state once."""
        return feed_many(state, bars, _Work(state), self._feed)

    def _feed(self, state: WaveRenkoState, w: _Work, bar: Bar) -> Signal | None:
        """One accepted bar into the working state; the signal it triggers, if any."""
        w.last_ts = bar.ts
        w.sums.add(bar)
        if not state.ready:
            return None
        if w.anchor is None:
            w.anchor = bar.close
            return None

        cfg = self.config
        level, direction = w.level, w.direction
        d, count = new_bricks(
            level,
            direction,
            anchor=w.anchor,
            size=state.brick,
            reversal=cfg.reversal_bricks,
            close=bar.close,
        )
        if not count:  # most bars: no brick, nothing else changes
            return None
        run_len, run_start = w.run_len, w.run_start
        wave_dir, p1, p2, extreme = w.wave_dir, w.p1, w.p2, w.extreme
        trigger: tuple[int, int, int, int] | None = None  # (dir, p1, p2, extreme)
        for _ in range(count):
            if d == direction:
                run_len += 1
            else:
                run_len, run_start = 1, level
            level += d
            direction = d
            if wave_dir:
                height = (p2 - p1) * wave_dir
                if d == wave_dir:
                    if extreme is None:
                        if (level - p2) * wave_dir > 0:
                            p2 = level
                    elif (p2 - extreme) * wave_dir >= cfg.min_retrace * height:
                        if trigger is None:
                            trigger = (wave_dir, p1, p2, extreme)
                        wave_dir, extreme = 0, None
                    else:
                        extreme = None  # too shallow: the wave simply continues
                        if (level - p2) * wave_dir > 0:
                            p2 = level
                else:
                    if extreme is None or (extreme - level) * wave_dir > 0:
                        extreme = level
                    if (p2 - extreme) * wave_dir >= cfg.max_retrace * height:
                        wave_dir, extreme = 0, None
            if not wave_dir and run_len >= cfg.wave_min_bricks:
                wave_dir, p1, p2, extreme = direction, run_start, level, None

        w.level, w.direction, w.run_len, w.run_start = level, direction, run_len, run_start
        w.wave_dir, w.p1, w.p2, w.extreme = wave_dir, p1, p2, extreme
        if trigger is None:
            return None
        return self._signal(state, w, bar, trigger)

    def _signal(
        self, state: WaveRenkoState, w: _Work, bar: Bar, trigger: tuple[int, int, int, int]
    ) -> Signal | None:
        cfg = self.config
        wave_dir, p1, p2, extreme = trigger
        if not in_entry_window(state, bar):
            return None
        if cfg.trend_filter and state.trend != wave_dir:
            return None
        session_vwap = w.sums.vwap()
        if cfg.vwap_filter and (session_vwap is None or (bar.close - session_vwap) * wave_dir <= 0):
            return None
        anchor = w.anchor
        if anchor is None:  # unreachable: a trigger needs bricks, which need the anchor
            return None
        size = state.brick
        p1_price, p2_price = anchor + p1 * size, anchor + p2 * size
        extreme_price = anchor + extreme * size
        height = abs(p2_price - p1_price)
        retrace = abs(p2_price - extreme_price) / height
        return make_signal(
            strategy=self.name,
            regime=self.regime,
            bar=bar,
            side=Direction.LONG if wave_dir > 0 else Direction.SHORT,
            entry=bar.close,
            stop=extreme_price - wave_dir * cfg.stop_buffer_bricks * size,
            target=p2_price + wave_dir * cfg.target_wave_mult * height,
            min_rr=cfg.min_rr,
            reason=(
                f"wave {'up' if wave_dir > 0 else 'down'} {p1_price:.2f}->{p2_price:.2f} "
                f"({abs(p2 - p1)} bricks of {size:.4f}), pullback to {extreme_price:.2f} "
                f"(r={retrace:.2f}), resumed"
            ),
        )
