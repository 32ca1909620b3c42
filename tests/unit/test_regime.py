"""Regime bands (half-open, exact edges), hysteresis, and UNKNOWN on bad VIX."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.config.strategies import RegimeRules
from maxtrader.domain.models import Regime
from maxtrader.domain.regime import RegimeDetector, RegimeState, band, classify

RULES = RegimeRules()
P, U, N, H, X = (
    Regime.EXTREME_CALM_PAUSE,
    Regime.ULTRA_LOW_VOL,
    Regime.NORMAL_VOL,
    Regime.HIGH_VOL,
    Regime.UNKNOWN,
)


@pytest.mark.parametrize(
    ("vix", "expected"),
    [
        (0.01, P),
        (7.99, P),
        (8.0, U),  # 8 opens ULTRA_LOW_VOL
        (12.99, U),
        (13.0, N),  # 13 opens NORMAL_VOL
        (29.99, N),
        (30.0, N),  # 30 still NORMAL_VOL (closed upper edge)
        (30.0001, H),
        (80.0, H),
    ],
)
def test_bands_are_half_open_at_8_13_and_closed_at_30(vix: float, expected: Regime) -> None:
    assert band(vix, RULES) is expected
    assert classify(vix, None, RULES) is expected


@pytest.mark.parametrize("vix", [None, 0.0, -1.0, math.nan, math.inf, -math.inf])
def test_missing_or_invalid_vix_is_unknown(vix: float | None) -> None:
    assert classify(vix, None, RULES) is X
    assert classify(vix, N, RULES) is X


@pytest.mark.parametrize(
    ("previous", "vix", "expected"),
    [
        (N, 30.5, N),  # NORMAL -> HIGH needs > 30.5
        (N, 30.51, H),
        (H, 29.5, H),  # HIGH -> NORMAL needs < 29.5
        (H, 29.49, N),
        (H, 30.0, H),  # inside the hysteresis zone the regime holds
        (N, 13.0, N),
        (N, 12.5, N),  # NORMAL -> ULTRA needs < 12.5
        (N, 12.49, U),
        (U, 13.5, U),  # ULTRA -> NORMAL needs > 13.5
        (U, 13.51, N),
        (U, 7.5, U),
        (U, 7.49, P),
        (P, 8.5, P),
        (P, 8.51, U),
        (U, 30.2, N),  # a jump over two boundaries stops where the hysteresis holds it
        (U, 31.0, H),
        (H, 5.0, P),
        (X, 30.2, H),  # after UNKNOWN without an anchor: raw bands
    ],
)
def test_hysteresis(previous: Regime, vix: float, expected: Regime) -> None:
    assert classify(vix, previous, RULES) is expected


@settings(max_examples=300, deadline=None)
@given(
    vix=st.floats(min_value=0.01, max_value=100, allow_nan=False),
    previous=st.sampled_from([P, U, N, H]),
)
def test_hysteresis_moves_only_towards_the_raw_band(vix: float, previous: Regime) -> None:
    order = [P, U, N, H]
    got = classify(vix, previous, RULES)
    raw = band(vix, RULES)
    lo, hi = sorted((order.index(previous), order.index(raw)))
    assert lo <= order.index(got) <= hi
    # Readings well inside a band always land there, whatever came before.
    if all(abs(vix - b) > RULES.hysteresis for b in (8.0, 13.0, 30.0)):
        assert got is raw


NOW = datetime(2024, 6, 3, 15, 0, tzinfo=UTC)


def test_detector_first_classification_ignores_yesterday_then_applies_hysteresis() -> None:
    det = RegimeDetector(RULES)
    state = det.start_session(date(2024, 6, 3))
    assert state.regime is X
    state = det.update(state, 30.2, observed_at=NOW, now=NOW)
    assert state.regime is H  # first classification: raw band
    state = det.update(state, 29.8, observed_at=NOW, now=NOW)
    assert state.regime is H  # within hysteresis
    state = det.update(state, 29.4, observed_at=NOW, now=NOW)
    assert state.regime is N


def test_stale_vix_is_unknown_but_keeps_the_hysteresis_anchor() -> None:
    det = RegimeDetector(RULES)
    state = det.update(det.start_session(date(2024, 6, 3)), 30.6, observed_at=NOW, now=NOW)
    assert state.regime is H
    stale = det.update(state, 29.8, observed_at=NOW, now=NOW + timedelta(minutes=15, seconds=1))
    assert stale.regime is X and "stale" in stale.reason
    assert stale.anchor is H
    fresh = det.update(
        stale, 29.8, observed_at=NOW + timedelta(minutes=20), now=NOW + timedelta(minutes=20)
    )
    assert fresh.regime is H  # 29.8 is within the hysteresis of the anchor
    at_limit = det.update(state, 20.0, observed_at=NOW, now=NOW + timedelta(minutes=15))
    assert at_limit.regime is N  # exactly 15 minutes old is still fresh


@pytest.mark.parametrize(
    ("vix", "word"), [(None, "absent"), (math.nan, "finite"), (0.0, "positive")]
)
def test_detector_names_the_reason_for_unknown(vix: float | None, word: str) -> None:
    det = RegimeDetector(RULES)
    state = det.update(det.start_session(date(2024, 6, 3)), vix)
    assert state.regime is X and word in state.reason


def test_regime_state_round_trips_through_json() -> None:
    det = RegimeDetector(RULES)
    state = det.update(det.start_session(date(2024, 6, 3)), 14.2, observed_at=NOW, now=NOW)
    assert RegimeState.model_validate_json(state.model_dump_json()) == state
    nan_state = det.update(state, math.nan)
    assert RegimeState.model_validate_json(nan_state.model_dump_json()) == nan_state
    assert nan_state.regime is X and nan_state.anchor is N and nan_state.vix is None


def test_custom_bands_are_honoured() -> None:
    rules = RegimeRules(pause_below=9, ultra_low_below=14, high_above=25, hysteresis=0)
    assert [band(v, rules) for v in (8.9, 9.0, 13.9, 14.0, 25.0, 25.01)] == [P, U, U, N, N, H]
    assert classify(25.01, N, rules) is H  # zero hysteresis: any crossing moves
