"""Property: whatever mix of dropped connections, clean closes, refused POSTs and backlogs a
session sees, every bar the relay received reaches the ingest exactly once, in order per symbol.

Each generated step waits until its effect is visible (the receiver saw the bars in a signed POST,
the emulator saw the next subscription) before the next one, so the property is about the relay,
not about which side of a race a bar fell on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maxtrader.emulators.massive_stream import MassiveStreamEmulator, StreamStats
from maxtrader.relay import Relay, RelaySettings
from tests.support.relay_harness import NOW, WAIT, Gate, Receiver, RunningRelay, bars_of

KEY = "property-key"
SECRET = "property-webhook-secret"
SYMBOLS = ("SPY", "QQQ")

_STEP = st.one_of(
    st.tuples(st.just("publish"), st.sampled_from(SYMBOLS), st.integers(1, 4)),
    st.tuples(st.just("drop")),
    st.tuples(st.just("close")),
    st.tuples(st.just("refuse"), st.lists(st.sampled_from([500, 502, 503, 429, 401]), max_size=3)),
    st.tuples(st.just("backlog"), st.sampled_from(SYMBOLS), st.integers(1, 3)),
)


def _session_up(number: int) -> Callable[[StreamStats], bool]:
    """The ``number``-th authenticated session is the one open connection."""
    return lambda s: s.auth_successes >= number and s.open_connections == 1


def _has_seen(keys: list[tuple[str, int]]) -> Callable[[Receiver], bool]:
    return lambda r: set(keys) <= r.seen


@pytest.mark.property
@pytest.mark.faults
@pytest.mark.slow
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(_STEP, min_size=1, max_size=6), batch_size=st.integers(1, 5))
def test_every_received_bar_reaches_ingest_exactly_once(
    steps: list[tuple[Any, ...]], batch_size: int
) -> None:
    with MassiveStreamEmulator(api_key=KEY) as stream:
        receiver = Receiver(SECRET)
        gate = Gate()
        relay = Relay(
            RelaySettings(symbols=SYMBOLS, ingest_url=receiver.url, feed=stream.feed,
                          secure=False, linger_seconds=0, batch_size=batch_size),
            api_key=lambda force: KEY, ingest_secret=lambda force: SECRET, sleep=gate.sleep,
            rand=lambda: 0.5, unix_time=lambda: NOW,
        )  # fmt: skip
        running = RunningRelay(relay)
        published: list[tuple[str, int]] = []
        next_minute = dict.fromkeys(SYMBOLS, 0)
        sessions = 1
        try:
            topics = {f"AM.{x}" for x in SYMBOLS}
            assert stream.wait_until(lambda s: topics <= s.live_topics, WAIT)
            for step in steps:
                kind = step[0]
                if kind in ("publish", "backlog"):
                    symbol, count = str(step[1]), int(step[2])
                    bars = bars_of(symbol, next_minute[symbol], count)
                    next_minute[symbol] += count
                    keys = [(b.symbol, int(b.ts.timestamp() * 1000)) for b in bars]
                    published += keys
                    if kind == "backlog":  # published while the relay is away
                        gate.open.clear()
                        sleepers = gate.sleepers
                        stream.drop()
                        assert gate.wait_sleepers(sleepers + 1)
                        assert stream.publish(bars) == 0
                        gate.open.set()
                        sessions += 1
                        assert stream.wait_until(_session_up(sessions), WAIT)
                    else:
                        stream.publish(bars)
                    assert receiver.wait_for(_has_seen(keys))
                elif kind in ("drop", "close"):
                    if kind == "drop":
                        stream.drop()
                    else:
                        stream.close(1000)
                    sessions += 1
                    assert stream.wait_until(_session_up(sessions), WAIT)
                else:
                    receiver.fail(*step[1])
            assert receiver.wait_for(lambda r: len(r.received) >= len(published))
        finally:
            running.stop()
            receiver.close()
        counts = Counter(receiver.received)
        assert set(counts) == set(published)
        assert max(counts.values(), default=1) == 1
        for symbol in SYMBOLS:
            assert [k for k in receiver.received if k[0] == symbol] == [
                k for k in published if k[0] == symbol
            ]
        assert relay.pending == 0
