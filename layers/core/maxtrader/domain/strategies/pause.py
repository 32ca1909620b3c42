"""EXTREME_CALM_PAUSE: no new entries (capital preservation).

The strategy steps like the others (so a session can be driven uniformly) but never signals.
Open positions keep their exits; ``flatten_on_pause`` tells the caller whether to flatten them
instead when the regime turns to pause.
"""

from __future__ import annotations

from collections.abc import Sequence

from maxtrader.config.strategies import Pause, SessionRules
from maxtrader.domain.calendar import Session
from maxtrader.domain.models import Bar, Instrument, Regime, Signal
from maxtrader.domain.strategies.base import (
    StrategyState,
    accept_bar,
    accepted_bars,
    evolve,
    session_frame,
)


class PauseState(StrategyState):
    pass


class PauseStrategy:
    name = "pause"
    regime = Regime.EXTREME_CALM_PAUSE
    instrument = Instrument.OPTION  # never trades; the system default
    min_rr = float("inf")
    max_hold_minutes = 0
    history_sessions = 0

    def __init__(self, config: Pause, session_rules: SessionRules) -> None:
        self.config = config
        self.session_rules = session_rules
        self.flatten_on_pause = config.flatten_on_pause

    def start_session(self, symbol: str, session: Session, history: Sequence[Bar]) -> PauseState:
        return PauseState.model_validate(
            {**session_frame(symbol, session, self.session_rules), "note": "pause: no entries"}
        )

    def step(self, state: PauseState, bar: Bar) -> tuple[PauseState, list[Signal]]:
        if not accept_bar(state, bar):
            return state, []
        return evolve(state, {"last_ts": bar.ts}), []

    def step_many(
        self, state: PauseState, bars: Sequence[Bar]
    ) -> tuple[PauseState, list[tuple[int, list[Signal]]]]:
        """``step`` bar after bar (see base.py): the bars are checked, nothing else happens."""
        last = state.last_ts
        for _, bar in accepted_bars(state, bars):
            last = bar.ts
        return (state if last == state.last_ts else evolve(state, {"last_ts": last})), []

    def load_state(self, data: str | bytes) -> PauseState:
        return PauseState.model_validate_json(data)
