"""ULTRA_LOW_VOL: VWAP mean reversion.

Per closed bar t (no prior-session parameters needed): session VWAP_t and sigma_t over the
session's bars up to t; once >= min_bars bars, band half-width d_t = max(band_sigma x sigma_t,
min_band_pct x close_t). Long when close_{t-1} < VWAP_{t-1} - d_{t-1} and close_t > VWAP_t - d_t
(price re-enters the band from below; each close is compared with the band of its own bar);
short mirrors at the upper band. Target VWAP_t; stop = lowest low of the last stop_lookback_bars
bars (bar t included) - stop_buffer_pct x entry (short: highest high + buffer). Entries when the
bar closes in [entry_start, entry_end) intersected with the session's entry window; after a
signal, cooldown_bars bars without a new one; at most max_signals_per_day per session.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from maxtrader.config.strategies import SessionRules, VwapMeanReversion
from maxtrader.domain.calendar import Session
from maxtrader.domain.models import Bar, Direction, Regime, Signal
from maxtrader.domain.strategies.base import (
    StrategyState,
    accept_bar,
    evolve,
    feed_many,
    in_entry_window,
    make_signal,
    session_frame,
)
from maxtrader.domain.strategies.vwap import RunningVwap, VwapSums


class VwapReversionState(StrategyState):
    sums: VwapSums = VwapSums()
    prev_close: float | None = None
    prev_lower: float | None = None  # band of the previous bar (None until min_bars)
    prev_upper: float | None = None
    lows: tuple[float, ...] = ()  # last stop_lookback_bars lows/highs, oldest first
    highs: tuple[float, ...] = ()
    cooldown: int = 0  # bars still blocked after a signal
    signals_today: int = 0


class _Work:
    """The fields a bar changes, mutable: one per step, or one per step_many call."""

    __slots__ = (
        "cooldown",
        "highs",
        "last_ts",
        "lows",
        "prev_close",
        "prev_lower",
        "prev_upper",
        "signals_today",
        "sums",
    )

    def __init__(self, s: VwapReversionState, keep: int) -> None:
        self.last_ts, self.sums = s.last_ts, RunningVwap(s.sums)
        self.prev_close, self.prev_lower, self.prev_upper = s.prev_close, s.prev_lower, s.prev_upper
        # the last ``keep`` lows/highs, bar t included once it is appended
        self.lows, self.highs = deque(s.lows, maxlen=keep), deque(s.highs, maxlen=keep)
        self.cooldown, self.signals_today = s.cooldown, s.signals_today

    def state(self, s: VwapReversionState) -> VwapReversionState:
        return evolve(
            s,
            {
                "last_ts": self.last_ts,
                "sums": self.sums.sums(),
                "prev_close": self.prev_close,
                "prev_lower": self.prev_lower,
                "prev_upper": self.prev_upper,
                "lows": tuple(self.lows),
                "highs": tuple(self.highs),
                "cooldown": self.cooldown,
                "signals_today": self.signals_today,
            },
        )


class VwapReversionStrategy:
    name = "vwap_reversion"
    regime = Regime.ULTRA_LOW_VOL
    history_sessions = 0

    def __init__(self, config: VwapMeanReversion, session_rules: SessionRules) -> None:
        self.config = config
        self.session_rules = session_rules
        self.instrument = config.instrument
        self.min_rr = config.min_rr
        self.max_hold_minutes = config.max_hold_minutes

    def start_session(
        self, symbol: str, session: Session, history: Sequence[Bar]
    ) -> VwapReversionState:
        state = VwapReversionState.model_validate(
            session_frame(symbol, session, self.session_rules)
        )
        # The strategy's own hours, intersected with the session's entry window.
        start = max(state.entry_start, session.at(self.config.entry_start))
        end = min(state.entry_end, session.at(self.config.entry_end))
        return state.model_copy(update={"entry_start": start, "entry_end": end})

    def load_state(self, data: str | bytes) -> VwapReversionState:
        return VwapReversionState.model_validate_json(data)

    def step(self, state: VwapReversionState, bar: Bar) -> tuple[VwapReversionState, list[Signal]]:
        if not accept_bar(state, bar):
            return state, []
        work = _Work(state, self.config.stop_lookback_bars)
        signal = self._feed(state, work, bar)
        return work.state(state), [signal] if signal is not None else []

    def step_many(
        self, state: VwapReversionState, bars: Sequence[Bar]
    ) -> tuple[VwapReversionState, list[tuple[int, list[Signal]]]]:
        """``step`` bar after bar (see base.py), converting the state once."""
        return feed_many(state, bars, _Work(state, self.config.stop_lookback_bars), self._feed)

    def _feed(self, state: VwapReversionState, w: _Work, bar: Bar) -> Signal | None:
        """One accepted bar into the working state; the signal it triggers, if any."""
        cfg = self.config
        w.last_ts = bar.ts
        sums = w.sums
        sums.add(bar)
        w.lows.append(bar.low)
        w.highs.append(bar.high)
        close = bar.close
        lower = upper = mid = sd = None
        if sums.n >= cfg.min_bars:  # before that no band, so no signal: VWAP not needed
            stats = sums.stats()
            if stats is not None:
                mid, sd = stats
                wide, narrow = cfg.band_sigma * sd, cfg.min_band_pct * close
                half = narrow if narrow > wide else wide  # max(wide, narrow), without the call
                lower, upper = mid - half, mid + half
        blocked = w.cooldown > 0
        signal: Signal | None = None
        side: Direction | None = None
        if lower is not None and upper is not None and w.prev_close is not None:
            if w.prev_lower is not None and w.prev_close < w.prev_lower and close > lower:
                side = Direction.LONG
            elif w.prev_upper is not None and w.prev_close > w.prev_upper and close < upper:
                side = Direction.SHORT
        if (
            side is not None
            and mid is not None
            and not blocked
            and w.signals_today < cfg.max_signals_per_day
            and in_entry_window(state, bar)
        ):
            buffer = cfg.stop_buffer_pct * close
            stop = min(w.lows) - buffer if side is Direction.LONG else max(w.highs) + buffer
            band = lower if side is Direction.LONG else upper
            signal = make_signal(
                strategy=self.name,
                regime=self.regime,
                bar=bar,
                side=side,
                entry=close,
                stop=stop,
                target=mid,
                min_rr=cfg.min_rr,
                reason=(
                    f"close {close:.2f} back inside the band at {band:.2f} "
                    f"(VWAP {mid:.2f}, sigma {sd:.4f})"
                ),
            )
        w.prev_close, w.prev_lower, w.prev_upper = close, lower, upper
        if signal is not None:
            w.cooldown = cfg.cooldown_bars
            w.signals_today += 1
        else:
            w.cooldown = w.cooldown - 1 if w.cooldown > 0 else 0  # max(cooldown - 1, 0)
        return signal
