"""The bar-driven session step: regime policy -> strategy step -> the signals to size.

    routing = Routing(config, router=strategy_for)
    routing.entry_strategy(regime) -> str | None     who may enter under ``regime``
    routing.flattens(regime) -> bool                 the regime's policy flattens open positions
    routing.strategies(regimes) -> dict[str, Strategy]   every strategy a session must step
    routing.route(regime_state, emitted) -> BarStep  the step's outcome for one closed bar
    step_bar(routing, strategies, states, bar, regime_state) -> (states, BarStep)

Every strategy a session can route to is stepped on every closed bar of its symbol, whatever the
regime is at that bar: a strategy's state depends only on its own bars, so a regime change at any
bar hands over to a strategy whose state is already current (Wave-Renko's bricks and VWAP's sums
start at the open). Only the signals of the strategy the regime in force routes to are sized;
exits of open positions do not depend on the regime at all (trading/exits.py), except that a
regime whose policy flattens (``pause.flatten_on_pause``) closes them.

Live, ``step_bar`` runs once per bar with the states loaded from the session store; the
backtester steps each strategy over a whole session at once (``step_many``, the same states and
signals) and routes bar by bar with the same ``Routing.route``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from maxtrader.config.strategies import StrategiesConfig
from maxtrader.domain.models import Bar, Regime, Signal
from maxtrader.domain.regime import RegimeState
from maxtrader.domain.strategies.routing import regime_policy, strategy_for

__all__ = ["BarStep", "Router", "Routing", "step_bar"]

Router = Callable[[Regime, StrategiesConfig], Any]
_NO_SIGNALS: tuple[Signal, ...] = ()


@dataclass(frozen=True, slots=True)
class BarStep:
    """What one closed bar decides: the regime in force, who may enter, the signals to size."""

    regime: RegimeState
    strategy: str | None
    signals: tuple[Signal, ...]
    flatten: bool


class Routing:
    """The regime -> strategy routing of one configuration (memoised per regime)."""

    def __init__(self, config: StrategiesConfig, router: Router = strategy_for) -> None:
        self.config = config
        self._router = router
        self._strategy: dict[Regime, Any] = {}
        self._flattens: dict[Regime, bool] = {}

    def strategy(self, regime: Regime) -> Any:
        if regime not in self._strategy:
            self._strategy[regime] = self._router(regime, self.config)
        return self._strategy[regime]

    def entry_strategy(self, regime: Regime) -> str | None:
        strategy = self.strategy(regime)
        return None if strategy is None else str(strategy.name)

    def flattens(self, regime: Regime) -> bool:
        if regime not in self._flattens:
            policy = regime_policy(regime, self.config)
            self._flattens[regime] = policy.flatten_open_positions
        return self._flattens[regime]

    def strategies(self, regimes: Iterable[Regime]) -> dict[str, Any]:
        """The distinct strategies routed to under ``regimes``, in order of appearance."""
        out: dict[str, Any] = {}
        for regime in regimes:
            strategy = self.strategy(regime)
            if strategy is not None and strategy.name not in out:
                out[strategy.name] = strategy
        return out

    def route(self, regime: RegimeState, emitted: Mapping[str, Iterable[Signal]]) -> BarStep:
        """The signals of the strategy ``regime`` routes to, out of every strategy's."""
        name = self.entry_strategy(regime.regime)
        chosen = emitted.get(name, _NO_SIGNALS) if name is not None else _NO_SIGNALS
        return BarStep(regime, name, tuple(chosen), self.flattens(regime.regime))


def step_bar(
    routing: Routing,
    strategies: Mapping[str, Any],
    states: Mapping[str, Any],
    bar: Bar,
    regime: RegimeState,
) -> tuple[dict[str, Any], BarStep]:
    """Step every strategy's state for ``bar``'s symbol with ``bar`` (closed) and route."""
    new: dict[str, Any] = {}
    emitted: dict[str, list[Signal]] = {}
    for name, strategy in strategies.items():
        new[name], emitted[name] = strategy.step(states[name], bar)
    return new, routing.route(regime, emitted)
