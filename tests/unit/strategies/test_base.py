"""The shared strategy plumbing: fast copies equal pydantic's, history splitting, windows."""

from __future__ import annotations

import pytest

from maxtrader.config.strategies import SessionRules
from maxtrader.domain.strategies.base import construct, evolve, session_frame, split_sessions
from maxtrader.domain.strategies.vwap import VwapSums
from maxtrader.domain.strategies.wave_renko import WaveRenkoState
from tests.unit.strategies.builders import DAY, at, path_bars, prior_days, session


def test_evolve_and_construct_equal_pydantic_copy_and_construct() -> None:
    state = WaveRenkoState.model_validate(session_frame("SPY", session(), SessionRules()))
    update = {"level": 3, "extreme": 1, "sums": VwapSums(n=2, v=10.0)}
    fast = evolve(state, update)
    slow = state.model_copy(update=update)
    assert fast == slow and fast.model_dump_json() == slow.model_dump_json()
    assert fast.model_fields_set == slow.model_fields_set
    assert state.level == 0  # the original is untouched
    assert WaveRenkoState.model_validate_json(fast.model_dump_json()) == fast
    values: dict[str, object] = {"n": 1, "shift": 2.0, "v": 3.0, "xv": 4.0, "x2v": 5.0}
    built = construct(VwapSums, dict(values))
    assert (
        built
        == VwapSums.model_construct(n=1, shift=2.0, v=3.0, xv=4.0, x2v=5.0)
        == VwapSums.model_validate(values)
    )
    with pytest.raises(Exception, match="frozen"):
        fast.level = 5  # type: ignore[misc]


def test_split_sessions_groups_by_new_york_day_and_guards_order_and_look_ahead() -> None:
    d1, d2 = prior_days(DAY, 2)
    bars = path_bars(d1, "09:30", [100.0] * 3) + path_bars(d2, "15:58", [101.0] * 2)
    groups = split_sessions(bars, DAY)
    assert [len(g) for g in groups] == [3, 2]
    with pytest.raises(ValueError, match="not strictly increasing"):
        split_sessions([bars[1], bars[0]], DAY)
    with pytest.raises(ValueError, match="look-ahead"):
        split_sessions(bars, d2)


def test_session_frame_entry_window() -> None:
    frame = session_frame("SPY", session(), SessionRules())
    assert frame["entry_start"] == at(DAY, "09:45") and frame["entry_end"] == at(DAY, "15:30")
