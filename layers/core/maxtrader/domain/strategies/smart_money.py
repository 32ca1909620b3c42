"""HIGH_VOL: Smart Money zones (htf) + Homma trigger (ltf), multi-timeframe.

Zones come from closed htf candles (zones.py). On each closed ltf candle: every fresh zone it
touches (demand: low <= zone high; supply: high >= zone low; only candles starting at or after the
zone's formation) is consumed and opens a trigger window of the touch candle plus
trigger_window_bars more candles. The first candle in that window completing a bullish pattern
(demand; supply: bearish) whose close is inside or beyond the zone's far side (demand: close >=
zone low; supply: close <= zone high) is the trigger; the window then closes whether or not a
filter lets the signal out. Entry = the close of the 1-minute bar that closed the trigger candle;
stop = zone low - stop_zone_mult x height (supply: high + ...); target = the nearest fresh
opposing zone's near edge beyond the entry, else the highest high (lowest low) of the last
target_lookback_htf htf candles. Zones expire when zone_max_sessions sessions have started since
the one they formed in (formation session counts as the first).

Before the open, start_session replays the prior ``history_sessions`` sessions (no signals) to
rebuild the htf candles and the zones still alive, so live and backtest agree for a given day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time

from maxtrader.config.strategies import HighVol, SessionRules
from maxtrader.domain.calendar import Session
from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.models import Bar, Direction, DomainModel, Regime, Signal
from maxtrader.domain.strategies.aggregate import Candle, aggregate, session_candles
from maxtrader.domain.strategies.base import (
    StrategyState,
    accept_bar,
    accepted_bars,
    evolve,
    in_entry_window,
    make_signal,
    session_frame,
)
from maxtrader.domain.strategies.history import PriorSession, prior_sessions
from maxtrader.domain.strategies.homma import bearish_pattern, bullish_pattern
from maxtrader.domain.strategies.zones import DEMAND, SUPPLY, Zone, detect_zone

_HTF_SESSIONS_WARMUP = 3  # sessions of htf candles needed before the first zone can form


class Pending(DomainModel):
    zone: Zone
    remaining: int  # ltf candles (this one included) in which a pattern may still complete


class SmartMoneyState(StrategyState):
    htf: tuple[Candle, ...] = ()  # last closed htf candles, across sessions
    htf_partial: Candle | None = None
    ltf: tuple[Candle, ...] = ()  # last 3 closed ltf candles of the session
    ltf_partial: Candle | None = None
    zones: tuple[Zone, ...] = ()  # fresh zones
    pending: tuple[Pending, ...] = ()


@dataclass(slots=True)
class _Work:
    """Mutable working copy of the evolving part of the state (replay and step)."""

    htf: tuple[Candle, ...] = ()
    htf_partial: Candle | None = None
    ltf: tuple[Candle, ...] = ()
    ltf_partial: Candle | None = None
    zones: list[Zone] = field(default_factory=list)
    pending: list[Pending] = field(default_factory=list)


def _work(state: SmartMoneyState) -> _Work:
    return _Work(
        htf=state.htf,
        htf_partial=state.htf_partial,
        ltf=state.ltf,
        ltf_partial=state.ltf_partial,
        zones=list(state.zones),
        pending=list(state.pending),
    )


class SmartMoneyStrategy:
    name = "smart_money"
    regime = Regime.HIGH_VOL

    def __init__(self, config: HighVol, session_rules: SessionRules) -> None:
        self.config = config
        self.session_rules = session_rules
        self.instrument = config.instrument
        self.min_rr = config.min_rr
        self.max_hold_minutes = config.max_hold_minutes
        self.history_sessions = config.zone_max_sessions + _HTF_SESSIONS_WARMUP
        self._keep_htf = max(
            config.target_lookback_htf, config.atr_period + config.base_max_candles + 1
        )

    # -- session start ------------------------------------------------------------------------

    def start_session(
        self, symbol: str, session: Session, history: Sequence[Bar]
    ) -> SmartMoneyState:
        work = _Work()
        sessions = prior_sessions(history, session.day)[-self.history_sessions :]
        for i, prior in enumerate(sessions):
            if i:
                self._new_session(work)
            self._replay(work, prior)
        if sessions:
            self._new_session(work)
        frame = session_frame(symbol, session, self.session_rules)
        state = SmartMoneyState.model_validate(frame)
        return self._store(state, work, None)

    def _new_session(self, work: _Work) -> None:
        limit = self.config.zone_max_sessions
        work.zones = [
            z.model_copy(update={"age": z.age + 1}) for z in work.zones if z.age + 1 < limit
        ]
        work.ltf, work.ltf_partial, work.pending = (), None, []

    def _replay(self, work: _Work, prior: PriorSession) -> None:
        """A whole prior session at once: candles in order of their close, ltf first on ties
        (the order ``step`` sees them in), without per-minute bookkeeping. The candles are a
        summary of the session's bars (built once per backtest run, see history.py)."""
        cfg = self.config
        htf_minutes, ltf_minutes = cfg.htf_minutes, cfg.ltf_minutes

        def candles(bars: Sequence[Bar]) -> tuple[list[Candle], list[Candle]]:
            s_open, s_close = _prior_bounds(bars)
            return (
                session_candles(bars, s_open, s_close, htf_minutes),
                session_candles(bars, s_open, s_close, ltf_minutes),
            )

        htf, ltf = prior.summary(("candles", htf_minutes, ltf_minutes), candles)
        j = 0
        for candle in ltf:
            while j < len(htf) and htf[j].end < candle.end:
                self._on_htf(work, htf[j])
                j += 1
            self._on_ltf(work, candle)
        for candle in htf[j:]:
            self._on_htf(work, candle)

    # -- per bar ------------------------------------------------------------------------------

    def load_state(self, data: str | bytes) -> SmartMoneyState:
        return SmartMoneyState.model_validate_json(data)

    def step(self, state: SmartMoneyState, bar: Bar) -> tuple[SmartMoneyState, list[Signal]]:
        if not accept_bar(state, bar):
            return state, []
        work = _work(state)
        signals = self._signals(state, work, bar)
        return self._store(state, work, bar.ts), signals

    def step_many(
        self, state: SmartMoneyState, bars: Sequence[Bar]
    ) -> tuple[SmartMoneyState, list[tuple[int, list[Signal]]]]:
        """``step`` bar after bar (see base.py), converting the state once."""
        work = _work(state)
        events: list[tuple[int, list[Signal]]] = []
        last: datetime | None = None
        for i, bar in accepted_bars(state, bars):
            last = bar.ts
            signals = self._signals(state, work, bar)
            if signals:
                events.append((i, signals))
        return (state if last is None else self._store(state, work, last)), events

    def _signals(self, state: SmartMoneyState, work: _Work, bar: Bar) -> list[Signal]:
        """One accepted bar into the working state; the signals it triggers."""
        triggers = self._feed(work, bar, state.session_open, state.session_close)
        signals: list[Signal] = []
        if triggers and in_entry_window(state, bar):
            sides: set[int] = set()
            for zone, pattern in triggers:
                if zone.kind in sides:
                    continue  # one signal per side and bar (same deterministic id)
                signal = self._signal(work, bar, zone, pattern)
                if signal is not None:
                    sides.add(zone.kind)
                    signals.append(signal)
        return signals

    def _store(self, state: SmartMoneyState, work: _Work, ts: datetime | None) -> SmartMoneyState:
        update: dict[str, object] = {
            "htf": work.htf,
            "htf_partial": work.htf_partial,
            "ltf": work.ltf,
            "ltf_partial": work.ltf_partial,
            "zones": tuple(work.zones),
            "pending": tuple(work.pending),
        }
        if ts is not None:
            update["last_ts"] = ts
        return evolve(state, update)

    def _feed(
        self, work: _Work, bar: Bar, s_open: datetime, s_close: datetime
    ) -> list[tuple[Zone, str]]:
        cfg = self.config
        work.ltf_partial, ltf_closed = aggregate(
            work.ltf_partial, bar, s_open, s_close, cfg.ltf_minutes
        )
        work.htf_partial, htf_closed = aggregate(
            work.htf_partial, bar, s_open, s_close, cfg.htf_minutes
        )
        triggers: list[tuple[Zone, str]] = []
        for candle in ltf_closed:  # before htf: a zone formed now is not touched by its own bar
            triggers += self._on_ltf(work, candle)
        for candle in htf_closed:
            self._on_htf(work, candle)
        return triggers

    def _on_ltf(self, work: _Work, candle: Candle) -> list[tuple[Zone, str]]:
        work.ltf = (*work.ltf[-2:], candle)
        window = self.config.trigger_window_bars + 1
        fresh: list[Zone] = []
        for zone in work.zones:
            if candle.start >= zone.formed_at and zone.touched_by(candle):
                work.pending.append(Pending(zone=zone, remaining=window))  # consumed
            else:
                fresh.append(zone)
        work.zones = fresh
        triggers: list[tuple[Zone, str]] = []
        still: list[Pending] = []
        for p in work.pending:
            zone = p.zone
            if zone.kind == DEMAND:
                pattern = bullish_pattern(work.ltf) if candle.close >= zone.low else None
            else:
                pattern = bearish_pattern(work.ltf) if candle.close <= zone.high else None
            if pattern is not None:
                triggers.append((zone, pattern))
            elif p.remaining > 1:
                still.append(Pending(zone=zone, remaining=p.remaining - 1))
        work.pending = still
        return triggers

    def _on_htf(self, work: _Work, candle: Candle) -> None:
        cfg = self.config
        work.htf = (*work.htf[-(self._keep_htf - 1) :], candle)
        zone = detect_zone(
            work.htf,
            atr_period=cfg.atr_period,
            displacement_atr=cfg.displacement_atr,
            base_max_candles=cfg.base_max_candles,
            base_max_body_pct=cfg.base_max_body_pct,
        )
        if zone is not None:
            work.zones.append(zone)

    def _signal(self, work: _Work, bar: Bar, zone: Zone, pattern: str) -> Signal | None:
        cfg = self.config
        entry = bar.close
        recent = work.htf[-cfg.target_lookback_htf :]
        if zone.kind == DEMAND:
            side = Direction.LONG
            stop = zone.low - cfg.stop_zone_mult * zone.height
            above = [z.low for z in work.zones if z.kind == SUPPLY and z.low > entry]
            target = min(above) if above else max((c.high for c in recent), default=entry)
        else:
            side = Direction.SHORT
            stop = zone.high + cfg.stop_zone_mult * zone.height
            below = [z.high for z in work.zones if z.kind == DEMAND and z.high < entry]
            target = max(below) if below else min((c.low for c in recent), default=entry)
        kind = "demand" if zone.kind == DEMAND else "supply"
        return make_signal(
            strategy=self.name,
            regime=self.regime,
            bar=bar,
            side=side,
            entry=entry,
            stop=stop,
            target=target,
            min_rr=cfg.min_rr,
            reason=f"{pattern} at {kind} zone [{zone.low:.2f}, {zone.high:.2f}]",
        )


def _prior_bounds(bars: Sequence[Bar]) -> tuple[datetime, datetime]:
    """Bucket anchors of a prior session: 09:30 and 16:00 New York of its day.

    On an early-close day the last bucket simply ends with the session's last bar: the flush at
    the end of each replayed session closes it, with the same content.
    """
    day = bars[0].ts.astimezone(NEW_YORK).date()
    return (
        datetime.combine(day, time(9, 30), tzinfo=NEW_YORK),
        datetime.combine(day, time(16, 0), tzinfo=NEW_YORK),
    )
