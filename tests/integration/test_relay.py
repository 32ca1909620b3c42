"""The relay end to end: the real ``massive.WebSocketClient`` against the stream emulator, POSTing
to a local receiver that verifies every signature with ``maxtrader.webhook.verify``.

Every wait is on a condition (the emulator's stats, the receiver's count, a gate the relay's
injected sleep blocks on), bounded by a timeout; nothing sleeps on the wall clock.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from maxtrader.domain.errors import SecretUnavailableError
from maxtrader.domain.models import Bar
from maxtrader.emulators.massive_stream import MassiveStreamEmulator, StreamStats
from maxtrader.relay import Relay, RelaySettings
from tests.support.relay_harness import NOW, WAIT, Gate, Receiver, RunningRelay, bars_of

KEY = "relay-test-api-key-7f3a"
SECRET = "relay-test-webhook-secret-91c2"


@pytest.fixture
def stream() -> Iterator[MassiveStreamEmulator]:
    with MassiveStreamEmulator(api_key=KEY) as emu:
        yield emu


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver(SECRET)
    yield rec
    rec.close()


def _relay(
    stream: MassiveStreamEmulator,
    receiver: Receiver,
    *,
    api_key: Callable[[bool], str] = lambda force: KEY,
    secret: Callable[[bool], str] = lambda force: SECRET,
    gate: Gate | None = None,
    **settings: Any,
) -> RunningRelay:
    relay = Relay(
        RelaySettings(symbols=("SPY", "QQQ"), ingest_url=receiver.url, feed=stream.feed,
                      secure=False, **{"linger_seconds": 0, **settings}),
        api_key=api_key, ingest_secret=secret, sleep=(gate or Gate()).sleep,
        rand=lambda: 0.5, unix_time=lambda: NOW,
    )  # fmt: skip
    return RunningRelay(relay)


def _subscribed(session: int) -> Callable[[StreamStats], bool]:
    """The ``session``-th authenticated connection is up and subscribed to both symbols."""
    return lambda s: s.auth_successes >= session and {"AM.SPY", "AM.QQQ"} <= s.live_topics


def _rotated(old: str, new: str) -> tuple[Callable[[bool], str], list[bool]]:
    """A secret source giving ``old`` until asked to refresh; and the flags it was asked with."""
    asked: list[bool] = []

    def read(force: bool) -> str:
        asked.append(force)
        return new if force else old

    return read, asked


def _see_through(
    running: RunningRelay, stream: MassiveStreamEmulator, receiver: Receiver, bars: list[Bar]
) -> None:
    """Once subscribed, publish ``bars``, wait until the receiver holds them, stop the relay."""
    try:
        assert stream.wait_until(_subscribed(1), WAIT)
        stream.publish(bars)
        assert receiver.wait_for(lambda r: len(r.received) >= len(bars))
    finally:
        running.stop()


def _keys(bars: list[Bar]) -> list[tuple[str, int]]:
    return [(b.symbol, int(b.ts.timestamp() * 1000)) for b in bars]


def _exactly_once(receiver: Receiver, expected: list[Bar]) -> None:
    counts = Counter(receiver.received)
    assert set(counts) == set(_keys(expected))
    assert max(counts.values()) == 1, "a bar reached the ingest twice"
    for symbol in ("SPY", "QQQ"):  # per symbol, in the order they were published
        assert [k for k in receiver.received if k[0] == symbol] == [
            k for k in _keys(expected) if k[0] == symbol
        ]


def test_connect_auth_subscribe_and_forward(
    stream: MassiveStreamEmulator, receiver: Receiver
) -> None:
    running = _relay(stream, receiver)
    try:
        assert stream.wait_until(_subscribed(1), WAIT)
        bars = [b for pair in zip(bars_of("SPY", 0, 5), bars_of("QQQ", 0, 5), strict=True)
                for b in pair]  # fmt: skip
        stream.publish(bars[:4], one_frame=True)  # the vendor batches events in one frame
        stream.publish(bars[4:])
        assert receiver.wait_for(lambda r: len(r.received) >= 10)
    finally:
        running.stop()
    _exactly_once(receiver, bars)
    assert receiver.bad_signatures == 0
    stats = running.relay.stats
    assert (stats.connections, stats.sessions, stats.received, stats.posted) == (1, 1, 10, 10)
    assert running.relay.pending == 0


def test_a_dropped_connection_reconnects_and_the_backlog_arrives_once(
    stream: MassiveStreamEmulator, receiver: Receiver
) -> None:
    gate = Gate()
    running = _relay(stream, receiver, gate=gate)
    try:
        assert stream.wait_until(_subscribed(1), WAIT)
        first = bars_of("SPY", 0, 3) + bars_of("QQQ", 0, 3)
        stream.publish(first)
        assert receiver.wait_for(lambda r: len(r.received) >= 6)
        gate.open.clear()  # hold the relay in its backoff while the market moves on
        assert stream.drop() == 1
        assert gate.wait_sleepers(1)
        backlog = bars_of("SPY", 3, 4) + bars_of("QQQ", 3, 4)
        assert stream.publish(backlog) == 0  # nobody is listening: all of it is held
        assert stream.stats().held == 8
        gate.open.set()
        assert stream.wait_until(_subscribed(2), WAIT)
        assert receiver.wait_for(lambda r: len(r.received) >= 14)
        assert stream.stats().held == 0
    finally:
        running.stop()
    _exactly_once(receiver, first + backlog)
    stats = running.relay.stats
    assert (stats.connections, stats.sessions) == (2, 2)
    assert stats.reconnect_delays == [0.75]  # attempt 0 after a good session: base/2 + 0.5 * base/2


def test_a_clean_close_does_not_end_the_relay(
    stream: MassiveStreamEmulator, receiver: Receiver
) -> None:
    running = _relay(stream, receiver)
    try:
        assert stream.wait_until(_subscribed(1), WAIT)
        assert stream.close(1000) == 1  # the client's connect() returns: the relay must loop
        assert stream.wait_until(_subscribed(2), WAIT)
        bars = bars_of("SPY", 0, 2)
        stream.publish(bars)
        assert receiver.wait_for(lambda r: len(r.received) >= 2)
    finally:
        running.stop()
    _exactly_once(receiver, bars)
    assert running.relay.stats.sessions == 2


def test_a_refused_key_is_fetched_again_and_then_works(
    stream: MassiveStreamEmulator, receiver: Receiver
) -> None:
    rotated_key, asked = _rotated("the-old-key", KEY)
    running = _relay(stream, receiver, api_key=rotated_key)
    _see_through(running, stream, receiver, bars_of("QQQ", 0, 2))
    assert asked == [False, True]
    assert stream.stats().auth_failures == 1
    assert running.relay.stats.auth_failures == 1


def test_a_key_that_stays_wrong_backs_off_exponentially_to_the_cap(
    stream: MassiveStreamEmulator, receiver: Receiver
) -> None:
    running = _relay(stream, receiver, api_key=lambda force: "wrong",
                     backoff_base_seconds=1, backoff_cap_seconds=8)  # fmt: skip
    try:
        assert stream.wait_until(lambda s: s.auth_failures >= 7, WAIT)
    finally:
        running.stop()
    delays = running.relay.stats.reconnect_delays[:6]
    assert delays == [0.75, 1.5, 3.0, 6.0, 6.0, 6.0]  # 3/4 of min(8, 2**n): rand = 0.5
    assert receiver.posts == 0


@pytest.mark.faults
def test_failed_posts_are_retried_across_a_reconnect_without_loss_or_duplicates(
    stream: MassiveStreamEmulator, receiver: Receiver
) -> None:
    receiver.fail(503, 500, 429)
    running = _relay(stream, receiver)
    try:
        assert stream.wait_until(_subscribed(1), WAIT)
        early = bars_of("SPY", 0, 2)
        stream.publish(early)
        # Only once the relay holds them (its refused POST carried them): an abort discards
        # what the client has not read, as a real dropped connection would.
        assert receiver.wait_for(lambda r: set(_keys(early)) <= r.seen)
        assert stream.drop() == 1
        assert stream.wait_until(_subscribed(2), WAIT)
        late = bars_of("SPY", 2, 2) + bars_of("QQQ", 0, 2)
        stream.publish(late)
        assert receiver.wait_for(lambda r: len(r.received) >= 6)
    finally:
        running.stop()
    _exactly_once(receiver, early + late)
    stats = running.relay.stats
    assert stats.post_failures == 3
    assert stats.retry_delays[:3] == [0.75, 1.5, 3.0]


@pytest.mark.faults
def test_an_unreachable_ingest_keeps_the_bars_until_it_answers(
    stream: MassiveStreamEmulator, receiver: Receiver
) -> None:
    gate = Gate()
    gate.open.clear()
    dead = "http://127.0.0.1:9/ingest"  # the discard port: nothing listens there
    relay = Relay(
        RelaySettings(symbols=("SPY",), ingest_url=dead, feed=stream.feed, secure=False,
                      linger_seconds=0),
        api_key=lambda force: KEY, ingest_secret=lambda force: SECRET, sleep=gate.sleep,
        rand=lambda: 0.5, unix_time=lambda: NOW,
    )  # fmt: skip
    running = RunningRelay(relay)
    try:
        assert stream.wait_until(lambda s: "AM.SPY" in s.live_topics, WAIT)
        stream.publish(bars_of("SPY", 0, 3), one_frame=True)
        assert gate.wait_sleepers(1)  # the POST failed; the relay waits to retry
        assert relay.pending == 3
        assert relay.stats.post_failures >= 1
    finally:
        gate.open.set()
        running.stop()
    assert relay.pending == 3  # not handed on, and not forgotten either


def test_a_401_fetches_the_webhook_secret_again(
    stream: MassiveStreamEmulator, receiver: Receiver
) -> None:
    rotated_secret, asked = _rotated("previous-secret", SECRET)
    running = _relay(stream, receiver, secret=rotated_secret)
    _see_through(running, stream, receiver, bars_of("SPY", 0, 1))
    assert asked == [False, True]
    assert receiver.bad_signatures == 1


@pytest.mark.faults
def test_a_full_buffer_drops_the_oldest_with_an_error(
    stream: MassiveStreamEmulator, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    gate = Gate()
    receiver.fail(503)
    running = _relay(stream, receiver, gate=gate, batch_size=2, max_buffer=4)
    try:
        assert stream.wait_until(_subscribed(1), WAIT)
        gate.open.clear()
        first = bars_of("SPY", 0, 2)
        stream.publish(first, one_frame=True)  # in flight, then refused: retried later
        assert gate.wait_sleepers(1)
        rest = bars_of("SPY", 2, 6)
        stream.publish(rest, one_frame=True)  # 6 into a buffer of 4: the 2 oldest go
        gate.open.set()
        assert receiver.wait_for(lambda r: len(r.received) >= 6)
    finally:
        gate.open.set()
        running.stop()
    _exactly_once(receiver, first + rest[2:])
    assert running.relay.stats.dropped == 2
    assert "relay buffer full (4 bars unsent): dropped the oldest" in caplog.text


def test_invalid_and_replayed_events_are_not_forwarded(
    stream: MassiveStreamEmulator, receiver: Receiver
) -> None:
    running = _relay(stream, receiver)
    try:
        assert stream.wait_until(_subscribed(1), WAIT)
        good = bars_of("SPY", 0, 2)
        stream.publish(good)
        assert receiver.wait_for(lambda r: len(r.received) >= 2)
        broken = {"ev": "AM", "sym": "SPY", "o": 1, "h": 0.5, "l": 2, "c": 1,
                  "s": 1717423200000, "e": 1717423260000}  # fmt: skip
        stream.publish([broken, {"ev": "T", "sym": "SPY"}])
        stream.publish(good[:1])  # the same minute again
        last = bars_of("SPY", 2, 1)
        stream.publish(last)
        assert receiver.wait_for(lambda r: len(r.received) >= 3)
    finally:
        running.stop()
    _exactly_once(receiver, good + last)
    assert running.relay.stats.invalid == 1
    assert running.relay.stats.replays_skipped == 1


def test_stopping_hands_on_what_is_buffered_and_no_secret_is_logged(
    stream: MassiveStreamEmulator,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    asked: list[bool] = []

    def key(force: bool) -> str:
        asked.append(force)
        return KEY if force else "wrong-" + KEY

    running = _relay(stream, receiver, api_key=key, linger_seconds=30)
    try:
        assert stream.wait_until(_subscribed(1), WAIT)
        stream.publish(bars_of("SPY", 0, 3))  # held by the 30 s linger
        assert stream.wait_until(lambda s: s.delivered >= 3, WAIT)
    finally:
        running.stop()  # stopping ends the linger: the three are posted before the relay returns
    assert len(receiver.received) == 3
    logged = caplog.text + capsys.readouterr().out
    assert logged  # the DEBUG capture did see the run
    assert KEY not in logged
    assert SECRET not in logged


def test_settings_refuse_what_would_leak_or_never_work() -> None:
    with pytest.raises(ValueError, match="must be https"):
        RelaySettings(symbols=("SPY",), ingest_url="http://ingest.example.com/")
    with pytest.raises(ValueError, match="not an http"):
        RelaySettings(symbols=("SPY",), ingest_url="ftp://127.0.0.1/")
    with pytest.raises(ValueError, match="plain tickers"):
        RelaySettings(symbols=("AM.SPY",), ingest_url="https://x.example/")
    with pytest.raises(ValueError, match="max_buffer"):
        RelaySettings(symbols=("SPY",), ingest_url="https://x.example/", batch_size=10,
                      max_buffer=5)  # fmt: skip
    with pytest.raises(ValueError, match="must be wss://"):
        RelaySettings(symbols=("SPY",), ingest_url="https://x.example/", feed="socket.massive.com",
                      secure=False)  # fmt: skip


@pytest.mark.faults
def test_unreadable_secrets_are_retried_not_fatal(
    stream: MassiveStreamEmulator, receiver: Receiver
) -> None:
    failures = {"key": 1, "secret": 2}

    def flaky(which: str, value: str) -> Callable[[bool], str]:
        def read(force: bool) -> str:
            if failures[which]:
                failures[which] -= 1
                raise SecretUnavailableError(f"secret {which!r}: Secrets Manager could not be read")
            return value

        return read

    running = _relay(stream, receiver, api_key=flaky("key", KEY), secret=flaky("secret", SECRET))
    _see_through(running, stream, receiver, bars_of("SPY", 0, 2))
    stats = running.relay.stats
    assert stats.connections == 1  # the failed key read opened no connection
    assert len(stats.reconnect_delays) == 1 and len(stats.retry_delays) == 2


def test_server_problems_are_logged_and_nothing_is_forwarded(
    stream: MassiveStreamEmulator, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    running = _relay(stream, receiver)
    warning = {"ev": "status", "status": "max_connections", "message": "Maximum connections"}
    try:
        assert stream.wait_until(_subscribed(1), WAIT)
        stream.publish([warning, {"ev": "AM", "sym": "SPY"}], one_frame=True)
        last = bars_of("SPY", 0, 1)
        stream.publish(last)
        assert receiver.wait_for(lambda r: len(r.received) >= 1)
    finally:
        running.stop()
    _exactly_once(receiver, last)
    assert "stream status max_connections: Maximum connections" in caplog.text
    assert running.relay.stats.invalid == 1


@pytest.mark.faults
def test_a_broken_poster_ends_the_run_instead_of_buffering_forever(
    stream: MassiveStreamEmulator, receiver: Receiver
) -> None:
    def broken(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        raise RuntimeError("a bug in the poster")

    relay = Relay(
        RelaySettings(symbols=("SPY",), ingest_url=receiver.url, feed=stream.feed, secure=False,
                      linger_seconds=0),
        api_key=lambda force: KEY, ingest_secret=lambda force: SECRET, poster=broken,
        sleep=Gate().sleep,
    )  # fmt: skip
    running = RunningRelay(relay)
    assert stream.wait_until(lambda s: "AM.SPY" in s.live_topics, WAIT)
    stream.publish(bars_of("SPY", 0, 1))
    assert running.ended()  # the stream was closed too: no relay that only listens
    assert isinstance(running.error, RuntimeError)
    assert stream.wait_until(lambda s: s.open_connections == 0, WAIT)
