"""MassiveMarketData as the core's ``MarketData`` port: the real client against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from maxtrader.adapters.massive_market_data import MassiveMarketData
from maxtrader.domain.errors import DataError
from maxtrader.domain.models import Bar
from maxtrader.domain.ports import MarketData, VixReading
from maxtrader.emulators.massive import MassiveEmulator

KEY = "port-key"
OPEN = datetime(2024, 6, 3, 13, 30, tzinfo=UTC)  # 09:30 New York


def _bars(symbol: str, count: int, *, first: float = 500.0) -> list[Bar]:
    out = []
    for i in range(count):
        price = first + i * 0.25
        out.append(Bar(symbol=symbol, ts=OPEN + timedelta(minutes=i), open=price,
                       high=price + 0.5, low=price - 0.5, close=price + 0.25,
                       volume=0 if symbol.startswith("I:") else 100 + i))  # fmt: skip
    return out


@pytest.fixture
def emulator() -> Iterator[MassiveEmulator]:
    with MassiveEmulator(api_key=KEY) as emu:
        yield emu


@pytest.fixture
def market_data(emulator: MassiveEmulator) -> MarketData:
    port: MarketData = MassiveMarketData(KEY, base_url=emulator.base_url)  # mypy checks the fit
    return port


def test_minute_bars_are_the_half_open_range_the_port_promises(
    emulator: MassiveEmulator, market_data: MarketData
) -> None:
    recorded = _bars("SPY", 30)
    emulator.add_bars(recorded)
    got = market_data.minute_bars("SPY", recorded[5].ts, recorded[15].ts)
    assert got == recorded[5:15]
    # Polling the minutes that closed since the last bar stored: a bar never comes twice.
    assert market_data.minute_bars("SPY", recorded[15].ts, recorded[20].ts) == recorded[15:20]


def test_latest_vix_is_the_latest_value_with_its_own_time(
    emulator: MassiveEmulator, market_data: MarketData
) -> None:
    vix = _bars("I:VIX", 3, first=14.0)
    emulator.add_bars(vix[:2])
    first = market_data.latest_vix()
    assert first == VixReading(value=vix[1].close, observed_at=vix[1].ts + timedelta(minutes=1))
    emulator.add_bars(vix[2:])  # a minute later
    later = market_data.latest_vix()
    assert later == VixReading(value=vix[2].close, observed_at=vix[2].ts + timedelta(minutes=1))
    assert later.observed_at.tzinfo is not None
    assert "/v3/snapshot/indices?ticker.any_of=I%3AVIX" in emulator.requests[-1]


def test_no_vix_value_is_none(emulator: MassiveEmulator, market_data: MarketData) -> None:
    emulator.add_bars(_bars("SPY", 3))
    assert market_data.latest_vix() is None


@pytest.mark.faults
@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"value": float("nan"), "last_updated": 1}, "'value' is not a finite positive number"),
        ({"value": -3.0, "last_updated": 1}, "'value' is not a finite positive number"),
        ({"value": "15.2", "last_updated": 1}, "'value' is not a finite positive number"),
        ({"value": True, "last_updated": 1}, "'value' is not a finite positive number"),
        ({"value": 15.2}, "'last_updated' is not epoch nanoseconds"),
        ({"value": 15.2, "last_updated": 1.7e18}, "'last_updated' is not epoch nanoseconds"),
        ({"value": 15.2, "last_updated": 10**30}, "'last_updated' is out of range"),
        ({"error": "NOT_AUTHORIZED", "message": "plan"}, "NOT_AUTHORIZED: plan"),
    ],
)
def test_a_snapshot_of_the_wrong_shape_is_a_data_error(
    emulator: MassiveEmulator, market_data: MarketData, entry: dict[str, object], message: str
) -> None:
    emulator.inject(200, {"status": "OK", "results": [{"ticker": "I:VIX", **entry}]})
    with pytest.raises(DataError, match=message):
        market_data.latest_vix()


@pytest.mark.faults
def test_a_refusing_server_is_a_data_error_for_the_snapshot_too(emulator: MassiveEmulator) -> None:
    source = MassiveMarketData("wrong-key", base_url=emulator.base_url, retries=0)
    with pytest.raises(DataError, match="I:VIX snapshot: the server refused: Unknown API Key"):
        source.latest_vix()
