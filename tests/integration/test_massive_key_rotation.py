"""MassiveMarketData over a key source (the functions' Secrets Manager secret): a rotated key
is taken up after a refusal (``force_fetch``, rate-limited) or once the source's cache expires,
and an unreadable source does not take away a key that works. The real client, the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from maxtrader.adapters.massive_market_data import MassiveMarketData
from maxtrader.adapters.rotating_key import KEY_REFRESH_INTERVAL_SECONDS
from maxtrader.domain.errors import DataError, SecretUnavailableError
from maxtrader.domain.models import Bar
from maxtrader.emulators.massive import MassiveEmulator

OLD, NEW = "massive-key-before", "massive-key-after"
START = datetime(2024, 3, 26, 14, tzinfo=UTC)
END = START + timedelta(minutes=5)


class KeySource:
    """A secret as Powertools serves it: ``cached`` until the cache expires, ``stored`` when
    forced; every call recorded (True = forced)."""

    def __init__(self, key: str) -> None:
        self.cached = self.stored = key
        self.calls: list[bool] = []
        self.unreadable = False

    def __call__(self, force_fetch: bool) -> str:
        self.calls.append(force_fetch)
        if self.unreadable:
            raise SecretUnavailableError("secret 'maxtrader/test/massive': access denied")
        if force_fetch:
            self.cached = self.stored
        return self.cached

    def rotate(self, key: str) -> None:
        self.stored = key


def spy(i: int) -> Bar:
    ts = START + timedelta(minutes=i)
    return Bar(symbol="SPY", ts=ts, open=500, high=501, low=499, close=500.5, volume=100)


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def emulator() -> Iterator[MassiveEmulator]:
    with MassiveEmulator(api_key=OLD) as emu:
        emu.add_bars([spy(i) for i in range(5)])
        yield emu


def source_over(emu: MassiveEmulator, keys: KeySource, clock: Monotonic) -> MassiveMarketData:
    return MassiveMarketData(keys, base_url=emu.base_url, retries=0, monotonic=clock)


def test_a_refused_key_is_forced_from_the_source_and_the_request_sent_once_more(
    emulator: MassiveEmulator,
) -> None:
    keys, clock = KeySource(OLD), Monotonic()
    md = source_over(emulator, keys, clock)
    assert len(md.minute_bars("SPY", START, END)) == 5
    emulator.api_key = NEW  # the operator rotated the key: the vendor refuses the old one
    keys.rotate(NEW)  # ... and the secret holds the new one; the cache still the old
    assert len(md.minute_bars("SPY", START, END)) == 5
    assert keys.calls == [False, False, False, True]  # built, asked, asked, forced on the 401
    assert len(emulator.requests) == 3  # one refused, sent once more


def test_forced_reads_are_rate_limited_and_a_key_that_did_not_change_is_not_retried(
    emulator: MassiveEmulator,
) -> None:
    keys, clock = KeySource(OLD), Monotonic()
    md = source_over(emulator, keys, clock)
    emulator.api_key = NEW  # revoked, and nobody rotated the secret
    for _ in range(3):
        with pytest.raises(DataError, match="the server refused: Unknown API Key"):
            md.minute_bars("SPY", START, END)
    assert keys.calls.count(True) == 1  # one forced read, then the interval holds
    assert len(emulator.requests) == 3  # the same key: nothing sent twice
    clock.now += KEY_REFRESH_INTERVAL_SECONDS
    keys.rotate(NEW)
    assert len(md.minute_bars("SPY", START, END)) == 5
    assert keys.calls.count(True) == 2


def test_a_key_the_cache_serves_anew_is_used_without_waiting_for_a_refusal(
    emulator: MassiveEmulator,
) -> None:
    keys, clock = KeySource(OLD), Monotonic()
    md = source_over(emulator, keys, clock)
    emulator.api_key = NEW
    keys.cached = NEW  # the cache's max_age passed: the source serves the new key
    assert len(md.minute_bars("SPY", START, END)) == 5
    assert True not in keys.calls
    assert len(emulator.requests) == 1


def test_an_unreadable_source_keeps_the_key_held_and_fails_clearly_without_one(
    emulator: MassiveEmulator,
) -> None:
    keys, clock = KeySource(OLD), Monotonic()
    md = source_over(emulator, keys, clock)
    keys.unreadable = True  # Secrets Manager down once the cache expired
    assert len(md.minute_bars("SPY", START, END)) == 5
    emulator.api_key = NEW
    with pytest.raises(DataError, match="the server refused"):  # the refusal, not the re-read
        md.minute_bars("SPY", START, END)
    with pytest.raises(SecretUnavailableError, match="access denied"):  # no key held yet
        source_over(emulator, keys, clock)
    with pytest.raises(DataError, match="no Massive API key"):
        MassiveMarketData(lambda _force: "", base_url=emulator.base_url)
