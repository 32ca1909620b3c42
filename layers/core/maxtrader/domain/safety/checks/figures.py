"""The figures a decision rests on, from the engine's own state first and the caller second.

- equity: the stored marked equity (the monitor's last ``mark_to_market``);
- start-of-day equity: what the pre-market run stored for the New York day;
- reward/risk: from the intent's own entry, stop and target, the levels consistent with its side.

A caller's figure is only a cross-check: one that differs by more than ``figures.tolerance_pct``
fails closed, naming both. When both agree the lower equity is used (the tighter limits). Nothing
stored yet fails closed: there is no figure the engine can vouch for.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from maxtrader.domain.models import Instrument, OrderIntent, OrderSide
from maxtrader.domain.safety.context import MarketContext
from maxtrader.domain.safety.state import Snapshot

# OCC option symbol (optionally with a vendor's "O:" prefix): root, YYMMDD, C/P, strike x 1000.
_OCC = re.compile(r"^(?:O:)?[A-Z.]{1,6}\d{6}([CP])\d{8}$")


@dataclass(frozen=True, slots=True)
class Figure:
    """A resolved figure (None: none the engine can use) and why, when it cannot be trusted."""

    value: float | None
    problem: str = ""


@dataclass(frozen=True, slots=True)
class Figures:
    equity: Figure
    start_equity: Figure
    reward_risk: Figure


def resolve(
    intent: OrderIntent, market: MarketContext, snap: Snapshot, tolerance: float
) -> Figures:
    return Figures(
        equity=_cross_checked(
            "equity", snap.portfolio.equity, market.equity, tolerance, "no marked equity stored"
        ),
        start_equity=_cross_checked(
            "start-of-day equity",
            snap.start_of_day_equity,
            market.start_of_day_equity,
            tolerance,
            "no start-of-day equity stored for today",
        ),
        reward_risk=_reward_risk(intent, market.reward_risk, tolerance),
    )


def _disagree(ours: float, theirs: float, tolerance: float) -> bool:
    return abs(theirs - ours) > tolerance * abs(ours)


def _cross_checked(
    name: str, stored: float | None, given: float | None, tolerance: float, missing: str
) -> Figure:
    if stored is None:
        return Figure(None, f"{missing} (fail closed)")
    if given is not None and _disagree(stored, given, tolerance):
        return Figure(
            None,
            f"caller's {name} {given:.2f} disagrees with the stored {stored:.2f} "
            f"(tolerance {tolerance:.2%})",
        )
    return Figure(stored if given is None else min(stored, given))


def intent_reward_risk(intent: OrderIntent) -> tuple[float | None, str]:
    """Reward/risk from the intent's own levels: (value, "") or (None, why not).

    The entry is the order's price for an equity, ``underlying_price`` for an option (whose stop
    and target are underlying levels). A buy (a call) needs stop < entry < target, a sell (a put)
    target < entry < stop. (None, "") when the intent carries no levels to compute from.
    """
    entry = intent.underlying_price
    if intent.instrument is Instrument.EQUITY:
        entry = intent.limit_price if intent.limit_price is not None else intent.est_price
    stop, target = intent.stop, intent.target
    if entry is None or stop is None or target is None:
        return None, ""
    long = _long_levels(intent)
    ok = stop < entry < target if long else target < entry < stop
    if long is None:  # an option whose right we cannot read: either orientation, strictly
        ok = stop < entry < target or target < entry < stop
    if not ok:
        side = {True: "long", False: "short", None: "option"}[long]
        return None, (
            f"levels inconsistent with a {side} entry: stop {stop}, entry {entry}, target {target}"
        )
    return abs(target - entry) / abs(entry - stop), ""


def _long_levels(intent: OrderIntent) -> bool | None:
    if intent.instrument is Instrument.EQUITY:
        return intent.side is OrderSide.BUY
    match = _OCC.match(intent.symbol)
    return None if match is None else match.group(1) == "C"


def _reward_risk(intent: OrderIntent, given: float | None, tolerance: float) -> Figure:
    ours, problem = intent_reward_risk(intent)
    if problem:
        return Figure(None, problem)
    if ours is None:
        # The intent carries no levels: the caller's figure is all there is (docs: trust model).
        if given is None:
            return Figure(None, "reward/risk unknown (fail closed)")
        return Figure(given)
    if not math.isfinite(ours):
        return Figure(None, f"reward/risk {ours} is not finite")
    if given is not None and _disagree(ours, given, tolerance):
        return Figure(
            None,
            f"caller's reward/risk {given:.3f} disagrees with the intent's own {ours:.3f}",
        )
    return Figure(ours)
