"""The relay's reconnect and retry delays: exponential, capped, jittered within known bounds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maxtrader.relay import backoff_delay


@pytest.mark.property
@given(
    attempt=st.integers(0, 10_000),
    base=st.floats(0.01, 10),
    cap_factor=st.floats(1, 1000),
    rand=st.floats(0, 1),
)
def test_delay_is_between_half_and_all_of_the_capped_exponential(
    attempt: int, base: float, cap_factor: float, rand: float
) -> None:
    cap = base * cap_factor
    ceiling = min(cap, base * 2.0 ** min(attempt, 32))
    delay = backoff_delay(attempt, base, cap, rand)
    assert ceiling / 2 <= delay <= ceiling <= cap


@pytest.mark.property
@given(attempt=st.integers(0, 100), rand=st.floats(0, 1))
def test_delay_never_shrinks_as_attempts_grow(attempt: int, rand: float) -> None:
    assert backoff_delay(attempt + 1, 1, 60, rand) >= backoff_delay(attempt, 1, 60, rand)


def test_known_sequence() -> None:
    assert [backoff_delay(n, 1, 60, 0.0) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert [backoff_delay(n, 1, 60, 1.0) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
