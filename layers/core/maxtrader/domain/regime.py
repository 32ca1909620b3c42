"""VIX regime detection: half-open bands, hysteresis, UNKNOWN on missing or invalid VIX.

Public API
    band(vix, rules) -> Regime
        The raw band of a valid VIX level, no hysteresis: [0, 8) EXTREME_CALM_PAUSE,
        [8, 13) ULTRA_LOW_VOL, [13, 30] NORMAL_VOL, (30, inf) HIGH_VOL (limits from RegimeRules).
    classify(vix, previous, rules) -> Regime
        One classification. ``previous`` is the regime held so far in this session (None for the
        session's first classification). Invalid VIX (None, NaN, inf, <= 0) -> UNKNOWN. With a
        previous regime the result moves across a boundary B only when VIX is beyond it by more
        than ``hysteresis``: up needs vix > B + h, down needs vix < B - h.
    RegimeState / RegimeDetector
        The serializable per-session state of the live "regime" function (and of backtests):
        ``detector.start_session(day)`` resets, ``detector.update(state, vix, observed_at, now)``
        applies staleness (``vix_max_age_minutes``, ``detector.max_age``) and hysteresis and
        returns the new state.
        An UNKNOWN reading does not forget the last valid regime: hysteresis keeps anchoring on
        it, so a brief data gap cannot flip the regime on its own.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

from pydantic import AwareDatetime

from maxtrader.config.strategies import RegimeRules
from maxtrader.domain.models import DomainModel, Regime

# Regimes ordered by volatility; UNKNOWN is outside the order.
_ORDER = (
    Regime.EXTREME_CALM_PAUSE,
    Regime.ULTRA_LOW_VOL,
    Regime.NORMAL_VOL,
    Regime.HIGH_VOL,
)


def is_valid_vix(vix: float | None) -> bool:
    """A usable VIX reading: present, finite and strictly positive."""
    return vix is not None and math.isfinite(vix) and vix > 0


def band(vix: float, rules: RegimeRules) -> Regime:
    """The raw band of a valid VIX level (no hysteresis)."""
    if not is_valid_vix(vix):
        return Regime.UNKNOWN
    if vix < rules.pause_below:
        return Regime.EXTREME_CALM_PAUSE
    if vix < rules.ultra_low_below:
        return Regime.ULTRA_LOW_VOL
    if vix <= rules.high_above:
        return Regime.NORMAL_VOL
    return Regime.HIGH_VOL


def _boundaries(rules: RegimeRules) -> tuple[float, float, float]:
    # boundary i separates _ORDER[i] and _ORDER[i + 1]
    return (rules.pause_below, rules.ultra_low_below, rules.high_above)


def classify(vix: float | None, previous: Regime | None, rules: RegimeRules) -> Regime:
    """Classify a VIX reading given the regime held so far in the session (None: first one)."""
    if vix is None or not is_valid_vix(vix):
        return Regime.UNKNOWN
    raw = band(vix, rules)
    if previous is None or previous is Regime.UNKNOWN or raw is previous:
        return raw
    bounds = _boundaries(rules)
    h = rules.hysteresis
    i = _ORDER.index(previous)
    target = _ORDER.index(raw)
    # Step one boundary at a time, and only while VIX is beyond it by more than h.
    while i < target and vix > bounds[i] + h:
        i += 1
    while i > target and vix < bounds[i - 1] - h:
        i -= 1
    return _ORDER[i]


class RegimeState(DomainModel):
    """What the regime detector knows in one session (stored between Lambda invocations)."""

    day: date
    regime: Regime = Regime.UNKNOWN
    # The last valid classification of this session: the hysteresis anchor (None: none yet).
    anchor: Regime | None = None
    vix: float | None = None  # the reading, when finite (the reason names a NaN/inf one)
    observed_at: AwareDatetime | None = None
    reason: str = "no VIX reading yet"


class RegimeDetector:
    """Applies staleness and hysteresis to successive VIX readings within a session."""

    def __init__(self, rules: RegimeRules) -> None:
        self.rules = rules
        self._max_age = timedelta(minutes=rules.vix_max_age_minutes)

    @property
    def max_age(self) -> timedelta:
        """How old a live reading may be (``now - observed_at``) and still classify."""
        return self._max_age

    def start_session(self, day: date) -> RegimeState:
        """A new session: the first classification ignores the previous session's regime."""
        return RegimeState(day=day)

    def update(
        self,
        state: RegimeState,
        vix: float | None,
        *,
        observed_at: datetime | None = None,
        now: datetime | None = None,
    ) -> RegimeState:
        """Classify a reading. ``observed_at``/``now`` enable the staleness check (live data);
        leave them out for a value that is fresh by construction (prior daily close)."""
        if vix is None:
            return self._unknown(state, vix, observed_at, "VIX is absent")
        if math.isnan(vix) or math.isinf(vix):
            return self._unknown(state, vix, observed_at, f"VIX is not finite ({vix})")
        if vix <= 0:
            return self._unknown(state, vix, observed_at, f"VIX is not positive ({vix})")
        if observed_at is not None and now is not None and now - observed_at > self._max_age:
            age = now - observed_at
            return self._unknown(
                state, vix, observed_at, f"VIX is stale ({age} old > {self._max_age})"
            )
        regime = classify(vix, state.anchor, self.rules)
        return RegimeState(
            day=state.day,
            regime=regime,
            anchor=regime,
            vix=vix,
            observed_at=observed_at,
            reason=f"VIX {vix:.2f}",
        )

    @staticmethod
    def _unknown(
        state: RegimeState, vix: float | None, observed_at: datetime | None, reason: str
    ) -> RegimeState:
        return RegimeState(
            day=state.day,
            regime=Regime.UNKNOWN,
            anchor=state.anchor,
            vix=vix if vix is not None and math.isfinite(vix) else None,
            observed_at=observed_at,
            reason=reason,
        )
